"""Images shared by datasets: validation (is this really a whole, sane image?) and transforms."""

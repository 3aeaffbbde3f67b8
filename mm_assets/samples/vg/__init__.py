"""Visual Genome: a small mirror of the image zips and region descriptions."""

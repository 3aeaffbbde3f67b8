"""CC3M: a sample index with its images, and the server that answers its URLs as real hosts do."""

"""Output formats written by more than one dataset (fairseq's mmap indexed dataset, ...)."""

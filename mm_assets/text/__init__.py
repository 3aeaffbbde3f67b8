"""Text shared by datasets: the GPT-2 BPE files, the fast exact encoder, line binarization."""

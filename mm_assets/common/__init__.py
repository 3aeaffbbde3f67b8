"""Helpers every dataset uses: atomic writes, ordered parallel maps, progress, hashing."""

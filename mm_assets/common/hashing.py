"""Content hashes of files, read in blocks so that memory does not grow with the file."""

from __future__ import annotations

import hashlib
import os

BLOCK = 1 << 22


def sha256_of(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(BLOCK):
            digest.update(block)
    return digest.hexdigest()

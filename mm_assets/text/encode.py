"""GPT-2 BPE to fairseq indices, fast and exactly as fairseq's encoder would give them.

Fast path: tiktoken over a whole block of lines at once (lines are stripped, so a lone "\\n" is a
piece of its own and its token 198 marks each line end), ids mapped to fairseq indices with one
table lookup. tiktoken's regex engine knows an older Unicode than the `regex` module fairseq uses:
code points that Python's Unicode 14 tables call unassigned may be letters to fairseq. A line
holding one is encoded the reference way instead: split with the `regex` module and fairseq's
pattern, then BPE per piece. The test suite checks this against fairseq over every code point.
"""

from __future__ import annotations

import unicodedata

import numpy as np

from mm_assets.text.gpt2_bpe import EOS, GPT2_NEWLINE_ID, UNK, Gpt2BpeFiles, load_encoding, load_fairseq_lookup

# fairseq's gpt2_bpe_utils pattern, character for character.
FAIRSEQ_GPT2_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""

_ASCII = bytes(range(128))


def unassigned_characters(block: bytes) -> set[str]:
    """The distinct characters of a UTF-8 block that this Python's Unicode tables call unassigned.

    Deleting the ASCII bytes leaves whole multi-byte sequences, so only the few non-ASCII
    characters are decoded and looked up.
    """
    rest = block.translate(None, _ASCII)
    if not rest:
        return set()
    return {ch for ch in set(rest.decode("utf-8")) if unicodedata.category(ch) == "Cn"}


class FairseqGpt2Encoder:
    """Encodes cleaned lines into fairseq token indices with `</s>` after each line."""

    def __init__(self, files: Gpt2BpeFiles) -> None:
        import regex

        self.encoding = load_encoding(files)
        self.lookup, self.dict_size = load_fairseq_lookup(files.dict_txt)
        self._split = regex.compile(FAIRSEQ_GPT2_PATTERN).findall

    def gpt2_ids_reference_split(self, line: str) -> list[int]:
        """GPT-2 ids of one line, split exactly as fairseq's encoder splits it."""
        encode_piece = self.encoding._core_bpe.encode_single_piece
        ids: list[int] = []
        for piece in self._split(line):
            ids.extend(encode_piece(piece.encode("utf-8")))
        return ids

    def _gpt2_ids_of_block(self, block: bytes, text: str) -> tuple[np.ndarray, int]:
        """GPT-2 ids of `text` (lines each ending in "\\n"), with 198 at each line end."""
        risky = unassigned_characters(block)
        if not risky:
            return self._fast(text), 0
        parts: list[np.ndarray] = []
        plain: list[str] = []  # consecutive lines the fast path may take, encoded together
        slow = 0
        for line in text.split("\n")[:-1]:
            if risky.isdisjoint(line):  # a set lookup per character (a regex class is far slower)
                plain.append(line)
                continue
            if plain:
                parts.append(self._fast("\n".join(plain) + "\n"))
                plain = []
            parts.append(np.asarray(self.gpt2_ids_reference_split(line) + [GPT2_NEWLINE_ID], dtype=np.uint32))
            slow += 1
        if plain:
            parts.append(self._fast("\n".join(plain) + "\n"))
        return np.concatenate(parts), slow

    def _fast(self, text: str) -> np.ndarray:
        return self.encoding.encode_to_numpy(text, allowed_special=set(), disallowed_special=())

    def encode_block(self, block: bytes) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
        """Encode a block of cleaned lines (UTF-8, each ending in b"\\n").

        Returns the flat uint16 fairseq tokens (each line's ids then `</s>`), the int32 size of
        each line's sequence, and counts.
        """
        text = block.decode("utf-8")
        lines = text.count("\n")
        if text and not text.endswith("\n"):
            raise ValueError("a block must end at a line end")
        ids, slow = self._gpt2_ids_of_block(block, text)
        ends = np.flatnonzero(ids == GPT2_NEWLINE_ID)
        if ends.size != lines:
            raise AssertionError(
                f"line ends lost in encoding: {ends.size} newline tokens for {lines} lines"
            )
        tokens = self.lookup[ids]
        unk = int(np.count_nonzero(tokens == UNK))
        tokens[ends] = EOS
        sizes = np.diff(ends, prepend=-1).astype(np.int32)
        return tokens, sizes, {"unk": unk, "reference_split_lines": slow}

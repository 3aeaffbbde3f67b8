"""fairseq token ids -> the text they stand for, to show a person what a model will read.

The inverse of the caption rule's last steps: each index is looked up in `dict.txt` (index i+4 is
line i, a GPT-2 BPE id), the BPE ids are turned back into bytes by the same tiktoken encoding the
encoder uses, and the bytes decoded as UTF-8 (a cut in the middle of a character shows as U+FFFD).
`<s>`, `<pad>`, `</s>` and `<unk>` are shown by name, so a truncated caption still shows its `</s>`.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from mm_assets.text.gpt2_bpe import N_SPECIAL, UNK, Gpt2BpeFiles, load_encoding, load_fairseq_lookup

SPECIAL_NAMES = ("<s>", "<pad>", "</s>", "<unk>")


class TokenDecoder:
    def __init__(self, files: Gpt2BpeFiles) -> None:
        lookup, size = load_fairseq_lookup(files.dict_txt)
        self.size = size
        self._gpt2_of = np.full(size, -1, dtype=np.int64)  # fairseq index -> GPT-2 id (-1: none)
        known = np.flatnonzero(lookup != UNK)
        self._gpt2_of[lookup[known]] = known
        self._encoding = load_encoding(files)

    def decode(self, tokens: Sequence[int]) -> str:
        """The text of `tokens`, special symbols written out (`<s>a photo</s>`)."""
        parts: list[str] = []
        pending: list[int] = []  # GPT-2 ids not yet decoded (a character may span several)

        def flush() -> None:
            if pending:
                parts.append(self._encoding.decode_bytes(pending).decode("utf-8", errors="replace"))
                pending.clear()

        for token in (int(t) for t in tokens):
            if token < N_SPECIAL:
                flush()
                parts.append(SPECIAL_NAMES[token])
            elif token < self.size and self._gpt2_of[token] >= 0:
                pending.append(int(self._gpt2_of[token]))
            else:  # a dict.txt symbol that is not a GPT-2 id, or an index past the dictionary
                flush()
                parts.append(f"<{token}?>")
        flush()
        return "".join(parts)

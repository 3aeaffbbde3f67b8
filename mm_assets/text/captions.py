"""Captions -> fairseq token ids, one rule for every image-text source (docs/data-rules.md, "Captions").

The rule: NULs and text that is not valid Unicode are removed (counted), the caption is
`str.strip()`ed (casing and inner whitespace kept), a caption empty after that is dropped (counted);
its tokens are `<s>`, its GPT-2 BPE ids mapped through `dict.txt`, `</s>`, at most 64 in all (a
longer caption keeps `<s>`, its first 62 BPE tokens and `</s>`). The ids equal fairseq's own
`GPT2BPE.encode` + `Dictionary.encode_line`.

Fast and exact: captions are encoded in batches through the OWT chain's encoder
(`FairseqGpt2Encoder.encode_block`), one tiktoken call per batch, with the captions joined by
"\\n". That join is exact for a text that holds no "\\n", does not end with whitespace and does not
start with two whitespace characters: GPT-2's pre-tokenizer then makes each joining "\\n" a piece of
its own (token 198) and splits every text exactly as it splits the text alone (proof in
docs/data-rules.md). Python's `str.isspace` is a superset of the pattern's `\\s`, so the test is
safe. The rare text that fails it (a caption with an inner newline) is encoded on its own.
Truncation and the `<s>`/`</s>` framing are done on the whole batch with numpy, and the result is
an Arrow list array, with no per-caption Python lists.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pyarrow as pa

from mm_assets.common.counts import Tally
from mm_assets.formats.json_stream import INVALID_TEXT_MARK
from mm_assets.text.encode import FairseqGpt2Encoder, unassigned_characters
from mm_assets.text.gpt2_bpe import BOS, EOS, UNK, Gpt2BpeFiles

MAX_CAPTION_TOKENS = 64  # BEiT-3's text length, the thesis's Table 1 caption
MAX_BPE_TOKENS = MAX_CAPTION_TOKENS - 2  # room for <s> and </s>
TOKENS_TYPE = pa.list_(pa.uint16())

# A joining "\n" after whitespace (a text ending in it) or before two whitespace characters (a text
# starting with them) breaks `joins_exactly` (Python's `\s` is `str.isspace`). The pattern starts
# with a literal, so `re` scans for "\n" at C speed; the block's two ends are checked apart.
_JOIN_BREAKING = re.compile(r"\n(?:(?<=\s\n)|(?=\s\s))")

# Code points no caption keeps: surrogates (text that was not UTF-8) and the parser's mark for it.
_INVALID_TEXT = re.compile(f"[\ud800-\udfff{INVALID_TEXT_MARK}]")


def clean_caption(raw: str, tally: Tally | None = None) -> str:
    """The text a caption is encoded as: invalid text and NULs removed, stripped; "" means dropped.

    `tally` counts `captions_with_invalid_text`, `captions_with_nul` and `dropped_empty_caption`.
    """
    text = raw
    if not text.isascii() and _INVALID_TEXT.search(text):
        text = _INVALID_TEXT.sub("", text)
        if tally is not None:
            tally.add("captions_with_invalid_text", example=repr(raw[:60]))
    if "\x00" in text:
        text = text.replace("\x00", "")
        if tally is not None:
            tally.add("captions_with_nul", example=repr(raw[:60]))
    text = text.strip()
    if not text and tally is not None:
        tally.add("dropped_empty_caption", example=repr(raw[:60]))
    return text


def joins_exactly(text: str) -> bool:
    """Whether `text` may be encoded inside a "\\n"-joined block (see the module's docstring)."""
    if not text or "\n" in text or text[-1].isspace():
        return False
    return not (len(text) > 1 and text[0].isspace() and text[1].isspace())


@dataclass
class EncodedCaptions:
    """One batch: flat tokens (each caption `<s>` ... `</s>`) and offsets, plus counts."""

    values: np.ndarray  # uint16
    offsets: np.ndarray  # int32, len = captions + 1
    bpe_lengths: np.ndarray  # int32: GPT-2 tokens of each caption before truncation
    unk_tokens: int

    @property
    def n_tokens(self) -> np.ndarray:
        return np.diff(self.offsets).astype(np.int32)

    @property
    def truncated(self) -> int:
        return int(np.count_nonzero(self.bpe_lengths > MAX_BPE_TOKENS))

    def tokens_array(self) -> pa.ListArray:
        return pa.ListArray.from_arrays(pa.array(self.offsets, pa.int32()), pa.array(self.values, pa.uint16()))

    def tokens_of(self, index: int) -> list[int]:
        return self.values[self.offsets[index]:self.offsets[index + 1]].tolist()


class CaptionEncoder:
    """Encodes batches of cleaned captions; one instance is shared by every worker thread."""

    def __init__(self, files: Gpt2BpeFiles) -> None:
        self.encoder = FairseqGpt2Encoder(files)

    def _gpt2_ids_alone(self, text: str) -> np.ndarray:
        """One text's GPT-2 ids, encoded on its own (fairseq's split where tiktoken's may differ)."""
        if unassigned_characters(text.encode("utf-8")):
            return np.asarray(self.encoder.gpt2_ids_reference_split(text), dtype=np.uint32)
        return self.encoder.encoding.encode_to_numpy(text, allowed_special=set(), disallowed_special=())

    def _eos_terminated(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, int]:
        """fairseq indices of every text followed by `</s>` (flat), the sizes (with `</s>`), `<unk>`s."""
        block = "\n".join(texts)
        if (all(texts) and block.count("\n") == len(texts) - 1 and not _JOIN_BREAKING.search(block)
                and joins_exactly(texts[0]) and joins_exactly(texts[-1])):
            joinable = [True] * len(texts)  # the common case, decided by one scan of the block
            fast = texts
        else:
            joinable = [joins_exactly(text) for text in texts]
            fast = [text for text, ok in zip(texts, joinable) if ok]
            block = "\n".join(fast)
        tokens = sizes = np.empty(0, dtype=np.uint16)
        unk = 0
        if fast:
            tokens, sizes, counts = self.encoder.encode_block((block + "\n").encode("utf-8"))
            unk = counts["unk"]
        if len(fast) == len(texts):
            return tokens, sizes.astype(np.int32), unk
        if any(not text for text in texts):
            raise ValueError("an empty caption cannot be encoded: clean_caption drops them first")
        all_sizes = np.zeros(len(texts), dtype=np.int32)
        all_sizes[np.asarray(joinable)] = sizes
        alone = []
        for index, ok in enumerate(joinable):
            if not ok:
                ids = self.encoder.lookup[self._gpt2_ids_alone(texts[index])]
                unk += int(np.count_nonzero(ids == UNK))
                alone.append(np.append(ids, np.uint16(EOS)))
                all_sizes[index] = ids.size + 1
        flat = np.empty(int(all_sizes.sum()), dtype=np.uint16)
        from_block = np.repeat(np.asarray(joinable), all_sizes)
        flat[from_block] = tokens
        flat[~from_block] = np.concatenate(alone)
        return flat, all_sizes, unk

    def bpe_lengths(self, texts: Sequence[str]) -> np.ndarray:
        """GPT-2 token counts of each text (no specials, no truncation)."""
        if not texts:
            return np.empty(0, dtype=np.int32)
        return self._eos_terminated(texts)[1] - 1

    def encode(self, texts: Sequence[str]) -> EncodedCaptions:
        """Tokens of cleaned captions (`clean_caption`'s output, none empty) by the caption rule."""
        if not texts:
            return EncodedCaptions(np.empty(0, np.uint16), np.zeros(1, np.int32), np.empty(0, np.int32), 0)
        flat, sizes, unk = self._eos_terminated(texts)
        bpe = sizes - 1
        kept = np.minimum(bpe, MAX_BPE_TOKENS)
        # Keep the first `kept` tokens of each caption (its </s> and any overflow go).
        position = np.arange(flat.size, dtype=np.int64) - np.repeat(np.cumsum(sizes, dtype=np.int64) - sizes, sizes)
        body = flat[position < np.repeat(kept, sizes)]
        out_sizes = kept + 2
        offsets = np.zeros(len(texts) + 1, dtype=np.int64)
        np.cumsum(out_sizes, out=offsets[1:])
        values = np.empty(int(offsets[-1]), dtype=np.uint16)
        framing = np.zeros(values.size, dtype=bool)
        framing[offsets[:-1]] = True
        framing[offsets[1:] - 1] = True
        values[~framing] = body
        values[offsets[:-1]] = BOS
        values[offsets[1:] - 1] = EOS
        if unk:  # <unk>s cut off by truncation do not count
            unk = int(np.count_nonzero(values == UNK))
        return EncodedCaptions(values, offsets.astype(np.int32), bpe.astype(np.int32), unk)

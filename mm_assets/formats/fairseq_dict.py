"""A fairseq `Dictionary` built from text, as `fairseq-preprocess` builds one without `--srcdict`.

Symbols are counted over the training file's whitespace-separated tokens (`</s>` once per line,
a special symbol whose count is never written), ordered by count, most frequent first, ties by
symbol (fairseq sorts the symbols, then takes `Counter.most_common`, which keeps that order for
ties), and padded with `madeupword0000`, ... to a multiple of 8 symbols counting the four
specials. `dict.txt` then holds one `<symbol> <count>` line per symbol after the specials.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Iterable

SPECIALS = ("<s>", "<pad>", "</s>", "<unk>")
BOS, PAD, EOS, UNK = range(4)
PADDING_FACTOR = 8


@dataclass(frozen=True)
class FairseqDictionary:
    symbols: tuple[str, ...]  # the specials first, then the counted symbols, then the padding
    counts: tuple[int, ...]

    @classmethod
    def build(cls, lines: Iterable[str], *, padding_factor: int = PADDING_FACTOR) -> "FairseqDictionary":
        counter: Counter[str] = Counter()
        for line in lines:
            counter.update(line.split())
        for special in SPECIALS:  # fairseq adds to a special's own (unwritten) count
            counter.pop(special, None)
        ordered = sorted(sorted(counter.items()), key=lambda item: item[1], reverse=True)  # stable
        symbols = list(SPECIALS) + [symbol for symbol, _ in ordered]
        counts = [0] * len(SPECIALS) + [count for _, count in ordered]
        padding = 0
        while len(symbols) % padding_factor:
            symbols.append(f"madeupword{padding:04d}")
            counts.append(0)
            padding += 1
        return cls(tuple(symbols), tuple(counts))

    def index(self, symbol: str) -> int:
        try:
            return self._indices[symbol]
        except KeyError:
            return UNK

    @property
    def _indices(self) -> dict[str, int]:
        cached = self.__dict__.get("_index_cache")
        if cached is None:
            cached = {symbol: i for i, symbol in enumerate(self.symbols)}
            object.__setattr__(self, "_index_cache", cached)
        return cached

    def encode_line(self, line: str) -> list[int]:
        """The line's symbols' indices (unknown ones are `<unk>`), then `</s>`."""
        return [self.index(symbol) for symbol in line.split()] + [EOS]

    def dict_txt(self) -> bytes:
        return "".join(f"{symbol} {count}\n" for symbol, count in
                       zip(self.symbols[len(SPECIALS):], self.counts[len(SPECIALS):])).encode("utf-8")

    def __len__(self) -> int:
        return len(self.symbols)

"""Counting what was kept, skipped or dropped, and why, the same way for every dataset.

Counts are keyed `<what>` or `dropped_<reason>` (datatrove's convention), so metadata keys match
across datasets and the UI can plot them; a few example names are kept per key, because "3
skipped" is less useful than "3 skipped, e.g. notes.md".
"""

from __future__ import annotations

from collections import Counter


class Tally:
    def __init__(self, max_examples: int = 5) -> None:
        self.counts: Counter[str] = Counter()
        self.examples: dict[str, list[str]] = {}
        self.max_examples = max_examples

    def add(self, key: str, amount: int = 1, example: str | None = None) -> None:
        self.counts[key] += amount
        if example is not None:
            kept = self.examples.setdefault(key, [])
            if len(kept) < self.max_examples:
                kept.append(example)

    def update(self, other: "Tally") -> None:
        self.counts.update(other.counts)
        for key, names in other.examples.items():
            kept = self.examples.setdefault(key, [])
            kept.extend(names[: self.max_examples - len(kept)])

    def __getitem__(self, key: str) -> int:
        return self.counts[key]

    def total(self) -> int:
        return sum(self.counts.values())

    def rows(self) -> list[tuple[str, int, str]]:
        """(key, count, its examples joined), by key: the records of a metadata table."""
        return [(key, int(self.counts[key]), ", ".join(self.examples.get(key, []))) for key in sorted(self.counts)]

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

    def as_markdown(self) -> str:
        """A table of every key, its count and its examples, for a metadata value."""
        if not self.counts:
            return "none"
        rows = ["| what | count | e.g. |", "| --- | --- | --- |"]
        for key in sorted(self.counts):
            examples = ", ".join(f"`{name}`" for name in self.examples.get(key, []))
            rows.append(f"| {key} | {self.counts[key]:,} | {examples} |")
        return "\n".join(rows)

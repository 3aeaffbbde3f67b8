"""An input that is not there: one error, one message, naming what to materialize to make it.

Every missing input says the same thing the same way: `<path> is missing: materialize <asset>
[for partition <key>] first`. The library raises `MissingInputError`; the definitions turn it into
the step's failure (`mm_assets.defs.shared.inputs`), or put the message in a failed check.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable, Sequence, Union

Paths = Union[str, os.PathLike, Iterable[Union[str, os.PathLike]]]
Partition = Union[str, Sequence[str], None]  # a partition key, or several


def _as_paths(paths: Paths) -> tuple[Path, ...]:
    return (Path(paths),) if isinstance(paths, (str, os.PathLike)) else tuple(Path(path) for path in paths)


def missing_input_message(paths: Paths, asset: str, *, partition: Partition = None, detail: str | None = None) -> str:
    named = _as_paths(paths)
    if partition is None:
        what = asset
    elif isinstance(partition, str):
        what = f"{asset} for partition {partition}"
    else:
        what = f"{asset} for partitions {', '.join(partition)}"
    return (f"{', '.join(map(str, named))} {'is' if len(named) == 1 else 'are'} missing: materialize {what} first"
            + (f" ({detail})" if detail else ""))


class MissingInputError(FileNotFoundError):
    """`paths` are missing; materializing `asset` (its `partition`) makes them. A FileNotFoundError,
    so a caller that expects one (a training loader's user) still catches it."""

    def __init__(self, paths: Paths, asset: str, partition: Partition = None, detail: str | None = None) -> None:
        self.paths, self.asset, self.partition, self.detail = _as_paths(paths), asset, partition, detail
        super().__init__(missing_input_message(self.paths, asset, partition=partition, detail=detail))

    def __reduce__(self):
        return type(self), (self.paths, self.asset, self.partition, self.detail)

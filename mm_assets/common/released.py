"""Raw files released once what was made from them is committed and verified (MM_RAW_FILES=release).

A released file leaves a record beside it, `<name>.released.json`: its size and sha256 (what the
download verified), the outputs that now stand for it (paths relative to the record's folder, so
the record holds wherever the data root is mounted), and facts a later check needs to prove those
outputs without the file (a line count, an archive's member CRCs, ...). The record is written
before the file is removed, so a crash in between leaves both, never neither.

A released file counts as present while every output it names is present, itself directly or,
when that output was released in turn, through its own record (`is_present`). A rerun then never
fetches again a file whose outputs are all there; once an output is gone, the file is fetched again.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .atomic import atomic_write

RECORD_SUFFIX = ".released.json"


@dataclass(frozen=True)
class ReleasedFile:
    name: str
    size: int
    sha256: str
    outputs: tuple[str, ...]  # relative to the record's folder
    released_at: str = ""
    facts: dict = field(default_factory=dict)

    def output_paths(self, record: Path) -> list[Path]:
        return [Path(os.path.normpath(record.parent / output)) for output in self.outputs]


def record_path(raw: str | os.PathLike) -> Path:
    raw = Path(raw)
    return raw.with_name(raw.name + RECORD_SUFFIX)


def read_release(raw: str | os.PathLike) -> ReleasedFile | None:
    """The release record of `raw`, or None when it was never released."""
    path = record_path(raw)
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except ValueError as exc:
        raise ValueError(f"{path}: not a release record ({exc}); remove it, and the raw file is fetched "
                         "again when it is needed") from exc
    return ReleasedFile(name=values["name"], size=int(values["size"]), sha256=values["sha256"],
                        outputs=tuple(values["outputs"]), released_at=values.get("released_at", ""),
                        facts=values.get("facts", {}))


def release(raw: str | os.PathLike, *, size: int, sha256: str, outputs: list[str | os.PathLike],
            facts: dict | None = None) -> ReleasedFile:
    """Record `raw` as stood for by `outputs` (which must be present), then remove it."""
    raw = Path(raw)
    missing = [str(output) for output in outputs if not is_present(output)]
    if missing:
        raise FileNotFoundError(f"{raw} cannot be released: its output(s) {', '.join(missing)} are not there")
    record = ReleasedFile(
        name=raw.name, size=size, sha256=sha256,
        outputs=tuple(os.path.relpath(Path(output).resolve(), raw.parent.resolve()) for output in outputs),
        released_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), facts=dict(facts or {}))
    with atomic_write(record_path(raw), "w") as handle:
        json.dump(asdict(record), handle, indent=1)
    raw.unlink(missing_ok=True)
    return record


def forget_release(raw: str | os.PathLike) -> None:
    """Drop the record: `raw` was fetched again and is a file once more."""
    with contextlib.suppress(FileNotFoundError):
        record_path(raw).unlink()


def covering_release(raw: str | os.PathLike) -> ReleasedFile | None:
    """The record of `raw` when the file is released and every output standing for it is present."""
    raw = Path(raw)
    return read_release(raw) if not raw.exists() and is_present(raw) else None


def is_present(path: str | os.PathLike, _depth: int = 0) -> bool:
    """`path` exists, or was released and every output standing for it is present."""
    path = Path(path)
    if path.exists():
        return True
    if _depth > 8:  # records point down a pipeline; a loop is a hand-edited record
        return False
    record = read_release(path)
    return record is not None and all(is_present(output, _depth + 1)
                                      for output in record.output_paths(record_path(path)))

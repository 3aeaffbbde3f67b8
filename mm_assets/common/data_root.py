"""The data root's marker: a random id written once per data root, so that a step run on a host
where `MM_DATA_ROOT` is another folder (an empty mount point, a local disk instead of the shared
one) is told so at once, instead of finding inputs "missing" or downloading them a second time.

The marker `.mm_assets-root.json` holds the id, when and on which host it was created, and the path
it was created at. It is created exclusively (a temp file hard-linked to the name, which fails if
the name exists), so two first steps starting together on one root agree on one id.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

from .atomic import atomic_write

MARKER_NAME = ".mm_assets-root.json"


class DataRootError(RuntimeError):
    """`MM_DATA_ROOT` is not the data root this Dagster instance's earlier steps wrote."""


@dataclass(frozen=True)
class DataRootMarker:
    id: str
    created_at: str
    host: str
    path: str

    def describe(self) -> str:
        return f"id {self.id}, created {self.created_at} on host {self.host} at {self.path}"

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "DataRootMarker":
        values = json.loads(text)
        return cls(**{name: str(values[name]) for name in ("id", "created_at", "host", "path")})


def marker_path(root: str | os.PathLike) -> Path:
    return Path(root) / MARKER_NAME


def read_marker(root: str | os.PathLike) -> DataRootMarker | None:
    """The root's marker, or None when it has none. A damaged marker is an error naming the file."""
    path = marker_path(root)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        return DataRootMarker.from_json(text)
    except (ValueError, KeyError, TypeError) as exc:
        raise DataRootError(f"{path} is not a data-root marker ({exc}); restore it from a backup of the "
                            "data root, or remove it only if this folder is meant to be a new data root") from exc


def create_marker(root: str | os.PathLike) -> DataRootMarker:
    """The root's marker, created now unless another process created it first."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    marker = DataRootMarker(id=uuid.uuid4().hex, created_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                            host=socket.gethostname(), path=str(root.resolve()))
    temp = root / f".tmp-{MARKER_NAME}.{marker.id}"
    with atomic_write(temp, "w") as handle:
        handle.write(marker.to_json())
    try:
        os.link(temp, marker_path(root))  # exclusive: fails when a marker is already there
    except FileExistsError:
        pass
    finally:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
    existing = read_marker(root)
    assert existing is not None
    return existing


def check_data_root(root: str | os.PathLike, expected: DataRootMarker | None) -> DataRootMarker:
    """The root's marker, checked against the one this instance's earlier steps recorded.

    With nothing recorded yet (a new instance), the root's marker is created when missing.
    Raises `DataRootError` naming the path and what to mount when the root is another one.
    """
    root = Path(root)
    found = read_marker(root)
    if expected is None:
        return found or create_marker(root)
    if found is not None and found.id == expected.id:
        return found
    what = (f"holds the marker of another data root ({found.describe()})" if found is not None
            else f"has no data-root marker ({MARKER_NAME}): it is empty or not the shared folder")
    raise DataRootError(
        f"MM_DATA_ROOT={root} on host {socket.gethostname()} {what}, but this Dagster instance's earlier "
        f"steps wrote the data root {expected.describe()}. Mount that data root at {root} on this host "
        "(every step of the instance must see the same folder, e.g. one NFS export), or set MM_DATA_ROOT "
        "to where it is mounted. To make this instance start over in a new data root on purpose, run "
        "`python -m mm_assets.defs.shared.data_root adopt` with MM_DATA_ROOT and DAGSTER_HOME set.")

"""Where GLUE's artifacts live under `$MM_DATA_ROOT/glue`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .tasks import GlueTask


@dataclass(frozen=True)
class GluePaths:
    root: Path  # $MM_DATA_ROOT/glue

    def raw_file(self, task: GlueTask, hub_split: str) -> Path:
        """The hub file, kept under the same relative path it has on the hub."""
        return self.root / "raw" / task.hub_path(hub_split)

    def raw_files(self, task: GlueTask) -> dict[str, Path]:
        return {split: self.raw_file(task, split) for split in task.hub_splits}

    def bin_dir(self, task: GlueTask) -> Path:
        return self.root / task.bin_dir_name

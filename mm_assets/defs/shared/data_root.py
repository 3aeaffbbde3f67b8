"""The one place where a step learns whether `MM_DATA_ROOT` is this instance's data root.

`StorageResource` calls `ensure_data_root` when a step initializes it: the root's marker
(`mm_assets.common.data_root`) is compared with the one the instance recorded when its first step
ran (in the instance's key-value store, so every run and every host of the instance sees it), and
the marker's id is added to the run's tags. A step on a host that mounts another folder fails
before it reads or downloads anything.

`python -m mm_assets.defs.shared.data_root adopt` makes the instance adopt the current
`MM_DATA_ROOT` (creating its marker): for a deliberate start over in a new folder.
"""

from __future__ import annotations

import os
import sys

import dagster as dg

from mm_assets.common.data_root import DataRootMarker, check_data_root, create_marker, read_marker

INSTANCE_KEY = "mm_assets/data_root_marker"
RUN_TAG = "mm_assets/data_root_id"


def recorded_marker(instance: dg.DagsterInstance) -> DataRootMarker | None:
    """The marker of the data root this instance's earlier steps wrote, if any step ran yet."""
    text = instance.daemon_cursor_storage.get_cursor_values({INSTANCE_KEY}).get(INSTANCE_KEY)
    return DataRootMarker.from_json(text) if text else None


def record_marker(instance: dg.DagsterInstance, marker: DataRootMarker) -> None:
    instance.daemon_cursor_storage.set_cursor_values({INSTANCE_KEY: marker.to_json()})


def ensure_data_root(instance: dg.DagsterInstance, root: str | os.PathLike, run_id: str | None) -> DataRootMarker:
    """The root's marker once it is the instance's data root; `DataRootError` otherwise."""
    expected = recorded_marker(instance)
    marker = check_data_root(root, expected)
    if expected is None:
        record_marker(instance, marker)
    run = instance.get_run_by_id(run_id) if run_id else None
    if run is not None and run.tags.get(RUN_TAG) != marker.id:
        instance.add_run_tags(run.run_id, {RUN_TAG: marker.id})  # the run shows which root it wrote
    return marker


def adopt(instance: dg.DagsterInstance, root: str | os.PathLike) -> DataRootMarker:
    """Make `root` (its marker created if missing) the data root of `instance`."""
    marker = read_marker(root) or create_marker(root)
    record_marker(instance, marker)
    return marker


if __name__ == "__main__":
    if sys.argv[1:] != ["adopt"]:
        sys.exit("usage: python -m mm_assets.defs.shared.data_root adopt  (MM_DATA_ROOT and DAGSTER_HOME set)")
    adopted = adopt(dg.DagsterInstance.get(), os.environ.get("MM_DATA_ROOT", "./data"))
    print(f"this Dagster instance now writes the data root {adopted.describe()}")

"""One writer per output: a step holds its output's lock (an OS file lock, released if the process
dies) while it writes. A second run of the same partition fails at once, naming the run that holds
it, rather than racing it; leftover temp files are cleared only under the lock, when no live
writer can own them."""

import contextlib
from pathlib import Path
from typing import Iterator

import dagster as dg

from mm_assets.common.atomic import remove_stale_temps
from mm_assets.common.locks import OutputLocked, describe_owner, exclusive_lock, lock_path_for


def output_name(context: dg.AssetExecutionContext) -> str:
    key = context.asset_key.to_user_string()
    return f"partition {context.partition_key} of {key}" if context.has_partition_key else key


@contextlib.contextmanager
def sole_writer(context: dg.AssetExecutionContext, output: Path, *temp_targets: Path) -> Iterator[None]:
    """Hold `output`'s lock for the block, after removing stale temps of `temp_targets`."""
    held = contextlib.ExitStack()
    try:
        held.enter_context(exclusive_lock(lock_path_for(output), owner=describe_owner(context.run.run_id),
                                          what=output_name(context)))
    except OutputLocked as exc:
        raise dg.Failure(f"{exc}; let that run finish (or stop it), then materialize again",
                         allow_retries=False) from None
    with held:
        removed = remove_stale_temps(*(temp_targets or (output,)))
        if removed:
            context.log.info(f"removed {removed} temp file(s) a killed run left behind")
        yield

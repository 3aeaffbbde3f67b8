"""A step whose input is missing fails at once, naming the asset to materialize first.

No retry: a missing file does not come back by itself (`retry.py`). The message is the library's
(`mm_assets.common.missing`), so a step, a check and a training loader say it in the same words.
"""

import contextlib
from typing import Iterator

import dagster as dg

from mm_assets.common.missing import MissingInputError, Partition, Paths
from mm_assets.fetch.verify import DownloadError
from mm_assets.layout import DataLayout
from mm_assets.text.gpt2_bpe import Gpt2BpeFiles, verify_gpt2_bpe

from .metadata import check_result


def missing_input(paths: Paths, asset: str, *, partition: Partition = None, detail: str | None = None) -> dg.Failure:
    """The failure to raise when `paths` are not there: materialize `asset` (`partition`) first."""
    return failure_of(MissingInputError(paths, asset, partition, detail))


def failure_of(exc: MissingInputError) -> dg.Failure:
    return dg.Failure(description=str(exc), allow_retries=False)


@contextlib.contextmanager
def inputs_required() -> Iterator[None]:
    """Around library code that finds an input missing itself: its `MissingInputError` fails the step."""
    try:
        yield
    except MissingInputError as exc:
        raise failure_of(exc) from exc


def missing_input_check(paths: Paths, asset: str, *, partition: Partition = None,
                        detail: str | None = None) -> dg.AssetCheckResult:
    """A check that cannot run because what it checks is not there."""
    return check_result([str(MissingInputError(paths, asset, partition, detail))])


def gpt2_bpe_files(layout: DataLayout) -> Gpt2BpeFiles:
    """The BPE files, verified; missing or changed, the step fails before it writes anything."""
    try:
        with inputs_required():
            return verify_gpt2_bpe(layout.gpt2_bpe_dir)
    except DownloadError as exc:
        raise dg.Failure(str(exc), allow_retries=False) from exc

"""Helpers the tests import: runs of the code location (in process and by the CLI), a loopback HTTP
server, fairseq's own caption encoding, the COCO/VG and CC3M data an asset would leave, zip damage.
The fixtures stay in the conftest files, which pytest loads itself and no test imports.
"""

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def bpe_source() -> Path:
    """The folder the BPE files are fetched from: MM_TEST_GPT2_BPE, else the offline copy beside the checkout."""
    env = os.environ.get("MM_TEST_GPT2_BPE")
    if env and Path(env).is_dir():
        return Path(env)
    return REPO.parent / "shared" / "gpt2_bpe"


def materialize(selection, *, partition_key: str | None = None, raise_on_error: bool = True,
                instance=None, **resources):
    """`dg.materialize` over the code location's assets and checks, with resources overridden.

    Unnamed resources keep the code location's bindings (from the environment). Pass one
    `instance` to several calls when a later step reads an earlier materialization.
    """
    import dagster as dg

    from mm_assets.definitions import defs

    bound = {**defs.resources, **resources}
    return dg.materialize(
        [*defs.assets, *defs.asset_checks], selection=selection, partition_key=partition_key,
        resources=bound, raise_on_error=raise_on_error, instance=instance,
    )


def run_checks(asset_key: str, *, partition_key: str | None = None, instance=None, **resources):
    """Run only the asset checks of `asset_key` (its data left as it is), in process.

    A job of checks alone has no partitions of its own, so the partition goes in as a run tag.
    """
    import dagster as dg

    from mm_assets.definitions import defs

    job = dg.define_asset_job("checks_only", selection=dg.AssetSelection.checks_for_assets(asset_key))
    checks_defs = dg.Definitions(assets=defs.assets, asset_checks=defs.asset_checks, jobs=[job],
                                 resources={**defs.resources, **resources})
    return checks_defs.resolve_job_def("checks_only").execute_in_process(
        tags={"dagster/partition": partition_key} if partition_key else None, instance=instance,
        raise_on_error=False)


def check_results(result) -> dict[str, object]:
    """Check name -> its evaluation, from a run's events."""
    return {event.event_specific_data.check_name: event.event_specific_data
            for event in result.all_events if event.event_type_value == "ASSET_CHECK_EVALUATION"}


def dagster_bin() -> str:
    return str(Path(sys.executable).parent / "dagster")


def run_materialize_cli(env: dict, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [dagster_bin(), "asset", "materialize", "-m", "mm_assets.definitions", *args],
        env=env, capture_output=True, text=True, timeout=600,
    )
    if check:
        assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    return result


class LoopbackServer:
    """A real aiohttp server on 127.0.0.1 in a background thread, for code that calls it
    synchronously (Dagster steps, CLI runs). `url(path)` gives an address on it."""

    def __init__(self, app) -> None:
        import asyncio
        import threading

        from aiohttp import web

        self._loop = asyncio.new_event_loop()
        started = threading.Event()

        async def start():
            self._runner = web.AppRunner(app)
            await self._runner.setup()
            site = web.TCPSite(self._runner, "127.0.0.1", 0)
            await site.start()
            self.port = self._runner.addresses[0][1]
            started.set()

        self._thread = threading.Thread(
            target=lambda: (self._loop.run_until_complete(start()), self._loop.run_forever()), daemon=True)
        self._thread.start()
        if not started.wait(10):
            raise RuntimeError("loopback server did not start")

    def url(self, path: str = "") -> str:
        return f"http://127.0.0.1:{self.port}/{path.lstrip('/')}"

    def close(self) -> None:
        import asyncio

        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def __enter__(self) -> "LoopbackServer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def fairseq_caption_tokens(captions: list[str], bpe_dir, fairseq_python: str, workdir) -> list[list[int]]:
    """fairseq's own encoder + Dictionary over each caption (stripped), in `.venv-fairseq`."""
    import json

    from mm_assets.judge import JUDGE_DIR

    source, output = Path(workdir) / "captions.json", Path(workdir) / "fairseq_tokens.json"
    source.write_text(json.dumps(captions), encoding="utf-8")
    subprocess.run([fairseq_python, str(JUDGE_DIR / "check_pairs.py"), "--encode", str(source), str(output),
                    "--bpe-dir", str(bpe_dir)], check=True, capture_output=True)
    return json.loads(output.read_text())["tokens"]


def install_coco_vg(mirror: dict[str, str], data_root: Path):
    """What the zip and image assets leave: the mirror's zips under `raw/`, the images extracted."""
    import shutil

    from mm_assets.datasets.coco import upstream as coco
    from mm_assets.datasets.vg import upstream as vg
    from mm_assets.formats.zip import extract_folder
    from mm_assets.layout import DataLayout

    layout = DataLayout(Path(data_root))
    copies = [(Path(mirror["MM_COCO_URL"]) / name, layout.coco.raw(name))
              for name in [*coco.IMAGE_ZIPS.values(), coco.ANNOTATIONS_ZIP]]
    copies.append((Path(mirror["MM_COCO_KARPATHY_URL"]), layout.coco.raw(coco.KARPATHY_ZIP)))
    copies += [(Path(mirror["MM_VG_IMAGES_URL"]) / name, layout.vg.raw(name)) for name in vg.IMAGE_ZIPS.values()]
    copies.append((Path(mirror["MM_VG_REGIONS_URL"]), layout.vg.raw(vg.REGIONS_ZIP)))
    for source, target in copies:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, target)
    for folder, name in coco.IMAGE_ZIPS.items():
        extract_folder(layout.coco.raw(name), folder, layout.coco.images_dir)
    for folder, name in vg.IMAGE_ZIPS.items():
        extract_folder(layout.vg.raw(name), folder, layout.vg.images_dir)
    return layout


def write_cc3m_subset(data_root: Path, captions: list[str], shard: str = "00000", seed: int = 0) -> list[int]:
    """A `cc3m/subset.parquet` and its shard `cc3m/images/<shard>.tar` as cc3m_subset lays them out
    (row ids spaced as available rows are); returns the row ids."""
    import hashlib
    import random

    import pyarrow as pa
    import pyarrow.parquet as pq

    from mm_assets.formats.webdataset import open_shard, sample_key
    from mm_assets.samples.synthetic_images import small_jpeg

    rng = random.Random(seed)
    row_ids = sorted(rng.sample(range(10 * len(captions) + 10), len(captions)))
    images = [small_jpeg(rng) for _ in captions]
    (Path(data_root) / "cc3m" / "images").mkdir(parents=True, exist_ok=True)
    with open_shard(Path(data_root) / "cc3m" / "images" / f"{shard}.tar") as writer:
        for row_id, caption, image in zip(row_ids, captions, images):
            writer.add(sample_key(row_id), {"jpg": image, "txt": caption.encode("utf-8", "replace")})
    table = pa.table({
        "row_id": pa.array(row_ids, pa.int64()),
        "url": [f"https://example.org/{row_id}.jpg" for row_id in row_ids],
        "caption": captions,
        "shard": [shard] * len(captions),
        "key": [sample_key(row_id) for row_id in row_ids],
        "sha256": [hashlib.sha256(image).hexdigest() for image in images],
        "width": pa.array([32] * len(captions), pa.int32()),
        "height": pa.array([32] * len(captions), pa.int32()),
    })
    pq.write_table(table, Path(data_root) / "cc3m" / "subset.parquet")
    return row_ids


def flip_byte_in_zip_member(path, name):
    """Damage one member's data in place (its CRC-32 no longer matches)."""
    import zipfile

    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(name)
    data = bytearray(path.read_bytes())
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    data[start + info.compress_size // 2] ^= 0xFF
    path.write_bytes(bytes(data))

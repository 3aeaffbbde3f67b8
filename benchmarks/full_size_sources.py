"""Every source of the pipeline at a fraction of its real size, with the real statistics.

Used by `benchmarks/full_size.py`. Where the upstream cuts a source into units of a fixed size
(CC3M's 10,000-row shards, the hub's ~500 MB ImageNet parquet files) the units keep their real size
and their number scales; where the number of units is fixed (OWT slices 0-5, COCO/VG zips, GLUE
tasks) each unit shrinks. Images are a pool of distinct photo-like JPEGs of the source's real size
served under many names (making each image costs more than the pipeline's work on it); text and
captions are generated per row. Each builder returns the settings that point the pipeline at its
mirror and a line of input statistics.
"""

from __future__ import annotations

import json
import os
import random
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np
import pyarrow as pa

from mm_assets.datasets.coco.upstream import ANNOTATIONS_ZIP, CAPTIONS_TRAIN2014, KARPATHY_JSON, KARPATHY_ZIP
from mm_assets.datasets.coco.upstream import IMAGE_ZIPS as COCO_ZIPS
from mm_assets.datasets.glue.tasks import TASKS
from mm_assets.datasets.imagenet.synsets import label_of_synset
from mm_assets.datasets.vg.upstream import IMAGE_ZIPS as VG_ZIPS
from mm_assets.datasets.vg.upstream import REGIONS_JSON, REGIONS_ZIP
from mm_assets.formats.parquet import parquet_writer
from mm_assets.formats.zip import write_zip
from mm_assets.samples.caption_text import CaptionText
from mm_assets.samples.glue.mirror import task_table
from mm_assets.samples.imagenet.mirror import IMAGE_TYPE
from mm_assets.samples.owt.mirror import generate_mirror as generate_owt_mirror
from mm_assets.samples.owt.web_text import WebLikeText
from mm_assets.samples.synthetic_images import photo_jpeg

# The real sizes (DESIGN figures, the hub's file lists, the papers' counts).
OWT_SLICES = {"train": "0-4", "valid": "5"}
OWT_CLEAN_BYTES_PER_SLICE = 13e9 / 6  # ~13 GB of cleaned text in slices 0-5
CC3M_INDEX_ROWS = 3_318_333
CC3M_SUBSET = 500_000
CC3M_SHARD_ROWS = 10_000
CC3M_DEAD_SHARE = 0.35
COCO_TRAIN2014, COCO_VAL2014 = 82_783, 40_504  # Karpathy: val2014 = 30,504 restval + 5,000 val + 5,000 test
COCO_KARPATHY_VAL = COCO_KARPATHY_TEST = 5_000
VG_IMAGES = {"VG_100K": 64_346, "VG_100K_2": 43_903}
VG_REGIONS_PER_IMAGE = 50.0
IMAGENET_SPLITS = {"train": (1_281_167, 294), "validation": (50_000, 14), "test": (100_000, 28)}  # rows, hub files
GLUE_ROWS = {  # the hub's row counts per task and split
    "cola": {"train": 8_551, "validation": 1_043, "test": 1_063},
    "sst2": {"train": 67_349, "validation": 872, "test": 1_821},
    "mrpc": {"train": 3_668, "validation": 408, "test": 1_725},
    "stsb": {"train": 5_749, "validation": 1_500, "test": 1_379},
    "qqp": {"train": 363_846, "validation": 40_430, "test": 390_965},
    "mnli": {"train": 392_702, "validation_matched": 9_815, "validation_mismatched": 9_832,
             "test_matched": 9_796, "test_mismatched": 9_847},
    "qnli": {"train": 104_743, "validation": 5_463, "test": 5_463},
    "rte": {"train": 2_490, "validation": 277, "test": 3_000},
    "wnli": {"train": 635, "validation": 71, "test": 146},
}
# Sizes per source: (width, height) of the pool's images, chosen so a JPEG at quality 90 of this
# photo-like content has the source's mean file size (ImageNet ~110 KB, COCO ~160 KB, VG ~135 KB).
IMAGE_SIZES = {"imagenet": ((500, 375), (375, 500), (500, 333)), "coco": ((640, 480), (480, 640)),
               "vg": ((600, 450), (450, 600))}
POOL_IMAGES = 120


@dataclass
class Source:
    """What one generated source tells the pipeline (settings) and the reader (statistics)."""
    name: str
    settings: dict[str, str]
    statistics: str
    bytes: int = 0
    extra: dict = field(default_factory=dict)


def scaled(real: int, fraction: float, least: int = 1) -> int:
    return max(least, round(real * fraction))


def _tree_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def _image_pool(kind: str, seed: int) -> list[bytes]:
    rng = np.random.default_rng(seed)
    sizes = IMAGE_SIZES[kind]
    return [photo_jpeg(rng, *sizes[i % len(sizes)], quality=90) for i in range(POOL_IMAGES)]


def _pool_statistics(pool: list[bytes]) -> str:
    sizes = sorted(len(b) for b in pool)
    return f"images mean {statistics.mean(sizes) / 1e3:.0f} KB (10-90 % {sizes[len(sizes) // 10] / 1e3:.0f}-" \
           f"{sizes[9 * len(sizes) // 10] / 1e3:.0f} KB)"


def _word_statistics(texts: list[str]) -> str:
    words = [len(t.split()) for t in texts]
    return f"{len(texts):,} captions, mean {statistics.mean(words):.1f} words"


# ---------------------------------------------------------------------------------------------

def build_owt(root: Path, fraction: float, bpe_dir: Path) -> Source:
    """Slices 0-5 of web-like text (a long tail of names, numbers, URLs), nested tar/xz."""
    from mm_assets.samples.owt.web_text import corpus_statistics
    from mm_assets.text.gpt2_bpe import Gpt2BpeFiles, load_encoding

    per_slice = int(OWT_CLEAN_BYTES_PER_SLICE * fraction)
    for number in range(6):
        generate_owt_mirror(root, [number], bytes_per_slice=per_slice, text=WebLikeText(number + 1),
                            edge_cases=number == 0, docs_per_member=200, preset=1, workers=os.cpu_count() or 1)
    # statistics of one slice's text (the generator is seeded: the same documents again)
    text = WebLikeText(1)
    docs, size = [], 0
    while size < min(per_slice, 20_000_000):
        docs.append(text.document())
        size += len(docs[-1])
    stats = corpus_statistics(docs, load_encoding(Gpt2BpeFiles(bpe_dir)))
    line = (f"6 slices x {per_slice / 1e6:.1f} MB of text; {stats['bytes_per_token']:.2f} bytes/token, "
            f"{stats['word_types']:,} word types in {size / 1e6:.0f} MB, "
            f"{(stats['new_word_types_per_mb'] or [stats['word_types']])[-1]:,} new types/MB at the end")
    return Source("owt", {"MM_OWT_URL": str(root), "MM_OWT_TRAIN_SLICES": OWT_SLICES["train"],
                          "MM_OWT_VALID_SLICES": OWT_SLICES["valid"]}, line, _tree_bytes(root))


def build_cc3m(root: Path, fraction: float) -> Source:
    """An index of 3.3 M x fraction rows, ~35 % of them failing as CC3M links fail; the files the
    loopback server (`cc3m_download.Servers`) serves, and `paths.tsv` to turn into the index."""
    from cc3m_download import describe_input

    from mm_assets.samples.cc3m import sample as cc3m_sample

    rows = scaled(CC3M_INDEX_ROWS, fraction)
    if not (root / "statistics.txt").is_file():
        # The sample makes an image per failing row too (served cut short, as HTML, ...): at 33,000
        # rows that is minutes of image encoding. Those rows' bytes never reach the output, so they
        # come from a small pool per format and orientation.
        make_image, made = cc3m_sample.make_image, {}

        def pooled_image(rng, fmt, size, *, noise):
            pool = made.setdefault((fmt, size[0] >= size[1], max(size) < 100), [])  # tiny ones stay tiny
            if len(pool) < 8:
                pool.append(make_image(rng, fmt, size, noise=noise))
                return pool[-1]
            return rng.choice(pool)

        cc3m_sample.make_image = pooled_image
        try:
            sample = cc3m_sample.generate_sample(rows, seed=0, failure_share=CC3M_DEAD_SHARE, realistic=True,
                                                 distinct_images=POOL_IMAGES * 2)
            sample_dir = root / f"sample_{rows}"
            cc3m_sample.write_sample(sample, sample_dir)
        finally:
            cc3m_sample.make_image = make_image
        (root / "sample_dir").write_text(str(sample_dir))
        dead = sum(1 for r in sample.rows if r.path.split("/")[1:2] not in (["img"], ["redirect"], ["no-head"]))
        captions = [r.caption for r in sample.rows]
        line = (f"{rows:,} index rows, {100 * dead / rows:.0f} % made to fail; {_word_statistics(captions)}; "
                + describe_input(sample).splitlines()[1].replace("images: ", "images: "))
        (root / "statistics.txt").write_text(line)
    sample_dir = Path((root / "sample_dir").read_text())
    settings = {"MM_CC3M_SUBSET_SIZE": str(scaled(CC3M_SUBSET, fraction)),
                "MM_CC3M_SHARD_SIZE": str(CC3M_SHARD_ROWS),
                # the pool's images are served under many URLs: repetition is no placeholder sign here
                "MM_CC3M_PLACEHOLDER_REPEATS": str(10**9)}
    return Source("cc3m", settings, (root / "statistics.txt").read_text(), _tree_bytes(root),
                  extra={"sample_dir": sample_dir, "paths_tsv": sample_dir / "paths.tsv"})


def _coco_name(folder: str, image_id: int) -> str:
    return f"COCO_{folder}_{image_id:012d}.jpg"


def build_coco(root: Path, fraction: float) -> Source:
    """train2014/val2014 zips, the caption annotations and Karpathy's split, ~5 captions per image."""
    rng = random.Random(11)
    text = CaptionText(11)
    pool = _image_pool("coco", 11)
    counts = {"train2014": scaled(COCO_TRAIN2014, fraction), "val2014": scaled(COCO_VAL2014, fraction, 3)}
    ids = iter(rng.sample(range(1, 581_930), sum(counts.values())))
    folders = {folder: [next(ids) for _ in range(n)] for folder, n in counts.items()}
    for folder, zip_name in COCO_ZIPS.items():
        members = [(f"{folder}/", b"")] + [(f"{folder}/{_coco_name(folder, i)}", pool[n % len(pool)])
                                           for n, i in enumerate(folders[folder])]
        write_zip(root / "coco" / zip_name, members, compress=lambda name: False)
    caption_id = iter(range(1, 10**9))
    captions = {i: [text.coco_caption() for _ in range(5 + (rng.random() < 0.003))]
                for folder in folders for i in folders[folder]}

    def coco_json(folder: str) -> bytes:
        images = [{"id": i, "file_name": _coco_name(folder, i), "width": 640, "height": 480} for i in folders[folder]]
        annotations = [{"image_id": i, "id": next(caption_id), "caption": c} for i in folders[folder] for c in captions[i]]
        return json.dumps({"info": {}, "images": images, "licenses": [], "annotations": annotations}).encode("ascii")

    write_zip(root / "coco" / ANNOTATIONS_ZIP, [(CAPTIONS_TRAIN2014, coco_json("train2014")),
                                                ("annotations/captions_val2014.json", coco_json("val2014"))])
    held_out = max(1, round(COCO_KARPATHY_VAL * fraction))
    entries, sentid = [], 0
    for folder in folders:
        for n, image_id in enumerate(folders[folder]):
            split = ("train" if folder == "train2014" else
                     "val" if n < held_out else "test" if n < 2 * held_out else "restval")
            sentences = []
            for raw in captions[image_id]:
                sentences.append({"tokens": raw.lower().split(), "raw": raw, "imgid": len(entries), "sentid": sentid})
                sentid += 1
            entries.append({"filepath": folder, "sentids": [s["sentid"] for s in sentences],
                            "filename": _coco_name(folder, image_id), "imgid": len(entries), "split": split,
                            "sentences": sentences, "cocoid": image_id})
    write_zip(root / "karpathy" / KARPATHY_ZIP, [(KARPATHY_JSON, json.dumps({"images": entries, "dataset": "coco"}).encode())])
    all_captions = [c for cs in captions.values() for c in cs]
    line = (f"{counts['train2014']:,} train2014 + {counts['val2014']:,} val2014 images; "
            f"{_word_statistics(all_captions)}; {_pool_statistics(pool)}")
    return Source("coco", {"MM_COCO_URL": str(root / "coco"), "MM_COCO_KARPATHY_URL": str(root / "karpathy" / KARPATHY_ZIP)},
                  line, _tree_bytes(root))


def build_vg(root: Path, fraction: float) -> Source:
    """images.zip/images2.zip and region_descriptions.json, ~50 regions of ~4.7 words per image."""
    rng = random.Random(12)
    text = CaptionText(12)
    pool = _image_pool("vg", 12)
    counts = {folder: scaled(n, fraction) for folder, n in VG_IMAGES.items()}
    ids = sorted(rng.sample(range(1, 2_420_000), sum(counts.values())))
    folders, start = {}, 0
    for folder, count in counts.items():
        folders[folder], start = ids[start:start + count], start + count
    for folder, zip_name in VG_ZIPS.items():
        members = [(f"{folder}/", b"")] + [(f"{folder}/{i}.jpg", pool[n % len(pool)])
                                           for n, i in enumerate(folders[folder])]
        write_zip(root / "vg" / "images" / zip_name, members, compress=lambda name: False)
    region_id = iter(range(1, 10**10))
    entries, phrases = [], []
    for image_id in ids:
        count = max(1, int(rng.expovariate(1 / VG_REGIONS_PER_IMAGE)))
        regions = []
        for _ in range(count):
            phrase = text.vg_phrase()
            phrases.append(phrase)
            regions.append({"region_id": next(region_id), "width": rng.randint(5, 300), "height": rng.randint(5, 300),
                            "image_id": image_id, "phrase": phrase, "y": rng.randint(0, 400), "x": rng.randint(0, 400)})
        entries.append({"regions": regions, "id": image_id})
    write_zip(root / "vg" / "regions" / REGIONS_ZIP, [(REGIONS_JSON, json.dumps(entries).encode("ascii"))])
    line = f"{len(ids):,} images; {_word_statistics(phrases)} (regions); {_pool_statistics(pool)}"
    return Source("vg", {"MM_VG_IMAGES_URL": str(root / "vg" / "images"),
                         "MM_VG_REGIONS_URL": str(root / "vg" / "regions" / REGIONS_ZIP)}, line, _tree_bytes(root))


def _imagenet_rows(split: str, count: int, synsets: list[str], rng: random.Random) -> Iterator[tuple[str, int]]:
    labels = label_of_synset()
    for n in range(count):
        synset = synsets[rng.randrange(len(synsets))]
        if split == "train":
            yield f"{synset}_{n + 1}_{synset}.JPEG", labels[synset]
        elif split == "validation":
            yield f"ILSVRC2012_val_{n + 1:08d}_{synset}.JPEG", labels[synset]
        else:
            yield f"ILSVRC2012_test_{n + 1:08d}.JPEG", -1


def build_imagenet(root: Path, fraction: float) -> Source:
    """The hub's parquet shards (`image` {bytes, path}, `label`), rows of ~110 KB JPEGs."""
    rng = random.Random(13)
    pool = _image_pool("imagenet", 13)
    synsets = sorted(label_of_synset())
    schema = pa.schema([("image", IMAGE_TYPE), ("label", pa.int64())])
    total = 0
    for split, (real_rows, real_files) in IMAGENET_SPLITS.items():
        rows = list(_imagenet_rows(split, scaled(real_rows, fraction), synsets, rng))
        files = scaled(real_files, fraction)
        for index in range(files):
            part = rows[index::files]
            with parquet_writer(root / "data" / f"{split}-{index:05d}-of-{files:05d}.parquet", schema) as writer:
                for start in range(0, len(part), 100):
                    block = part[start:start + 100]
                    images = [{"bytes": pool[(start + k + index) % len(pool)], "path": name}
                              for k, (name, _) in enumerate(block)]
                    writer.write_table(pa.table({"image": pa.array(images, IMAGE_TYPE),
                                                 "label": pa.array([label for _, label in block], pa.int64())}))
            total += 1
    line = (", ".join(f"{split} {scaled(rows, fraction):,} rows in {scaled(files, fraction)} files"
                      for split, (rows, files) in IMAGENET_SPLITS.items()) + f"; {_pool_statistics(pool)}")
    return Source("imagenet", {"MM_IMAGENET_URL": str(root)}, line, _tree_bytes(root))


def build_glue(root: Path, fraction: float) -> Source:
    """Every task and split at the fraction of the hub's row counts, web-like sentences."""
    from mm_assets.formats.parquet import write_parquet

    sentence = WebLikeText(14).sentence
    rows_written = 0
    for key, splits in GLUE_ROWS.items():
        task = TASKS[key]
        rng = random.Random(f"14-{key}")
        for hub_split, real in splits.items():
            count = scaled(real, fraction, least=10)
            write_parquet(task_table(task, hub_split, count, sentence, rng), root / task.hub_path(hub_split))
            rows_written += count
    return Source("glue", {"MM_GLUE_URL": str(root)}, f"{len(GLUE_ROWS)} tasks, {rows_written:,} rows",
                  _tree_bytes(root))


BUILDERS = {"owt": build_owt, "cc3m": build_cc3m, "coco": build_coco, "vg": build_vg,
            "imagenet": build_imagenet, "glue": build_glue}


def build_all(root: Path, fraction: float, bpe_dir: Path) -> list[Source]:
    """Every source under `root/<name>/` (a finished one is kept: `.complete` + `source.json`)."""
    sources = []
    for name, builder in BUILDERS.items():
        folder = root / name
        record = folder / "source.json"
        if record.is_file():
            data = json.loads(record.read_text())
            # the settings name paths under the folder where the source was made: a moved workdir works
            settings = {key: value.replace(data.get("folder", str(folder)), str(folder))
                        for key, value in data["settings"].items()}
            sources.append(Source(name, settings, data["statistics"], data["bytes"]))
            if name == "cc3m":
                sources[-1] = build_cc3m(folder, fraction)
            continue
        print(f"  generating {name} at {fraction:g} ...", flush=True)
        folder.mkdir(parents=True, exist_ok=True)
        source = builder(folder, fraction, bpe_dir) if name == "owt" else builder(folder, fraction)
        record.write_text(json.dumps({"folder": str(folder), "settings": source.settings,
                                      "statistics": source.statistics, "bytes": source.bytes}))
        sources.append(source)
    return sources

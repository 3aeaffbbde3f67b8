"""`dagster asset materialize` of imagenet_index and of every glue_fairseq_data partition, on
mirrors made elsewhere (MM_IMAGENET_URL, MM_GLUE_URL), as the issue's done-when says."""

import os

import pyarrow.parquet as pq
import pytest

from mm_assets.datasets.glue.tasks import TASKS
from mm_assets_tests.helpers import run_materialize_cli

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def cli(imagenet_mirror, glue_mirror, bpe_dir, fairseq_python, tmp_path_factory):
    root = tmp_path_factory.mktemp("imagenet_glue_cli")
    env = {**os.environ, "MM_DATA_ROOT": str(root / "data"), "DAGSTER_HOME": str(root / "home"),
           "MM_IMAGENET_URL": str(imagenet_mirror), "MM_GLUE_URL": f"file://{glue_mirror}",
           "MM_GPT2_BPE_URL": str(bpe_dir), "MM_FAIRSEQ_PYTHON": fairseq_python, "MM_WORKERS": "2"}
    (root / "home").mkdir()
    logs = [run_materialize_cli(env, "--select", "gpt2_bpe"),
            run_materialize_cli(env, "--select", "imagenet_shard_list")]
    for shard in ("train-00000-of-00002", "train-00001-of-00002", "validation-00000-of-00001"):
        logs.append(run_materialize_cli(env, "--select", "imagenet_raw,imagenet_images", "--partition", shard))
    logs.append(run_materialize_cli(env, "--select", "imagenet_index"))
    for key in TASKS:
        logs.append(run_materialize_cli(env, "--select", "glue_raw,glue_fairseq_data", "--partition", key))
    return root / "data", "\n".join(r.stdout + r.stderr for r in logs)


def test_imagenet_index_and_its_checks(cli):
    data, log = cli
    index = pq.read_table(data / "imagenet" / "index.parquet")
    assert index.num_rows == 29 and index.column_names == ["split", "path", "synset", "label", "width", "height"]
    for name in ("labels_agree_with_synsets", "every_row_accounted_for", "folders_match_index"):
        assert f"Asset check '{name}' on 'imagenet_index' passed" in log
    assert log.count("Asset check 'images_match_recorded_hashes' on 'imagenet_images' passed") == 3
    assert not list((data / "imagenet" / "raw" / "data").glob("*.parquet"))  # released (the default)


def test_every_glue_task_and_fairseqs_check(cli):
    data, log = cli
    for task in TASKS.values():
        assert (data / "glue" / task.bin_dir_name / "input0" / "train.bin").is_file(), task.key
    assert log.count("Asset check 'fairseq_loads_glue_task' on 'glue_fairseq_data' passed") == len(TASKS)

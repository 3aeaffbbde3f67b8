"""OpenWebText blocks equal fairseq's own masked_lm blocks (`TokenBlockDataset` with
`break_mode="none"` and `block_size - 1`, then `PrependTokenDataset(<s>)`), read in .venv-fairseq."""

import json
import subprocess

import pytest

from mm_assets.loaders.owt import TokenBlocks

pytestmark = pytest.mark.e2e

FAIRSEQ_BLOCKS = """
import json, sys
from fairseq.data import PrependTokenDataset, TokenBlockDataset
from fairseq.data.indexed_dataset import MMapIndexedDataset
prefix, block_size, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
data = MMapIndexedDataset(prefix)
blocks = PrependTokenDataset(TokenBlockDataset(data, data.sizes, block_size - 1, pad=1, eos=2, break_mode="none"), 0)
json.dump([blocks[i].tolist() for i in range(len(blocks))], open(out, "w"))
"""


@pytest.mark.parametrize("block_size", [16, 5, 512])
def test_blocks_are_fairseqs(owt_root, fairseq_python, tmp_path, block_size):
    out = tmp_path / "blocks.json"
    subprocess.run([fairseq_python, "-c", FAIRSEQ_BLOCKS, str(owt_root / "owt/fairseq/train"), str(block_size), str(out)],
                   check=True, capture_output=True)
    theirs = json.loads(out.read_text())
    ours = TokenBlocks(owt_root, "train", block_size=block_size, drop_partial=False)
    assert len(ours) == len(theirs)
    assert [ours[i].tolist() for i in range(len(ours))] == theirs
    assert len(TokenBlocks(owt_root, "train", block_size=block_size)) == sum(len(b) == block_size for b in theirs)

"""The proof a binarized slice passes before its cleaned text is released."""

from pathlib import Path

from mm_assets.datasets.owt.clean import clean_slice
from mm_assets.datasets.owt.proof import prove_slice_against_text
from mm_assets.datasets.owt.slices import slice_hub_path
from mm_assets.text.binarize import binarize_text
from mm_assets.text.gpt2_bpe import Gpt2BpeFiles


def _slice(tmp_path, owt_mirror, bpe_dir):
    text = tmp_path / "slice00.txt"
    clean_slice(owt_mirror / slice_hub_path(0), text, workers=1)
    binarize_text(text, tmp_path / "slice00", bpe_dir, workers=1)
    return text, tmp_path / "slice00", Gpt2BpeFiles(Path(bpe_dir))


def test_a_sound_slice_decodes_back_to_its_lines(tmp_path, owt_mirror, bpe_dir):
    text, prefix, bpe = _slice(tmp_path, owt_mirror, bpe_dir)
    proof = prove_slice_against_text(prefix, text, bpe)
    assert not proof.problems and proof.compared > 2
    assert proof.lines == text.read_bytes().count(b"\n")


def test_a_changed_line_or_a_missing_one_is_found(tmp_path, owt_mirror, bpe_dir):
    text, prefix, bpe = _slice(tmp_path, owt_mirror, bpe_dir)
    lines = text.read_bytes().split(b"\n")
    text.write_bytes(b"\n".join([lines[0] + b" changed", *lines[1:]]))  # the first line is always sampled
    assert any("sequence 0 decodes to" in problem for problem in prove_slice_against_text(prefix, text, bpe).problems)
    text.write_bytes(b"\n".join(lines[1:]))
    assert "sequences for" in prove_slice_against_text(prefix, text, bpe).problems[0]

"""The pictures' fixtures: the small data root of `sample_data`, made once per session."""

import pytest

from .sample_data import make_pictures_root


@pytest.fixture(scope="session")
def pictures_root(tmp_path_factory, caption_encoder, bpe_dir):
    return make_pictures_root(tmp_path_factory.mktemp("pictures_data"), caption_encoder, bpe_dir)

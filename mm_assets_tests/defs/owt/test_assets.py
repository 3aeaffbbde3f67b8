"""The OWT assets' own failure messages, run in process."""

import dagster as dg
import pytest

from mm_assets.defs.owt.resources import OwtSource
from mm_assets.defs.shared.resources import StorageResource
from mm_assets_tests.helpers import materialize


def test_missing_slice_is_a_clear_error_naming_it(tmp_path):
    with pytest.raises(dg.Failure) as err:
        materialize("owt_fairseq_data", storage=StorageResource(data_root=str(tmp_path)),
                    owt_source=OwtSource(train_slices="0-1", valid_slices="5"))
    assert "00, 01, 05" in str(err.value.description)

import pytest

from mm_assets.datasets.owt.slices import PARTITION_KEYS, parse_slice_spec, slice_hub_path


def test_ranges_lists_and_single_numbers():
    assert parse_slice_spec("0-4") == [0, 1, 2, 3, 4]
    assert parse_slice_spec("0,2,7") == [0, 2, 7]
    assert parse_slice_spec("3") == [3]
    assert parse_slice_spec(" 5-6, 0 ,6") == [0, 5, 6]


@pytest.mark.parametrize("spec", ["", "a", "4-2", "21", "0,,1", "-1", "1-"])
def test_bad_specs_are_refused_with_the_spec_named(spec):
    with pytest.raises(ValueError):
        parse_slice_spec(spec)


def test_partition_keys_and_hub_names():
    assert PARTITION_KEYS[0] == "00" and PARTITION_KEYS[-1] == "20" and len(PARTITION_KEYS) == 21
    assert slice_hub_path(7) == "subsets/urlsf_subset07.tar"

"""OpenWebText slices: the 21 hub files, their names, and the split settings that pick among them."""

from __future__ import annotations

SLICE_COUNT = 21
PARTITION_KEYS = [f"{i:02d}" for i in range(SLICE_COUNT)]
# What a slice setting accepts, said once for every error message.
SLICE_SPEC_HELP = f"slice numbers 0-{SLICE_COUNT - 1} as ranges and comma lists, e.g. 0-4 or 0,2,7"


def partition_key(number: int) -> str:
    return f"{number:02d}"


def slice_stem(number: int) -> str:
    """`urlsf_subsetNN`: the slice's name, also the prefix of its `.xz` members' names."""
    return f"urlsf_subset{number:02d}"


def slice_file_name(number: int) -> str:
    """The name of slice `number` on the hub, in a mirror and in the data root."""
    return f"{slice_stem(number)}.tar"


def slice_hub_path(number: int) -> str:
    """Where a slice sits inside the hub repository (and inside a local mirror)."""
    return f"subsets/{slice_file_name(number)}"


def parse_slice_spec(spec: str, *, count: int = SLICE_COUNT) -> list[int]:
    """Parse '0-4', '0,2,7', '3' or a mix ('0-2,5') into sorted, distinct slice numbers."""
    result: set[int] = set()
    text = spec.strip()
    if not text:
        raise ValueError("empty slice list")
    for part in text.split(","):
        part = part.strip()
        if not part:
            raise ValueError(f"empty item in slice list {spec!r}")
        if "-" in part:
            lo_text, hi_text = part.split("-", 1)
            lo, hi = _slice_number(lo_text, spec, count), _slice_number(hi_text, spec, count)
            if lo > hi:
                raise ValueError(f"descending range {part!r} in slice list {spec!r}")
            result.update(range(lo, hi + 1))
        else:
            result.add(_slice_number(part, spec, count))
    return sorted(result)


def _slice_number(text: str, spec: str, count: int) -> int:
    text = text.strip()
    if not text.isdigit():
        raise ValueError(f"{text!r} in slice list {spec!r} is not a slice number")
    number = int(text)
    if number >= count:
        raise ValueError(f"slice {number} in {spec!r} is out of range 0-{count - 1}")
    return number

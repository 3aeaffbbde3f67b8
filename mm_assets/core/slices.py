"""OpenWebText slice numbers: the 21 hub files and the split settings that pick among them."""

OWT_SLICE_COUNT = 21
OWT_PARTITION_KEYS = [f"{i:02d}" for i in range(OWT_SLICE_COUNT)]


def parse_slice_spec(spec: str, *, count: int = OWT_SLICE_COUNT) -> list[int]:
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


def partition_key(slice_number: int) -> str:
    return f"{slice_number:02d}"


def slice_tar_name(slice_number: int) -> str:
    """Path of a slice inside the hub repository (and inside a local mirror)."""
    return f"subsets/urlsf_subset{slice_number:02d}.tar"

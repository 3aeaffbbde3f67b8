"""Shards of the index: `MM_CC3M_SHARD_SIZE` consecutive row ids each, keyed `00000`, `00001`, ..."""

from __future__ import annotations

KEY_DIGITS = 5


def shard_key(number: int) -> str:
    return f"{number:0{KEY_DIGITS}d}"


def shard_number(key: str) -> int:
    if len(key) != KEY_DIGITS or not key.isdigit():
        raise ValueError(f"{key!r} is not a shard key (five digits, e.g. 00012)")
    return int(key)


def shard_keys(lines: int, shard_size: int) -> list[str]:
    """Every shard of an index of `lines` row ids (the last one may be short)."""
    return [shard_key(n) for n in range(-(-lines // shard_size))]


def shard_rows(key: str, shard_size: int) -> range:
    """The row ids of a shard."""
    start = shard_number(key) * shard_size
    return range(start, start + shard_size)

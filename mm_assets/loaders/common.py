"""What the loaders share: per-item seeding, strings packed in numpy, fairseq mmap datasets read lazily."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import torch

from mm_assets.formats.fairseq_mmap import check_dataset, read_index_header


def item_generator(seed: int, epoch: int, index: int) -> torch.Generator:
    """A generator for one item's random draws, from (seed, epoch, index) alone."""
    state = np.random.SeedSequence([seed, epoch, index]).generate_state(2, dtype=np.uint32)
    generator = torch.Generator()
    generator.manual_seed((int(state[0]) << 32) | int(state[1]))
    return generator


class SeededItems:
    """`seed` and `epoch` for a dataset's per-item draws; call `set_epoch` before each epoch.

    The epoch lives in shared memory: `persistent_workers=True` keeps the dataset copies its
    workers got at the first epoch, and they must still see each new epoch (else every epoch
    would repeat the first one's augmentation)."""

    seed: int = 0

    def init_seeding(self, seed: int) -> None:
        """Call from `__init__`, in the main process, before any DataLoader iterates."""
        self.seed = seed
        self._epoch = torch.zeros(1, dtype=torch.int64).share_memory_()

    @property
    def epoch(self) -> int:
        return int(self._epoch[0])

    def set_epoch(self, epoch: int) -> None:
        self._epoch[0] = epoch

    def generator(self, index: int) -> torch.Generator:
        return item_generator(self.seed, self.epoch, index)


class PackedStrings:
    """Many strings in one uint8 buffer with offsets: no Python object per string."""

    def __init__(self, column: pa.ChunkedArray | pa.Array) -> None:
        array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
        array = array.cast(pa.large_string())
        if array.null_count:
            raise ValueError(f"{array.null_count} empty (null) value(s) in a column of paths")
        offsets_buffer, data_buffer = array.buffers()[1:3]
        offsets = np.frombuffer(offsets_buffer, dtype=np.int64)[array.offset:array.offset + len(array) + 1]
        self._offsets = offsets - offsets[0]
        data = np.frombuffer(data_buffer, dtype=np.uint8) if data_buffer is not None else np.zeros(0, np.uint8)
        self._data = data[offsets[0]:offsets[-1]].copy()

    def __len__(self) -> int:
        return len(self._offsets) - 1

    def __getitem__(self, index: int) -> str:
        return self._data[self._offsets[index]:self._offsets[index + 1]].tobytes().decode("utf-8")


class MMapTokens:
    """A fairseq mmap dataset (`<prefix>.bin/.idx`) read item by item; opened lazily in each worker."""

    def __init__(self, prefix: str | Path) -> None:
        self.prefix = Path(prefix)
        summary = check_dataset(self.prefix)
        self.dtype = summary.dtype
        self.count = summary.count
        self.tokens = summary.tokens
        self._arrays: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    def _open(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if self._arrays is None:
            idx = self.prefix.with_suffix(".idx")
            info = read_index_header(idx)
            sizes = np.memmap(idx, dtype=np.int32, mode="r", offset=info.sizes_offset, shape=(info.count,))
            pointers = np.memmap(idx, dtype=np.int64, mode="r", offset=info.sizes_offset + 4 * info.count,
                                 shape=(info.count,))
            data = (np.memmap(self.prefix.with_suffix(".bin"), dtype=self.dtype, mode="r")
                    if self.tokens else np.zeros(0, self.dtype))
            self._arrays = (sizes, pointers, data)
        return self._arrays

    @property
    def sizes(self) -> np.ndarray:
        return self._open()[0]

    @property
    def flat(self) -> np.ndarray:
        """Every token, items back to back."""
        return self._open()[2]

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index: int) -> np.ndarray:
        sizes, pointers, data = self._open()
        start = int(pointers[index]) // self.dtype.itemsize
        return np.asarray(data[start:start + int(sizes[index])])

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_arrays"] = None  # each process maps the files itself
        return state

"""Where OpenWebText comes from, and which slices make each split."""

from typing import ClassVar

from mm_assets.datasets.owt.slices import SLICE_SPEC_HELP, parse_slice_spec
from mm_assets.defs.shared.resources import EnvResource, SettingError, setting_error

OWT_HUB_URL = "https://huggingface.co/datasets/Skylion007/openwebtext/resolve/main"


class OwtSource(EnvResource):
    """The hub (or a mirror laid out like it) and the slice lists of the train and valid splits."""

    ENV: ClassVar[dict[str, str]] = {
        "MM_OWT_URL": "url",
        "MM_OWT_TRAIN_SLICES": "train_slices",
        "MM_OWT_VALID_SLICES": "valid_slices",
    }
    url: str = OWT_HUB_URL
    train_slices: str = "0-4"
    valid_slices: str = "5"

    def _slices(self, field: str) -> list[int]:
        value = getattr(self, field)
        try:
            return parse_slice_spec(value)
        except ValueError:
            raise setting_error(self.variable_of(field), value, SLICE_SPEC_HELP) from None

    def splits(self) -> dict[str, list[int]]:
        """Slice numbers per split; refuses a bad list or slices in both splits."""
        splits = {"train": self._slices("train_slices"), "valid": self._slices("valid_slices")}
        overlap = sorted(set(splits["train"]) & set(splits["valid"]))
        if overlap:
            raise SettingError(
                f"MM_OWT_TRAIN_SLICES={self.train_slices!r} and MM_OWT_VALID_SLICES={self.valid_slices!r}: "
                f"slice(s) {', '.join(map(str, overlap))} in both; expected disjoint slice lists")
        return splits

    def check_values(self) -> None:
        if not self.url.strip():
            raise setting_error("MM_OWT_URL", self.url, "a URL or a folder with subsets/urlsf_subsetNN.tar")
        self.splits()

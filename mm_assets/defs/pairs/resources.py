"""Which VG pairs the manifest takes; how many example pairs the contact sheet shows, and its seed."""

from typing import ClassVar

from mm_assets.datasets.pairs.manifest import VG_VARIANT_HELP, VG_VARIANTS
from mm_assets.defs.shared.resources import EnvResource, setting_error


class PairsSettings(EnvResource):
    ENV: ClassVar[dict[str, str]] = {"MM_PAIRS_VG": "vg", "MM_PAIR_EXAMPLES_PER_SOURCE": "examples_per_source",
                                     "MM_PAIR_EXAMPLES_SEED": "examples_seed"}
    vg: str = "regions"
    examples_per_source: str = "2"
    examples_seed: str = "0"

    def check_values(self) -> None:
        if self.vg not in VG_VARIANTS:
            raise setting_error("MM_PAIRS_VG", self.vg, VG_VARIANT_HELP)
        self.integer("examples_per_source", 1, 50)
        self.integer("examples_seed", 0, 2**63 - 1)

    def integer(self, field: str, low: int, high: int) -> int:
        text = str(getattr(self, field)).strip()
        if not text.isdigit() or not low <= int(text) <= high:
            raise setting_error(self.variable_of(field), getattr(self, field), f"an integer from {low} to {high}")
        return int(text)

"""Which VG pairs the manifest takes."""

from typing import ClassVar

from mm_assets.datasets.pairs.manifest import VG_VARIANT_HELP, VG_VARIANTS
from mm_assets.defs.shared.resources import EnvResource, setting_error


class PairsSettings(EnvResource):
    ENV: ClassVar[dict[str, str]] = {"MM_PAIRS_VG": "vg"}
    vg: str = "regions"

    def check_values(self) -> None:
        if self.vg not in VG_VARIANTS:
            raise setting_error("MM_PAIRS_VG", self.vg, VG_VARIANT_HELP)

"""Where Visual Genome comes from."""

from typing import ClassVar

from mm_assets.datasets.vg.upstream import VG_IMAGES_URL, VG_REGIONS_URL
from mm_assets.defs.shared.resources import EnvResource, setting_error


class VgSource(EnvResource):
    """The folder of the two image zips and the region descriptions zip."""

    ENV: ClassVar[dict[str, str]] = {"MM_VG_IMAGES_URL": "images_url", "MM_VG_REGIONS_URL": "regions_url"}
    images_url: str = VG_IMAGES_URL
    regions_url: str = VG_REGIONS_URL

    def check_values(self) -> None:
        if not self.images_url.strip():
            raise setting_error("MM_VG_IMAGES_URL", self.images_url,
                                "a URL or a folder with images.zip and images2.zip")
        if not self.regions_url.strip() or self.regions_url.endswith("/"):
            raise setting_error("MM_VG_REGIONS_URL", self.regions_url,
                                "the URL or path of region_descriptions.json.zip itself")

"""Where CC3M comes from, how it is cut into shards, and the rules of the crawl and of an image."""

from __future__ import annotations

from typing import ClassVar

from mm_assets.datasets.cc3m.rules import ImageRules
from mm_assets.defs.shared.resources import EnvResource, SettingError, setting_error
from mm_assets.fetch.crawl import CrawlLimits
from mm_assets.images.validate import PILLOW_MAX_PIXELS

GOOGLE_INDEX_URL = "https://storage.googleapis.com/gcc-data/Train/GCC-training.tsv"


class _IntegerSettings(EnvResource):
    # field -> (smallest value accepted, what it is)
    BOUNDS: ClassVar[dict[str, tuple[int, str]]] = {}

    def integer(self, field: str) -> int:
        value = getattr(self, field)
        low, what = self.BOUNDS[field]
        text = str(value).strip()
        if not text.lstrip("-").isdigit() or int(text) < low:
            raise setting_error(self.variable_of(field), value, f"{what}: an integer of at least {low}")
        return int(text)

    def check_values(self) -> None:
        for field in self.BOUNDS:
            self.integer(field)


class Cc3mSource(_IntegerSettings):
    """Google's index (a URL or a local file), its shards and the size of the subset."""

    ENV: ClassVar[dict[str, str]] = {
        "MM_CC3M_INDEX_URL": "index_url",
        "MM_CC3M_SHARD_SIZE": "shard_size",
        "MM_CC3M_SUBSET_SIZE": "subset_size",
        "MM_CC3M_MAX_MALFORMED_ROWS": "max_malformed_rows",
    }
    BOUNDS: ClassVar[dict[str, tuple[int, str]]] = {
        "shard_size": (1, "index rows per shard"),
        "subset_size": (1, "images in the subset"),
        "max_malformed_rows": (0, "malformed index rows tolerated"),
    }
    index_url: str = GOOGLE_INDEX_URL
    shard_size: str = "10000"
    subset_size: str = "500000"
    max_malformed_rows: str = "1000"

    def check_values(self) -> None:
        if not self.index_url.strip():
            raise setting_error("MM_CC3M_INDEX_URL", self.index_url,
                                "a URL or a local file: Google's caption TAB url TSV, or the hub's parquet")
        super().check_values()


class Cc3mCrawl(_IntegerSettings):
    """How the crawl behaves (concurrency, retries) and what an image must be to be kept."""

    ENV: ClassVar[dict[str, str]] = {
        "MM_CC3M_CONCURRENCY": "concurrency",
        "MM_CC3M_PER_HOST": "per_host",
        "MM_CC3M_RETRIES": "retries",
        "MM_CC3M_MIN_SIDE": "min_side",
        "MM_CC3M_MAX_BYTES": "max_bytes",
        "MM_CC3M_MAX_PIXELS": "max_pixels",
        "MM_CC3M_PLACEHOLDER_REPEATS": "placeholder_repeats",
        "MM_CC3M_RESIZE_MAX_SIDE": "resize_max_side",
    }
    BOUNDS: ClassVar[dict[str, tuple[int, str]]] = {
        "concurrency": (1, "URLs in flight"),
        "per_host": (1, "connections per host"),
        "retries": (0, "further attempts after a transient failure"),
        "min_side": (1, "the smallest side in pixels"),
        "max_bytes": (1, "the byte cap of one image"),
        "max_pixels": (1, "the pixel cap of one image"),
        "placeholder_repeats": (2, "distinct URLs serving the same bytes that make them a placeholder"),
        "resize_max_side": (0, "the longest side after a resize, 0 for no resize"),
    }
    concurrency: str = "256"
    per_host: str = "16"
    retries: str = "1"
    min_side: str = "32"
    max_bytes: str = "20000000"
    max_pixels: str = str(PILLOW_MAX_PIXELS)
    placeholder_repeats: str = "10"
    resize_max_side: str = "0"

    def check_values(self) -> None:
        super().check_values()
        if self.integer("per_host") > self.integer("concurrency"):
            raise SettingError(f"MM_CC3M_PER_HOST={self.per_host!r} is more than MM_CC3M_CONCURRENCY="
                               f"{self.concurrency!r}: expected at most the overall concurrency")

    def limits(self, *, timeout_s: float, connect_timeout_s: float) -> CrawlLimits:
        return CrawlLimits(timeout_s=timeout_s, connect_timeout_s=connect_timeout_s,
                           concurrency=self.integer("concurrency"), per_host=self.integer("per_host"),
                           max_bytes=self.integer("max_bytes"), retries=self.integer("retries"))

    def image_rules(self) -> ImageRules:
        return ImageRules(min_side=self.integer("min_side"), max_bytes=self.integer("max_bytes"),
                          max_pixels=self.integer("max_pixels"), resize_max_side=self.integer("resize_max_side"))

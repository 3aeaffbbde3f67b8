"""Where GLUE comes from: the hub's `nyu-mll/glue`, or a local mirror laid out like it."""

from typing import ClassVar

from mm_assets.defs.shared.resources import EnvResource, setting_error

GLUE_HUB_URL = "https://huggingface.co/datasets/nyu-mll/glue/resolve/main"


class GlueSource(EnvResource):
    """A URL or folder holding `<task>/<split>-00000-of-00001.parquet`."""

    ENV: ClassVar[dict[str, str]] = {"MM_GLUE_URL": "url"}
    url: str = GLUE_HUB_URL

    def check_values(self) -> None:
        if not self.url.strip():
            raise setting_error("MM_GLUE_URL", self.url,
                                "a URL or a folder with <task>/<split>-00000-of-00001.parquet")

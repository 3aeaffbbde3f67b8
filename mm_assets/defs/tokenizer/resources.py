"""Where the GPT-2 BPE files come from."""

from typing import ClassVar

from mm_assets.defs.shared.resources import EnvResource, setting_error
from mm_assets.text.gpt2_bpe import OFFICIAL_GPT2_BPE_URL


class Gpt2BpeSource(EnvResource):
    """A URL or local folder holding `encoder.json`, `vocab.bpe` and `dict.txt`."""

    ENV: ClassVar[dict[str, str]] = {"MM_GPT2_BPE_URL": "url"}
    url: str = OFFICIAL_GPT2_BPE_URL

    def check_values(self) -> None:
        if not self.url.strip():
            raise setting_error("MM_GPT2_BPE_URL", self.url, "a URL or a folder with the three BPE files")

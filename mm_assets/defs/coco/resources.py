"""Where COCO comes from, and which captions make its pairs."""

from typing import ClassVar

from mm_assets.datasets.coco.upstream import COCO_URL, KARPATHY_URL, SPLIT_HELP, SPLITS, Split
from mm_assets.defs.shared.resources import EnvResource, setting_error


class CocoSource(EnvResource):
    """The COCO image and annotation zips, Karpathy's caption zip, and the caption split."""

    ENV: ClassVar[dict[str, str]] = {
        "MM_COCO_URL": "url",
        "MM_COCO_KARPATHY_URL": "karpathy_url",
        "MM_COCO_SPLIT": "split",
    }
    url: str = COCO_URL
    karpathy_url: str = KARPATHY_URL
    split: str = "karpathy"

    def chosen_split(self) -> Split:
        if self.split not in SPLITS:
            raise setting_error("MM_COCO_SPLIT", self.split, SPLIT_HELP)
        return SPLITS[self.split]

    def check_values(self) -> None:
        if not self.url.strip():
            raise setting_error("MM_COCO_URL", self.url, "a URL or a folder with zips/train2014.zip, "
                                "zips/val2014.zip and annotations/annotations_trainval2014.zip")
        if not self.karpathy_url.strip() or self.karpathy_url.endswith("/"):
            raise setting_error("MM_COCO_KARPATHY_URL", self.karpathy_url,
                                "the URL or path of caption_datasets.zip itself")
        self.chosen_split()

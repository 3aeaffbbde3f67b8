"""Placeholders: images a host serves in place of one it removed ("photo unavailable").

They decode as real images, so validation alone keeps them; they are told apart three ways:

1. **Known URLs and redirect targets**: Flickr sends a removed photo's URL to
   `.../photo_unavailable.png`, Imgur to `/removed.png`. Host rules apply wherever the URL is
   met; the generic name rule ("unavailable", "not_found", "removed", "404" as the file name)
   only to the target of a redirect, since an image URL that is redirected to such a name is a
   removed image, while a URL that merely contains the word may be a real photo.
2. **Known hashes**: the MD5 of Imgur's removed.png (which Imgur also sends as its ETag), as
   published by tools that download from Imgur.
3. **Repetition**: the same bytes served for many unrelated URLs. Decided over a whole set of
   results at once (`placeholder_hashes`), together with the hashes of bytes that were reached
   through a placeholder redirect, so the answer does not depend on the order results arrive.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import pyarrow as pa
import pyarrow.compute as pc

# Host suffix -> pattern on the path that marks a placeholder there.
_HOST_RULES = (
    (("flickr.com", "staticflickr.com", "yimg.com"), re.compile(r"photo_unavailable", re.I), "Flickr's photo_unavailable"),
    (("imgur.com",), re.compile(r"^/removed\.(png|jpg|gif)$", re.I), "Imgur's removed.png"),
)
# A redirect target whose file name says the image is gone.
_GONE_NAME = re.compile(
    r"^(?:[a-z]*[-_]?)?(?:photo|image|img|picture|file)?[-_]?"
    r"(?:unavailable|not[-_]?available|not[-_]?found|notfound|removed|deleted|missing|no[-_]?image|404|410)"
    r"(?:[-_.@]?[a-z0-9]*)?\.(?:png|jpe?g|gif|webp|svg)$", re.I)

# MD5 -> what it is. Imgur's removed.png, sent by Imgur as the ETag of removed images too.
KNOWN_PLACEHOLDER_MD5 = {
    "d835884373f4d6c8f24742ceabe74946": "Imgur's removed.png",
}


def placeholder_url(url: str, *, redirected: bool) -> str | None:
    """Why `url` is a known placeholder location, or None. `redirected`: it was a redirect target."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    path = unquote(parts.path)
    for suffixes, pattern, name in _HOST_RULES:
        if any(host == suffix or host.endswith("." + suffix) for suffix in suffixes) and pattern.search(path):
            return name
    if redirected and _GONE_NAME.match(path.rsplit("/", 1)[-1]):
        return f"redirected to {path.rsplit('/', 1)[-1]}"
    return None


def known_placeholder(md5: str | None, etag: str | None = None) -> str | None:
    """What a known placeholder's bytes (by MD5) or ETag are, or None."""
    if md5 and md5 in KNOWN_PLACEHOLDER_MD5:
        return KNOWN_PLACEHOLDER_MD5[md5]
    tag = (etag or "").strip().removeprefix("W/").strip('"').lower()
    return KNOWN_PLACEHOLDER_MD5.get(tag)


@dataclass(frozen=True)
class PlaceholderVerdict:
    repeated: dict[str, int]  # sha256 -> distinct URLs that served it (at or over the threshold)
    learned: frozenset[str]  # sha256 of bytes reached through a placeholder redirect or hash

    @property
    def hashes(self) -> frozenset[str]:
        return frozenset(self.repeated) | self.learned


def placeholder_hashes(fetched: pa.Table, *, repeats: int) -> PlaceholderVerdict:
    """Decide, over all `fetched` rows at once, which bytes are placeholders.

    `fetched` has a row per image fetched: `sha256`, `url`, and `placeholder` (bool), which marks
    bytes already known as a placeholder (redirect target, known hash): their hash is learned, so
    the same bytes served directly elsewhere count as a placeholder too. Bytes served for at least
    `repeats` distinct URLs are a placeholder. The answer depends only on the set of rows, not
    their order; Arrow's grouping keeps memory to a few columns.
    """
    fetched = fetched.filter(pc.is_valid(fetched["sha256"]))
    counts = fetched.group_by("sha256").aggregate([("url", "count_distinct")])
    over = counts.filter(pc.greater_equal(counts["url_count_distinct"], repeats))
    repeated = dict(zip(over["sha256"].to_pylist(), over["url_count_distinct"].to_pylist()))
    learned = fetched.filter(pc.fill_null(fetched["placeholder"], False))["sha256"]
    return PlaceholderVerdict(repeated=repeated, learned=frozenset(pc.unique(learned).to_pylist()))

"""X-Robots-Tag: noai and noimageai refuse our use, for every crawler or for ours by name."""

import pytest

from mm_assets.fetch.robots import refusing_directive


@pytest.mark.parametrize("values,expected", [
    (["noai"], "noai"),
    (["noindex, NoImageAI"], "noimageai"),
    (["noindex", "nofollow"], None),
    (["mm_assets: noai"], "noai"),
    (["otherbot: noai, noimageai"], None),
    (["unavailable_after: 25 Jun 2030 15:00:00 PST"], None),
    (["noarchive, unavailable_after: 25 Jun 2030", "noai"], "noai"),
    ([], None),
])
def test_refusing_directives(values, expected):
    assert refusing_directive(values, "mm_assets") == expected

"""Placeholders: known locations and redirect targets, known hashes, and repeated bytes decided
over a whole set at once, whatever its order."""

import random

import pyarrow as pa
import pytest

from mm_assets.images.placeholders import known_placeholder, placeholder_hashes, placeholder_url


@pytest.mark.parametrize("url,redirected,expected", [
    ("https://s.yimg.com/pw/images/en-us/photo_unavailable.png", False, "Flickr's photo_unavailable"),
    ("https://combo.staticflickr.com/ap/build/images/en-us/photo_unavailable_l.png", True, "Flickr's photo_unavailable"),
    ("https://i.imgur.com/removed.png", True, "Imgur's removed.png"),
    ("https://i.imgur.com/removed.png", False, "Imgur's removed.png"),
    ("https://cdn.example.com/static/image_not_found.jpg", True, "redirected to image_not_found.jpg"),
    ("https://cdn.example.com/img/404.gif", True, "redirected to 404.gif"),
    ("https://cdn.example.com/static/photo_unavailable.png", True, "redirected to photo_unavailable.png"),
    ("https://cdn.example.com/static/image_not_found.jpg", False, None),  # not a redirect target
    ("https://i.imgur.com/a1b2c3.jpg", False, None),
    ("https://farm1.staticflickr.com/1/123_abc.jpg", True, None),
    ("https://example.com/photos/removed-walls-kitchen.jpg", True, None),
])
def test_known_locations(url, redirected, expected):
    assert placeholder_url(url, redirected=redirected) == expected


def test_known_hash_by_bytes_or_by_etag():
    assert known_placeholder("d835884373f4d6c8f24742ceabe74946") == "Imgur's removed.png"
    assert known_placeholder(None, 'W/"D835884373F4D6C8F24742CEABE74946"') == "Imgur's removed.png"
    assert known_placeholder("0" * 32, '"abc"') is None


def test_repeated_bytes_and_learned_hashes_whatever_the_order():
    rows = ([("same", f"http://host{n}.example/{n}.jpg", False) for n in range(5)]
            + [("same", "http://host0.example/0.jpg", False)] * 10  # one URL many times is not repetition
            + [("twice", "http://a.example/1.jpg", False), ("twice", "http://b.example/2.jpg", False)]
            + [("learned", "http://x.example/removed.png", True), ("learned", "http://y.example/7.jpg", False)]
            + [(f"unique{n}", f"http://u.example/{n}.jpg", False) for n in range(20)]
            + [(None, "http://u.example/failed.jpg", False)])
    verdicts = []
    for seed in range(5):
        shuffled = rows[:]
        random.Random(seed).shuffle(shuffled)
        table = pa.table({"sha256": [r[0] for r in shuffled], "url": [r[1] for r in shuffled],
                          "placeholder": [r[2] for r in shuffled]})
        verdicts.append(placeholder_hashes(table, repeats=5))
    assert all(verdict == verdicts[0] for verdict in verdicts)
    assert verdicts[0].repeated == {"same": 5}
    assert verdicts[0].learned == {"learned"}
    assert verdicts[0].hashes == {"same", "learned"}

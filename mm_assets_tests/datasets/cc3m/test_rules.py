"""CC3M's rule for one fetched image: the reason for what is refused, the bytes served for what is
kept, and the optional resize."""

import hashlib
import io

from PIL import Image

from mm_assets.datasets.cc3m.rules import ImageRules, judge
from mm_assets.fetch.crawl import CrawlResult


def _image(fmt, size, mode="RGB") -> bytes:
    buffer = io.BytesIO()
    Image.linear_gradient("L").resize(size).convert(mode).save(buffer, format=fmt)
    return buffer.getvalue()


def _fetched(body, url="http://img.example/a.jpg", **fields) -> CrawlResult:
    return CrawlResult(url, "ok", http_status=200, body=body, size=len(body), **fields)


def test_a_kept_image_is_the_bytes_served_with_its_sniffed_format():
    body = _image("PNG", (300, 200), "RGBA")
    judged = judge(_fetched(body, url="http://img.example/photo.jpg"), ImageRules())  # the name says jpg
    assert (judged.status, judged.extension, judged.width, judged.height) == ("ok", "png", 300, 200)
    assert judged.data == body and judged.sha256 == hashlib.sha256(body).hexdigest()


def test_failures_of_the_crawl_pass_through_with_their_class():
    judged = judge(CrawlResult("http://x/a.jpg", "http_error", "HTTP 404", http_status=404), ImageRules())
    assert (judged.status, judged.http_status, judged.data) == ("http_error", 404, None)


def test_placeholders_by_location_redirect_and_etag_keep_their_hash():
    body = _image("PNG", (161, 81))
    by_redirect = judge(_fetched(body, final_url="https://s.yimg.com/pw/images/en-us/photo_unavailable.png",
                                 redirects=1), ImageRules())
    by_etag = judge(_fetched(body, etag='"d835884373f4d6c8f24742ceabe74946"'), ImageRules())
    for judged in (by_redirect, by_etag):
        assert judged.status == "placeholder" and judged.data is None
        assert judged.sha256 == hashlib.sha256(body).hexdigest()  # learned: the same bytes elsewhere go too
    assert "Flickr" in by_redirect.detail and "Imgur" in by_etag.detail


def test_an_error_page_sent_as_an_image_and_a_tiny_image_are_refused():
    html = judge(_fetched(b"<!DOCTYPE html><html><body>Not found</body></html>"), ImageRules())
    assert html.status == "not_an_image" and "HTML" in html.detail
    assert judge(_fetched(_image("JPEG", (40, 20))), ImageRules(min_side=32)).status == "too_small"
    assert judge(_fetched(_image("JPEG", (400, 300))), ImageRules(max_pixels=100_000)).status == "too_many_pixels"


def test_resize_is_off_by_default_and_keeps_the_served_bytes_on_record_when_on():
    body = _image("JPEG", (1000, 800))
    assert judge(_fetched(body), ImageRules()).data == body
    resized = judge(_fetched(body), ImageRules(resize_max_side=256))
    assert (resized.status, resized.extension, resized.width, resized.height) == ("ok", "jpg", 256, 205)
    with Image.open(io.BytesIO(resized.data)) as image:
        assert image.size == (256, 205) and image.format == "JPEG"
    assert resized.served == {"bytes": len(body), "sha256": hashlib.sha256(body).hexdigest(),
                              "width": 1000, "height": 800}
    assert resized.header()["served"]["width"] == 1000
    small = _image("PNG", (200, 100), "RGBA")  # under the side: kept as served
    assert judge(_fetched(small), ImageRules(resize_max_side=256)).data == small
    gif = judge(_fetched(_image("GIF", (600, 300), "P")), ImageRules(resize_max_side=300))
    assert (gif.extension, gif.width, gif.height) == ("png", 300, 150)

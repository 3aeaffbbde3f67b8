"""An aiohttp app that answers a sample's URLs as real image hosts do, failures included.

The first path segment says how (`mm_assets.samples.cc3m.sample` writes them):
`/img/<name>` the image; `/redirect/<n>/<name>` n redirects, then the image; `/no-head/<name>`
HEAD refused (405), GET served; `/noai/<name>` the image with `X-Robots-Tag: noai`;
`/missing/...` 404; `/gone/...` 410; `/error/...` 500; `/html/...` an HTML error page;
`/html-as-image/...` an HTML page sent as `image/jpeg`; `/slow/<name>` the image after `slow_s`;
`/truncated/<name>` half the image then a closed connection, with the full Content-Length;
`/cut/<name>` half the image in chunked encoding, then a closed connection; `/partial-file/<name>`
a file that is cut short on the server, sent whole at the HTTP level; `/tiny/<name>` a small
image; `/to-placeholder/...` a redirect to `/static/photo_unavailable.png`; `/placeholder/...`
the placeholder's bytes served directly. Optional random delays shuffle completion order.
"""

from __future__ import annotations

import asyncio
import random
from typing import Callable

from aiohttp import web

CONTENT_TYPES = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp", "gif": "image/gif"}
ERROR_PAGE = ("<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head>"
              "<body><h1>Not Found</h1><p>The requested image was not found on this server.</p></body></html>\n")


def make_app(images: dict[str, bytes], placeholder: bytes, *, slow_s: float = 30.0,
             max_delay_s: float = 0.0, seed: int | None = None,
             on_request: Callable[[str, str], None] | None = None) -> web.Application:
    """`max_delay_s`: each answer waits a random time up to this, so completions come in any order.
    `on_request(method, path)` is told of every request (tests count them)."""
    rng = random.Random(seed)

    async def delay() -> None:
        if max_delay_s:
            await asyncio.sleep(rng.uniform(0, max_delay_s))

    def image_response(name: str, **headers) -> web.Response:
        data = images.get(name)
        if data is None:
            raise web.HTTPNotFound(text=ERROR_PAGE, content_type="text/html")
        return web.Response(body=data, headers={"Content-Type": _content_type(name), **headers})

    async def image(request: web.Request) -> web.StreamResponse:
        if on_request:
            on_request(request.method, request.path)
        await delay()
        behaviour, rest = request.match_info["behaviour"], request.match_info["rest"]
        if behaviour in ("img", "tiny"):
            return image_response(rest)
        if behaviour == "no-head":
            if request.method == "HEAD":
                raise web.HTTPMethodNotAllowed("HEAD", ["GET"])
            return image_response(rest)
        if behaviour == "noai":
            return image_response(rest, **{"X-Robots-Tag": "noai, noimageai"})
        if behaviour == "redirect":
            hops, _, name = rest.partition("/")
            left = int(hops)
            if left <= 0:
                return image_response(name)
            raise web.HTTPFound(f"/redirect/{left - 1}/{name}")
        if behaviour == "missing":
            raise web.HTTPNotFound(text=ERROR_PAGE, content_type="text/html")
        if behaviour == "gone":
            raise web.HTTPGone(text=ERROR_PAGE, content_type="text/html")
        if behaviour == "error":
            raise web.HTTPInternalServerError(text="<html><body>Internal error</body></html>", content_type="text/html")
        if behaviour == "html":
            return web.Response(body=ERROR_PAGE.encode(), content_type="text/html")
        if behaviour == "html-as-image":
            return web.Response(body=ERROR_PAGE.encode(), headers={"Content-Type": "image/jpeg"})
        if behaviour == "slow":
            await asyncio.sleep(slow_s)
            return image_response(rest)
        if behaviour == "partial-file":  # a file cut short on the server: whole at the HTTP level
            data = images.get(rest, b"")
            return web.Response(body=data[: len(data) * 3 // 5], headers={"Content-Type": _content_type(rest)})
        if behaviour in ("truncated", "cut"):
            return await _cut_short(request, images.get(rest, b""), rest, announce=behaviour == "truncated")
        if behaviour == "to-placeholder":
            raise web.HTTPFound("/static/photo_unavailable.png")
        if behaviour == "placeholder":
            return web.Response(body=placeholder, content_type="image/png")
        raise web.HTTPNotFound(text=ERROR_PAGE, content_type="text/html")

    async def placeholder_file(request: web.Request) -> web.Response:
        if on_request:
            on_request(request.method, request.path)
        return web.Response(body=placeholder, content_type="image/png")

    app = web.Application()
    app.router.add_get("/static/photo_unavailable.png", placeholder_file)
    app.router.add_route("*", "/{behaviour}/{rest:.+}", image)
    return app


def _content_type(name: str) -> str:
    return CONTENT_TYPES.get(name.rpartition(".")[2], "application/octet-stream")


async def _cut_short(request: web.Request, data: bytes, name: str, *, announce: bool) -> web.StreamResponse:
    headers = {"Content-Type": _content_type(name)}
    if announce:
        headers["Content-Length"] = str(len(data))
    response = web.StreamResponse(headers=headers)
    await response.prepare(request)
    if request.method == "HEAD":
        return response
    await response.write(data[: len(data) // 2])
    request.transport.close()
    return response

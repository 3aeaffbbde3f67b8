"""A loopback server that answers like the Hugging Face hub for one gated dataset repository.

`/api/datasets/<repo>/tree/<revision>/<folder>` lists files as the hub does (`type`, `path`,
`size`, `lfs.oid` = sha256), `page_size` entries a page with a `Link: <...>; rel="next"` header;
`/datasets/<repo>/resolve/<revision>/<path>` serves a file with `X-Linked-ETag` (its sha256),
and, like a gated repository, answers 401 without a token or with an unknown one, and 403 to a
token whose account has not accepted the terms (`tokens` maps token -> accepted). A
`HttpResource` that sends `HF_TOKEN` to this loopback origin (plain http) stands in for the hub.
"""

import hashlib
import json
from pathlib import Path

from aiohttp import web

from mm_assets.defs.shared.resources import HttpResource
from mm_assets.fetch.http import FetchPolicy, credential_origin

REPO = "ILSVRC/imagenet-1k"


def hub_app(root: Path, *, repo: str = REPO, page_size: int = 2, gated: bool = True,
            tokens: dict[str, bool] | None = None, requests: list | None = None) -> web.Application:
    tokens = tokens or {}
    app = web.Application()

    def allowed(request: web.Request) -> int:
        if requests is not None:
            requests.append((request.path, request.headers.get("Authorization")))
        if not gated:
            return 200
        header = request.headers.get("Authorization", "")
        token = header.removeprefix("Bearer ") if header.startswith("Bearer ") else None
        if token is None or token not in tokens:
            return 401
        return 200 if tokens[token] else 403

    async def tree(request: web.Request) -> web.Response:
        folder = request.match_info["folder"]
        files = sorted(p for p in (root / folder).iterdir() if p.is_file())
        start = int(request.query.get("cursor", 0))
        entries = []
        for path in files[start:start + page_size]:
            data = path.read_bytes()
            entries.append({"type": "file", "oid": hashlib.sha1(data).hexdigest(), "size": len(data),
                            "path": f"{folder}/{path.name}",
                            "lfs": {"oid": hashlib.sha256(data).hexdigest(), "size": len(data), "pointerSize": 134}})
        headers = {}
        if start + page_size < len(files):
            headers["Link"] = f'<{request.url.with_query(cursor=start + page_size)}>; rel="next"'
        return web.json_response(entries, headers=headers, dumps=json.dumps)

    async def resolve(request: web.Request) -> web.StreamResponse:
        status = allowed(request)
        if status != 200:
            return web.Response(status=status, text="Access to this dataset is restricted")
        path = root / request.match_info["path"]
        if not path.is_file():
            return web.Response(status=404, text="Entry not found")
        data = path.read_bytes()
        return web.Response(body=data, headers={"X-Linked-ETag": f'"{hashlib.sha256(data).hexdigest()}"'})

    app.router.add_get(f"/api/datasets/{repo}/tree/main/{{folder}}", tree)
    app.router.add_get(f"/datasets/{repo}/resolve/main/{{path:.+}}", resolve)
    return app


class LoopbackHubHttp(HttpResource):
    """`HttpResource` that treats 127.0.0.1 as the hub's host: HF_TOKEN is sent there."""

    def policy(self, source_url=None) -> FetchPolicy:
        headers = ({credential_origin(source_url): {"Authorization": f"Bearer {self.hf_token}"}}
                   if self.hf_token and source_url else {})
        return FetchPolicy(allow_private=True, origin_headers=headers)

"""The Hugging Face hub: its `resolve/<revision>` URLs, its file listing API, and what a refusal means.

A hub source setting is a `resolve` URL (`https://huggingface.co/datasets/<org>/<name>/resolve/main`);
files are fetched below it like from any folder. A folder's file list comes from the hub's API
(`/api/datasets/<org>/<name>/tree/<revision>/<folder>`), read here with the same HTTP code and
address policy as every download (no second HTTP stack that would read its own settings), and
paginated as the hub paginates: a `Link: <...>; rel="next"` header. Each file entry gives its size
and, for an LFS file, its sha256, which the download is then checked against.

A gated repository (ImageNet) answers 401 without a token and 403 when the token's account has
not accepted its terms; `access_refused` turns either into a message that says what to do.
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import aiohttp

from mm_assets.fetch.http import (
    USER_AGENT,
    DownloadError,
    FetchPolicy,
    credential_origin,
    open_following_redirects,
    policy_session,
)

_RESOLVE = re.compile(r"^(?P<endpoint>https?://[^/]+(?:/.*?)??)/(?:(?P<kind>datasets|spaces)/)?"
                      r"(?P<repo>[^/]+/[^/]+)/resolve/(?P<revision>[^/]+)/?$")
_NEXT_LINK = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')
_REFUSED_STATUS = re.compile(r": HTTP (401|403)\b")
MAX_LISTING_PAGES = 1000


@dataclass(frozen=True)
class HubRepo:
    endpoint: str  # https://huggingface.co
    kind: str  # "datasets", "spaces" or "models"
    repo_id: str  # ILSVRC/imagenet-1k
    revision: str  # main

    @property
    def page_url(self) -> str:
        """Where a person reads the repository's card and accepts its terms."""
        prefix = "" if self.kind == "models" else f"/{self.kind}"
        return f"{self.endpoint}{prefix}/{self.repo_id}"

    def tree_url(self, folder: str) -> str:
        return f"{self.endpoint}/api/{self.kind}/{self.repo_id}/tree/{self.revision}/{folder.strip('/')}"


def parse_resolve_url(url: str) -> HubRepo | None:
    """The repository of a `.../<org>/<name>/resolve/<revision>` URL; None for any other URL."""
    match = _RESOLVE.match(url.strip())
    if not match:
        return None
    return HubRepo(match["endpoint"], match["kind"] or "models", match["repo"], match["revision"])


@dataclass(frozen=True)
class HubFile:
    path: str  # relative to the repository root: data/train-00000-of-00294.parquet
    size: int
    sha256: str | None  # an LFS file's sha256; None for a plain git file


class HubAccessError(DownloadError):
    """The hub refused access (401/403): the message says what to do; retrying will not help."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message, retryable=False)
        self.status = status


def access_refused(status: int, url: str, repo: HubRepo | None, *, token_set: bool,
                   token_sent: bool) -> HubAccessError:
    """What a 401/403 means for the user, given whether `HF_TOKEN` is set and was sent to that host."""
    host = urlsplit(url).hostname or url
    page = repo.page_url if repo else "the repository's page on the hub"
    accept = f"log in at {page}, accept the dataset's terms of access there"
    if not token_set:
        todo = (f"HF_TOKEN is not set: {accept}, create a read token at "
                "https://huggingface.co/settings/tokens and set HF_TOKEN to it")
    elif not token_sent:
        todo = (f"HF_TOKEN is set but is sent only to https://huggingface.co (port 443), not to {host}: "
                f"give {host} its own access, or set the source to the hub's https resolve URL")
    elif status == 401:
        todo = ("the token in HF_TOKEN was refused (mistyped, revoked or expired?): create a read "
                f"token at https://huggingface.co/settings/tokens, set HF_TOKEN to it, and {accept}")
    else:
        todo = (f"the account of the token in HF_TOKEN has no access yet: {accept} "
                "(with that account; gated datasets may also wait for an approval), then run again")
    return HubAccessError(f"{url}: HTTP {status}: access refused. {todo}", status)


def explain_refusal(exc: DownloadError, url: str, repo: HubRepo | None, policy: FetchPolicy, *,
                    token_set: bool) -> DownloadError:
    """A download's 401/403 as `access_refused` says it; any other error unchanged."""
    match = _REFUSED_STATUS.search(str(exc))
    if match is None or isinstance(exc, HubAccessError):
        return exc
    return access_refused(int(match.group(1)), url, repo, token_set=token_set,
                          token_sent=token_sent_to(url, policy))


def token_sent_to(url: str, policy: FetchPolicy) -> bool:
    return "Authorization" in policy.origin_headers.get(credential_origin(url), {})


async def _list_tree(repo: HubRepo, folder: str, policy: FetchPolicy, token_set: bool) -> list[HubFile]:
    files: list[HubFile] = []
    url: str | None = repo.tree_url(folder)
    headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
    pages = 0
    async with policy_session(policy) as session:
        while url is not None:
            pages += 1
            if pages > MAX_LISTING_PAGES:
                raise DownloadError(f"{repo.tree_url(folder)}: more than {MAX_LISTING_PAGES} pages")
            try:
                response, final_url, _ = await open_following_redirects(session, url, headers, policy)
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                raise DownloadError(f"{url}: {type(exc).__name__}: {exc}", retryable=True) from exc
            async with response:
                if response.status in (401, 403):
                    raise access_refused(response.status, url, repo, token_set=token_set,
                                         token_sent=token_sent_to(url, policy))
                if response.status != 200:
                    transient = response.status >= 500 or response.status in (408, 425, 429)
                    raise DownloadError(f"{url}: HTTP {response.status} {response.reason}", retryable=transient)
                try:
                    body = await response.read()
                except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                    raise DownloadError(f"{url}: the connection broke: {exc}", retryable=True) from exc
                try:
                    entries = json.loads(body)
                except ValueError as exc:  # served whole and malformed: the same again next time
                    raise DownloadError(f"{url}: the hub's file list is not JSON: {exc}") from exc
                link = _NEXT_LINK.search(response.headers.get("Link", ""))
            if not isinstance(entries, list):
                raise DownloadError(f"{url}: the hub's file list is not a list: {str(entries)[:200]}")
            for entry in entries:
                if entry.get("type") == "file":
                    lfs = entry.get("lfs") or {}
                    files.append(HubFile(entry["path"], int(entry.get("size", 0)), lfs.get("oid")))
            url = urljoin(final_url, link.group(1)) if link else None
    return files


def list_hub_folder(repo: HubRepo, folder: str, *, policy: FetchPolicy = FetchPolicy(),
                    token_set: bool = False) -> list[HubFile]:
    """Every file directly in `folder` of the repository at its revision, in the hub's order."""
    return asyncio.run(_list_tree(repo, folder, policy, token_set))

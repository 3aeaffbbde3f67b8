"""Settings as small Dagster resources, one concern each, bound from environment variables.

Every field is bound with `EnvVar` when its variable is set (so the UI shows where a value came
from) and keeps its default otherwise. Values are checked when a step initializes the resource,
before any work starts; a bad value fails with the variable, the value and what it accepts.
The variables and their defaults are the table in docs/settings.md.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar, Optional
from urllib.parse import urlsplit

import dagster as dg

from mm_assets.common.parallel import default_workers
from mm_assets.fetch.http import FetchPolicy, credential_origin
from mm_assets.fetch.sources import unsupported_source
from mm_assets.formats.archive_limits import (
    DEFAULT_MAX_MEMBER_BYTES,
    DEFAULT_MAX_RATIO,
    DEFAULT_MAX_TEXT_MEMBER_BYTES,
    ArchiveLimits,
)
from mm_assets.judge import DEFAULT_FAIRSEQ_PYTHON
from mm_assets.layout import DataLayout

from .data_root import ensure_data_root

TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("", "0", "false", "no", "off")
HUB_HOST = "huggingface.co"
CONNECT_TIMEOUT_S = 5.0  # for crawls (MM_HTTP_TIMEOUT_S is the total)
MAX_WORKERS = 1024  # more processes than any machine here has cores is a typo, not a plan


class SettingError(ValueError):
    """A setting's value is not one it accepts."""


def setting_error(variable: str, value: Any, accepts: str) -> SettingError:
    return SettingError(f"{variable}={value!r}: expected {accepts}")


class EnvResource(dg.ConfigurableResource):
    """A resource whose fields come from environment variables (`ENV`: variable -> field)."""

    ENV: ClassVar[dict[str, str]] = {}

    @classmethod
    def from_env(cls, environ: Optional[dict[str, str]] = None):
        """Bind every variable that is set, even to an empty value (which is then refused)."""
        environ = os.environ if environ is None else environ
        return cls(**{field: dg.EnvVar(name) for name, field in cls.ENV.items() if name in environ})

    def variable_of(self, field: str) -> str:
        return next(name for name, f in self.ENV.items() if f == field)

    def check_values(self) -> None:
        """Raise `SettingError` naming the variable of the first bad value."""

    def check_sources(self) -> None:
        """Every `*_URL` setting is http(s)://, file:// or a local path (not ftp://, s3://...)."""
        for variable, field in self.ENV.items():
            value = getattr(self, field)
            if variable.endswith("_URL") and isinstance(value, str) and (problem := unsupported_source(value)):
                raise setting_error(variable, value, f"an http(s):// URL, a file:// URL or a local path ({problem})")

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self.check_values()
        self.check_sources()



RAW_FILE_MODES = ("release", "keep")


class StorageResource(EnvResource):
    """Where every artifact lives (the data root and the paths under it), and whether raw upstream
    files stay once what was made from them is verified (MM_RAW_FILES, docs/footprint.md).

    A step checks that its data root is the one this instance's earlier steps wrote
    (`data_root.ensure_data_root`, docs/deployment.md) before it does anything else.
    """

    ENV: ClassVar[dict[str, str]] = {"MM_DATA_ROOT": "data_root", "MM_RAW_FILES": "raw_files"}
    data_root: str = "./data"
    raw_files: str = "release"

    @property
    def layout(self) -> DataLayout:
        return DataLayout(Path(self.data_root).resolve())

    @property
    def release_raw(self) -> bool:
        """Whether a raw file goes once the outputs made from it are committed and verified."""
        return self.raw_files.strip().lower() == "release"

    def check_values(self) -> None:
        if not self.data_root.strip():
            raise setting_error("MM_DATA_ROOT", self.data_root, "a folder path (default ./data)")
        if self.raw_files.strip().lower() not in RAW_FILE_MODES:
            raise setting_error("MM_RAW_FILES", self.raw_files,
                                "release (default: raw files go once their outputs are verified) or keep")

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        super().setup_for_execution(context)
        if context.instance is not None:
            ensure_data_root(context.instance, self.layout.root, context.run.run_id if context.run else None)


class HttpResource(EnvResource):
    """What downloads may do: loopback and private addresses only when allowed, link-local and
    cloud metadata addresses only when allowed apart; the hub token to the hub only, over https;
    how long one image or URL check may take (crawls)."""

    ENV: ClassVar[dict[str, str]] = {"MM_HTTP_ALLOW_PRIVATE": "allow_private",
                                     "MM_HTTP_ALLOW_LINK_LOCAL": "allow_link_local", "HF_TOKEN": "hf_token",
                                     "MM_HTTP_TIMEOUT_S": "timeout_s"}
    allow_private: str = ""
    allow_link_local: str = ""
    hf_token: Optional[str] = None
    timeout_s: str = "20"

    def check_values(self) -> None:
        for variable, value, what in (
            ("MM_HTTP_ALLOW_PRIVATE", self.allow_private, "loopback and private addresses"),
            ("MM_HTTP_ALLOW_LINK_LOCAL", self.allow_link_local, "link-local and cloud metadata addresses"),
        ):
            if value.strip().lower() not in TRUE_WORDS + FALSE_WORDS:
                raise setting_error(variable, value, f"1/true/yes/on to allow {what}, or 0/false/no/off/unset")
        self.total_timeout_s  # noqa: B018 - raises on a bad value

    @property
    def total_timeout_s(self) -> float:
        """Total seconds for one image or URL check, every redirect and the body included."""
        try:
            value = float(self.timeout_s)
        except ValueError:
            value = float("nan")
        if not (0 < value <= 3600):
            raise setting_error("MM_HTTP_TIMEOUT_S", self.timeout_s, "seconds, a number above 0 and at most 3600")
        return value

    @property
    def connect_timeout_s(self) -> float:
        return min(CONNECT_TIMEOUT_S, self.total_timeout_s)

    def crawl_policy(self) -> FetchPolicy:
        """The address policy for crawls of many URLs (no token: those hosts are not the hub)."""
        return FetchPolicy(allow_private=self.private_allowed, allow_link_local=self.link_local_allowed,
                           connect_timeout_s=self.connect_timeout_s, read_timeout_s=self.total_timeout_s)

    @property
    def private_allowed(self) -> bool:
        return self.allow_private.strip().lower() in TRUE_WORDS

    @property
    def link_local_allowed(self) -> bool:
        return self.allow_link_local.strip().lower() in TRUE_WORDS

    def policy(self, source_url: Optional[str] = None) -> FetchPolicy:
        """The policy for downloads from `source_url`: `HF_TOKEN` goes with them only when that is
        the hub itself over https on port 443 (`https://huggingface.co` or a subdomain)."""
        origin_headers: dict[str, dict[str, str]] = {}
        if self.hf_token and source_url:
            host = urlsplit(source_url).hostname or ""
            origin = credential_origin(source_url)
            if (host == HUB_HOST or host.endswith("." + HUB_HOST)) and origin == f"https://{host}:443":
                origin_headers[origin] = {"Authorization": f"Bearer {self.hf_token}"}
        return FetchPolicy(allow_private=self.private_allowed, allow_link_local=self.link_local_allowed,
                           origin_headers=origin_headers)


class ComputeResource(EnvResource):
    """How many worker processes a step may use."""

    ENV: ClassVar[dict[str, str]] = {"MM_WORKERS": "workers"}
    workers: str = ""

    def check_values(self) -> None:
        text = self.workers.strip()
        if text and not (text.isascii() and text.isdigit() and 0 < int(text) <= MAX_WORKERS):
            raise setting_error("MM_WORKERS", self.workers,
                                f"a positive integer at most {MAX_WORKERS}, or unset to mean all cores")

    @property
    def worker_count(self) -> int:
        text = self.workers.strip()
        return int(text) if text else default_workers()


class FairseqJudgeResource(EnvResource):
    """The interpreter of `.venv-fairseq`, where fairseq's own code judges what was written."""

    ENV: ClassVar[dict[str, str]] = {"MM_FAIRSEQ_PYTHON": "python"}
    python: str = DEFAULT_FAIRSEQ_PYTHON

    def interpreter(self) -> Path:
        path = Path(self.python)
        if not path.exists():
            raise FileNotFoundError(
                f"MM_FAIRSEQ_PYTHON={self.python!r}: no such interpreter; run `make venv-fairseq` "
                "or point MM_FAIRSEQ_PYTHON at a Python with fairseq-fixed and dagster-pipes")
        return path


class ArchiveLimitsResource(EnvResource):
    """The caps on what one archive member may inflate to (zip and xz bombs are refused)."""

    ENV: ClassVar[dict[str, str]] = {"MM_ARCHIVE_MAX_MEMBER_BYTES": "max_member_bytes",
                                     "MM_ARCHIVE_MAX_TEXT_MEMBER_BYTES": "max_text_member_bytes",
                                     "MM_ARCHIVE_MAX_RATIO": "max_ratio"}
    max_member_bytes: str = str(DEFAULT_MAX_MEMBER_BYTES)
    max_text_member_bytes: str = str(DEFAULT_MAX_TEXT_MEMBER_BYTES)
    max_ratio: str = f"{DEFAULT_MAX_RATIO:g}"

    def check_values(self) -> None:
        self.limits  # noqa: B018 - raises on a bad value

    @property
    def limits(self) -> ArchiveLimits:
        values = []
        for field, kind in (("max_member_bytes", int), ("max_text_member_bytes", int), ("max_ratio", float)):
            text = getattr(self, field).strip()
            try:
                value = kind(text)
            except ValueError:
                value = 0
            if not (0 < value < 1 << 50):
                raise setting_error(self.variable_of(field), getattr(self, field),
                                    "a positive whole number of bytes" if kind is int else "a positive ratio such as 100")
            values.append(value)
        return ArchiveLimits(*values)


def shared_resources() -> dict[str, Any]:
    """The resources every dataset's definitions use, bound from the environment."""
    return {
        "storage": StorageResource.from_env(),
        "http": HttpResource.from_env(),
        "compute": ComputeResource.from_env(),
        "archive_limits": ArchiveLimitsResource.from_env(),
        "judge": FairseqJudgeResource.from_env(),
        "pipes_subprocess_client": dg.PipesSubprocessClient(),
    }

"""Settings as a Dagster resource: every field comes from an environment variable (DESIGN.md §3)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Optional
from urllib.parse import urlsplit

import dagster as dg

from mm_assets.core.gpt2_bpe import OFFICIAL_GPT2_BPE_URL
from mm_assets.core.http_fetch import FetchPolicy
from mm_assets.core.layout import DataLayout
from mm_assets.core.parallel import default_workers
from mm_assets.core.slices import parse_slice_spec

OWT_HUB_URL = "https://huggingface.co/datasets/Skylion007/openwebtext/resolve/main"
REPO_ROOT = Path(__file__).resolve().parents[1]


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


class MMSettings(dg.ConfigurableResource):
    """Where data lives, where it comes from, and how hard the pipeline may work."""

    data_root: str = "./data"
    gpt2_bpe_url: str = OFFICIAL_GPT2_BPE_URL
    owt_url: str = OWT_HUB_URL
    owt_train_slices: str = "0-4"
    owt_valid_slices: str = "5"
    http_allow_private: str = ""
    hf_token: Optional[str] = None
    workers: int = 0
    fairseq_python: str = str(REPO_ROOT / ".venv-fairseq" / "bin" / "python")

    @property
    def layout(self) -> DataLayout:
        return DataLayout(Path(self.data_root).resolve())

    @property
    def worker_count(self) -> int:
        return self.workers if self.workers > 0 else default_workers()

    def train_slices(self) -> list[int]:
        return parse_slice_spec(self.owt_train_slices)

    def valid_slices(self) -> list[int]:
        return parse_slice_spec(self.owt_valid_slices)

    def fetch_policy(self, source_url: str | None = None) -> FetchPolicy:
        """Downloads refuse private addresses unless allowed; the hub token goes to the hub only."""
        host_headers: dict[str, dict[str, str]] = {}
        if self.hf_token and source_url:
            host = urlsplit(source_url).hostname or ""
            if host == "huggingface.co" or host.endswith(".huggingface.co"):
                host_headers[host] = {"Authorization": f"Bearer {self.hf_token}"}
        return FetchPolicy(allow_private=_truthy(self.http_allow_private), host_headers=host_headers)


# Environment variable -> resource field. Unset variables keep the field's default.
SETTINGS_ENV = {
    "MM_DATA_ROOT": "data_root",
    "MM_GPT2_BPE_URL": "gpt2_bpe_url",
    "MM_OWT_URL": "owt_url",
    "MM_OWT_TRAIN_SLICES": "owt_train_slices",
    "MM_OWT_VALID_SLICES": "owt_valid_slices",
    "MM_HTTP_ALLOW_PRIVATE": "http_allow_private",
    "HF_TOKEN": "hf_token",
    "MM_FAIRSEQ_PYTHON": "fairseq_python",
}


def settings_from_env() -> MMSettings:
    """Bind each set variable with `EnvVar`, so the UI shows where a value came from."""
    kwargs: dict[str, Any] = {
        field: dg.EnvVar(name) for name, field in SETTINGS_ENV.items() if os.environ.get(name)
    }
    if os.environ.get("MM_WORKERS"):
        kwargs["workers"] = dg.EnvVar.int("MM_WORKERS")
    return MMSettings(**kwargs)

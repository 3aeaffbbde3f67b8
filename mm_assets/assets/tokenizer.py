"""The GPT-2 BPE files every text asset encodes with."""

import dagster as dg

from mm_assets.core.gpt2_bpe import fetch_gpt2_bpe
from mm_assets.resources import MMSettings

from .fetching import retry_only_transient_download_errors


@dg.asset(
    key="gpt2_bpe",
    group_name="tokenizer",
    kinds={"json", "text"},
    retry_policy=dg.RetryPolicy(max_retries=3, delay=10, backoff=dg.Backoff.EXPONENTIAL),
    description="encoder.json, vocab.bpe and fairseq's dict.txt, fetched from MM_GPT2_BPE_URL "
    "(a URL or a local folder) and each verified against its pinned sha256.",
)
def gpt2_bpe(context: dg.AssetExecutionContext, settings: MMSettings) -> dg.MaterializeResult:
    target = settings.layout.gpt2_bpe_dir
    with retry_only_transient_download_errors():
        report = fetch_gpt2_bpe(
            settings.gpt2_bpe_url, target, policy=settings.fetch_policy(settings.gpt2_bpe_url),
            log=context.log.info,
        )
    metadata: dict = {"path": dg.MetadataValue.path(str(target)), "source": settings.gpt2_bpe_url}
    for name, info in report.items():
        metadata[f"{name} sha256"] = info["sha256"]
        metadata[f"{name} bytes"] = info["bytes"]
    metadata["fetched"] = ", ".join(n for n, i in report.items() if i["fetched"]) or "none (all verified in place)"
    return dg.MaterializeResult(metadata=metadata)

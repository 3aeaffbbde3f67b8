"""The GPT-2 BPE files every text asset encodes with."""

import dagster as dg

from mm_assets.defs.shared.resources import HttpResource, StorageResource
from mm_assets.defs.shared.retry import retry_only_what_can_heal
from mm_assets.text.gpt2_bpe import fetch_gpt2_bpe

from .resources import Gpt2BpeSource


@dg.asset(
    key="gpt2_bpe",
    group_name="tokenizer",
    kinds={"json", "text"},
    description="encoder.json, vocab.bpe and fairseq's dict.txt, fetched from MM_GPT2_BPE_URL "
    "(a URL or a local folder) and each verified against its pinned sha256 "
    "(docs/data-rules.md, 'GPT-2 BPE files').",
)
@retry_only_what_can_heal
def gpt2_bpe(
    context: dg.AssetExecutionContext, storage: StorageResource, http: HttpResource,
    gpt2_bpe_source: Gpt2BpeSource,
) -> dg.MaterializeResult:
    target = storage.layout.gpt2_bpe_dir
    source = gpt2_bpe_source.url
    report = fetch_gpt2_bpe(source, target, policy=http.policy(source), log=context.log.info)
    metadata: dict = {"path": dg.MetadataValue.path(str(target)), "source": source}
    for name, info in report.items():
        metadata[f"{name} sha256"] = info["sha256"]
        metadata[f"{name} bytes"] = info["bytes"]
    metadata["fetched"] = ", ".join(n for n, i in report.items() if i["fetched"]) or "none (all verified in place)"
    return dg.MaterializeResult(metadata=metadata)

"""The manifest's checks: those of every pairs table, and whether the CC3M subset is in it."""

import dagster as dg

from mm_assets.defs.shared.metadata import check_result
from mm_assets.defs.shared.pairs_checks import pairs_table_checks

pair_manifest_checks = pairs_table_checks("pair_manifest", lambda layout: layout.pairs.manifest)


@dg.asset_check(
    asset="pair_manifest",
    name="cc3m_included",
    description="The manifest holds the CC3M subset's pairs (a warning while cc3m_subset is not "
    "materialized: the manifest was built from COCO and VG alone).",
)
def cc3m_included(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
    event = context.instance.get_latest_materialization_event(dg.AssetKey("pair_manifest"))
    if event is None or event.asset_materialization is None:
        return check_result(["pair_manifest was never materialized"])
    metadata = event.asset_materialization.metadata
    included = bool(metadata["cc3m_included"].value) if "cc3m_included" in metadata else False
    pairs = metadata["pairs_cc3m"].value if "pairs_cc3m" in metadata else 0
    return dg.AssetCheckResult(
        passed=included and pairs > 0,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"cc3m_pairs": pairs, "problems": metadata["cc3m"].value if not included else
                  ("none" if pairs else "the CC3M subset holds no pairs")},
    )

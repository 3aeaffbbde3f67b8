"""`cc3m_availability_recheck`: every registered shard checked again on a schedule (link rot).

One run per shard, each a new dated snapshot. `cc3m_availability` runs in the pool `cc3m_check`,
not the image cache's `cc3m_crawl`, and the runs have a lower priority: the 332 runs of a full
index wait in the queue until a check slot is free and never hold the image cache's slots or go
before its runs. The cron comes from `MM_CC3M_RECHECK_CRON` when the code location loads (UTC).
"""

import os

import dagster as dg

from mm_assets.defs.shared.resources import setting_error

from .partitions import CC3M_SHARDS

RECHECK_CRON_VARIABLE = "MM_CC3M_RECHECK_CRON"
DEFAULT_RECHECK_CRON = "0 4 * * 1"  # Mondays, 04:00 UTC
RECHECK_PRIORITY = "-1"  # below a run launched by hand or a backfill (0): the image cache goes first

cc3m_availability_job = dg.define_asset_job(
    "cc3m_availability_job", selection=dg.AssetSelection.assets("cc3m_availability"),
    description="Check one shard's URLs again (a new dated snapshot of cc3m_availability).",
)


def recheck_schedule_from_env(environ: dict[str, str] | None = None) -> dg.ScheduleDefinition:
    """The schedule with the cron of `MM_CC3M_RECHECK_CRON`; a bad value names the variable."""
    cron = (os.environ if environ is None else environ).get(RECHECK_CRON_VARIABLE, DEFAULT_RECHECK_CRON)
    try:
        if len(cron.split()) != 5:
            raise ValueError(cron)
        return make_recheck_schedule(cron)
    except (dg.DagsterInvalidDefinitionError, ValueError):
        raise setting_error(RECHECK_CRON_VARIABLE, cron,
                            "a cron expression of five fields, e.g. '0 4 * * 1' (Mondays 04:00 UTC)") from None


def make_recheck_schedule(cron: str) -> dg.ScheduleDefinition:
    @dg.schedule(
        name="cc3m_availability_recheck",
        cron_schedule=cron,
        job=cc3m_availability_job,
        execution_timezone="UTC",
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=f"Re-check every registered CC3M shard ({RECHECK_CRON_VARIABLE}={cron!r}, UTC): "
        "one run of cc3m_availability per shard, each a new dated snapshot.",
    )
    def cc3m_availability_recheck(context: dg.ScheduleEvaluationContext):
        shards = sorted(context.instance.get_dynamic_partitions(CC3M_SHARDS))
        if not shards:
            return dg.SkipReason(f"no shards registered in {CC3M_SHARDS}: materialize cc3m_index first")
        tick = context.scheduled_execution_time.strftime("%Y%m%dT%H%M%SZ") if context.scheduled_execution_time else "now"
        return [dg.RunRequest(run_key=f"{tick}-{shard}", partition_key=shard,
                              tags={"cc3m/recheck": tick, "dagster/priority": RECHECK_PRIORITY}) for shard in shards]

    return cc3m_availability_recheck

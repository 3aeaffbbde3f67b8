"""`cc3m_availability_recheck`: a tick asks for one run of cc3m_availability per registered shard;
its cron comes from MM_CC3M_RECHECK_CRON."""

import re
from datetime import datetime, timezone

import dagster as dg
import pytest

from mm_assets.definitions import defs
from mm_assets.defs.cc3m.schedules import DEFAULT_RECHECK_CRON, recheck_schedule_from_env
from mm_assets.defs.shared.resources import SettingError


def _tick(instance):
    schedule = defs.resolve_schedule_def("cc3m_availability_recheck")
    context = dg.build_schedule_context(instance=instance, repository_def=defs.get_repository_def(),
                                        scheduled_execution_time=datetime(2026, 11, 30, 4, 0, tzinfo=timezone.utc))
    return schedule, schedule.evaluate_tick(context)


def test_a_tick_requests_a_run_for_every_registered_shard():
    with dg.instance_for_test() as instance:
        shards = [f"{n:05d}" for n in range(7)]
        instance.add_dynamic_partitions("cc3m_shards", shards)
        schedule, data = _tick(instance)
        requests = data.run_requests
        assert sorted(request.partition_key for request in requests) == shards
        assert len({request.run_key for request in requests}) == len(shards)
        assert all(request.run_key.startswith("20261130T040000Z-") for request in requests)
        assert all(request.tags["dagster/priority"] == "-1" for request in requests)  # after the image cache's
        job = defs.resolve_job_def(schedule.job_name)
        assert [key.to_user_string() for key in job.asset_layer.executable_asset_keys] == ["cc3m_availability"]
        valid = set(job.partitions_def.get_partition_keys(dynamic_partitions_store=instance))
        assert {request.partition_key for request in requests} <= valid


def test_no_shards_registered_skips_with_the_reason():
    with dg.instance_for_test() as instance:
        _, data = _tick(instance)
        assert not data.run_requests and "materialize cc3m_index first" in data.skip_message


def test_cron_comes_from_the_environment_and_a_bad_one_names_the_variable():
    schedule = defs.resolve_schedule_def("cc3m_availability_recheck")
    assert schedule.cron_schedule == DEFAULT_RECHECK_CRON == "0 4 * * 1"
    assert schedule.execution_timezone == "UTC" and schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    assert recheck_schedule_from_env({"MM_CC3M_RECHECK_CRON": "30 2 1 * *"}).cron_schedule == "30 2 1 * *"
    for bad in ("weekly", "0 4 * *", "61 4 * * 1"):
        with pytest.raises(SettingError, match=re.escape(f"MM_CC3M_RECHECK_CRON='{bad}': expected a cron expression")):
            recheck_schedule_from_env({"MM_CC3M_RECHECK_CRON": bad})

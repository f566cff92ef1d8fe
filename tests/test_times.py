"""Times as Kubernetes writes them, read and written by arena_run.objects.times for every layer."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, strategies as st

from arena_run.objects.phase import finished_at
from arena_run.objects.times import format_time, parse_time

UTC = dt.timezone.utc


def test_the_api_servers_and_the_cris_spellings_read_alike():
    at = dt.datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_time("2026-05-01T12:00:00Z") == at
    assert parse_time("2026-05-01T12:00:00.123456789Z") == at.replace(microsecond=123456)  # past microseconds: cut
    assert parse_time("2026-05-01T14:00:00+02:00") == at
    assert parse_time("2026-05-01T12:00:00") == at  # no zone: UTC, so it compares with the others
    assert parse_time("") is None and parse_time(None) is None


@given(st.datetimes(min_value=dt.datetime(1970, 1, 2), max_value=dt.datetime(9999, 1, 1), timezones=st.just(UTC)))
def test_format_then_parse_is_the_time_to_the_second(moment):
    assert parse_time(format_time(moment)) == moment.replace(microsecond=0)
    assert format_time(moment).endswith("Z") and len(format_time(moment)) == 20


def test_a_jobs_finish_time_is_its_completion_else_its_last_final_condition():
    assert finished_at({"status": {"completionTime": "2026-05-01T12:00:00Z"}}) == dt.datetime(2026, 5, 1, 12, tzinfo=UTC)
    train_job = {"status": {"conditions": [
        {"type": "Created", "status": "True", "lastTransitionTime": "2026-05-01T13:00:00Z"},
        {"type": "Complete", "status": "True", "lastTransitionTime": "2026-05-01T12:30:00Z"}]}}
    assert finished_at(train_job) == dt.datetime(2026, 5, 1, 12, 30, tzinfo=UTC)
    assert finished_at({"status": {"conditions": [{"type": "Running", "status": "True"}]}}) is None
    assert finished_at(None) is None

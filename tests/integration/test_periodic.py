"""The scheduler: each registered periodic job runs once per period, whatever the number of
schedulers; a failing job does not stop the others."""

from __future__ import annotations

import datetime as dt
import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from yingshang.core import periodic
from yingshang.core.models import PeriodicRun


@pytest.mark.django_db
def test_jobs_run_once_per_period(county) -> None:  # type: ignore[no-untyped-def]
    assert {"appeals.sweep", "services.sweep"} <= set(periodic.JOBS)
    now = timezone.now()
    first = periodic.run_due(now)
    assert first["appeals.sweep"]["ok"] and first["services.sweep"]["ok"]
    assert periodic.run_due(now + dt.timedelta(seconds=60)) == {}  # still within the period
    later = periodic.run_due(now + dt.timedelta(seconds=601))
    assert "appeals.sweep" in later
    row = PeriodicRun.objects.get(name="appeals.sweep")
    assert row.last_finished and row.last_seconds is not None and "ok" in row.last_result


@pytest.mark.django_db
def test_a_failing_job_does_not_stop_the_others(county, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    def boom() -> None:
        raise RuntimeError("gateway down")

    monkeypatch.setitem(periodic.JOBS, "test.boom", periodic.Job("test.boom", 60, boom))
    out = StringIO()
    call_command("scheduler", "--once", stdout=out)
    done = json.loads(out.getvalue())
    assert done["test.boom"]["ok"] is False and "gateway down" in done["test.boom"]["error"]
    assert done["appeals.sweep"]["ok"] is True

"""Periodic jobs (the sweeps) and the scheduler that runs them.

Modules register a job with ``register(name, every_seconds, fn)`` in their ``AppConfig.ready``.
``yingshang scheduler`` calls ``run_due()`` in a loop: a job runs when its ``PeriodicRun`` row says it
is due, and the row is claimed with ``SELECT … FOR UPDATE SKIP LOCKED`` (PostgreSQL) before the job runs,
so several schedulers on several machines never run a job twice in one period.  The jobs themselves are
idempotent, so a crash between claiming and finishing only delays the next run."""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

log = logging.getLogger("yingshang.periodic")


@dataclass(frozen=True)
class Job:
    name: str
    every: int  # seconds
    fn: Callable[[], Any]


JOBS: dict[str, Job] = {}


def register(name: str, every_seconds: int, fn: Callable[[], Any]) -> None:
    JOBS[name] = Job(name, every_seconds, fn)


def run_due(now: dt.datetime | None = None) -> dict[str, Any]:
    """Run every job that is due; returns what each one that ran returned."""
    from .models import PeriodicRun

    now = now or timezone.now()
    done: dict[str, Any] = {}
    for job in JOBS.values():
        PeriodicRun.objects.get_or_create(name=job.name)
        with transaction.atomic():
            skip = connection.features.has_select_for_update_skip_locked
            row = PeriodicRun.objects.select_for_update(skip_locked=skip).filter(name=job.name).first()
            if row is None or (row.last_started and row.last_started > now - dt.timedelta(seconds=job.every)):
                continue  # another scheduler holds it, or it ran recently
            row.last_started = now
            row.save(update_fields=["last_started"])
        started = time.monotonic()
        try:
            result = job.fn()
            outcome = {"ok": True, "result": result}
        except Exception as exc:  # noqa: BLE001 - one failing job must not stop the others
            log.exception("periodic job %s failed", job.name)
            outcome = {"ok": False, "error": str(exc)[:300]}
        PeriodicRun.objects.filter(name=job.name).update(
            last_finished=timezone.now(), last_seconds=round(time.monotonic() - started, 3),
            last_result=str(outcome)[:500])
        done[job.name] = outcome
    return done

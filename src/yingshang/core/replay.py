"""Playing demo history through the real services at past moments (appeals, service cases, policies).

A history is a heap of ``(when, seq, step, obj)`` steps; ``replay`` pops them in time order up to
``end``, moves the frozen clock to each (time-machine), runs one transaction per simulated day and each
step in its own savepoint, and counts the steps a service refuses instead of stopping."""

from __future__ import annotations

import datetime as dt
import heapq
import itertools
from collections import Counter
from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.utils import timezone

from .errors import Conflict, NotFound, NotPermitted, ValidationFailed

REFUSALS = (Conflict, NotPermitted, ValidationFailed, NotFound)


class Queue:
    def __init__(self) -> None:
        self.heap: list[tuple[dt.datetime, int, str, Any]] = []
        self.seq = itertools.count()

    def at(self, when: dt.datetime, step: str, obj: Any = None) -> None:
        heapq.heappush(self.heap, (when, next(self.seq), step, obj))


def moment(day: dt.date, hour: float) -> dt.datetime:
    """``hour`` (e.g. 9.5) on ``day`` in the current time zone."""
    h = int(hour)
    return dt.datetime(day.year, day.month, day.day, h, int((hour - h) * 60), tzinfo=timezone.get_current_timezone())


def replay(heap: list[tuple[dt.datetime, int, str, Any]], *, end: dt.datetime, traveller: Any,
           run: Callable[[str, Any, dt.datetime], None], skipped: Counter[str],
           on_new_day: Callable[[dt.date], None] | None = None) -> None:
    day_open: dt.date | None = None
    atomic: Any = None
    try:
        while heap and heap[0][0] <= end:
            when, _seq, step, obj = heapq.heappop(heap)
            day = timezone.localtime(when).date()
            if day != day_open:
                if atomic is not None:
                    atomic.__exit__(None, None, None)
                atomic = transaction.atomic()
                atomic.__enter__()
                day_open = day
                if on_new_day is not None:
                    on_new_day(day)
            traveller.move_to(when)
            try:  # a refusal leaves nothing half done
                with transaction.atomic():
                    run(step, obj, when)
            except REFUSALS as exc:
                skipped[f"{step}: {type(exc).__name__}: {exc}"[:160]] += 1
    except BaseException as exc:
        if atomic is not None:
            atomic.__exit__(type(exc), exc, exc.__traceback__)
        raise
    if atomic is not None:
        atomic.__exit__(None, None, None)

"""Fold an appeal's event rows into its ``AppealStat`` row, the table the figures count.

``fold`` is the one place that says what each kind of event means for the figures; it runs when
an event is written (``apply``, same transaction) and when the table is rebuilt from the events
(``rebuild``), so the two can never disagree.  See ``figures.py`` for the formulas."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone

from yingshang.core import workdays

SATISFIED = ("satisfied", "basic")  # Appeal.Rating.SATISFIED / BASIC


def _day(at: dt.datetime) -> dt.date:
    return timezone.localtime(at).date()


def township_of(region: Any) -> int | None:
    """The township of a region: a village's parent, else the region itself."""
    if region is None:
        return None
    return region.parent_id if region.level == "village" else region.pk


def fold(stat: Any, ev: Any) -> None:
    """Apply one event (kind, at, to_status, data, department_id) to a stat row in memory."""
    kind, day, data = ev.kind, _day(ev.at), ev.data or {}
    if kind == "submit":
        stat.received_on = day
    elif kind == "dispatch":
        stat.department_id = data.get("lead_id")
    elif kind == "return":
        stat.department_id = None
    elif kind == "sign":
        if data.get("on_time"):
            stat.signed_in_time_on = day
    elif kind == "contact":
        if data.get("first") and data.get("on_time"):
            stat.contacted_in_time_on = day
    elif kind == "reply":
        stat.last_result = data.get("result", "")
        if data.get("on_time") is False:
            stat.late_reply = True
    elif kind == "reopen":
        stat.reopened_on = day
    elif kind == "merge":
        stat.merged = True
    closing = kind in ("review_close", "close_unrated") or (kind == "rate" and ev.to_status == "closed")
    if closing:
        stat.closed_on = day
        stat.closed_on_time = not stat.late_reply
        stat.resolved = stat.last_result == "resolved"
        stat.rated = kind != "close_unrated"
        stat.unrated = kind == "close_unrated"
        stat.satisfied = kind == "rate" and data.get("rating") in SATISFIED
        stat.close_workdays = workdays.between(stat.received_on, day)[0] if stat.received_on else None
    days = [d for d in (stat.received_on, stat.signed_in_time_on, stat.contacted_in_time_on, stat.closed_on,
                        stat.reopened_on) if d is not None]
    stat.last_on = max(days) if days else None


FIELDS = ["department_id", "merged", "received_on", "signed_in_time_on", "contacted_in_time_on", "closed_on",
          "reopened_on", "late_reply", "last_result", "closed_on_time", "resolved", "satisfied", "rated", "unrated",
          "close_workdays", "last_on"]


def apply(appeal: Any, ev: Any) -> None:
    """Called by the services for every event they write, inside their transaction."""
    from .models import AppealStat

    if ev.kind == "submit":
        stat = AppealStat(appeal=appeal, category_id=appeal.category_id, channel=appeal.channel,
                          township_id=township_of(appeal.enterprise.region))
        fold(stat, ev)
        stat.save(force_insert=True)
        return
    stat = AppealStat.objects.select_for_update().get(appeal=appeal)
    before = [getattr(stat, f) for f in FIELDS]
    fold(stat, ev)
    changed = [f for f, b in zip(FIELDS, before, strict=True) if getattr(stat, f) != b]
    if changed:
        stat.save(update_fields=[f.removesuffix("_id") for f in changed])


def create_many(pairs: list[tuple[Any, Any]]) -> None:
    """The stat rows of newly submitted appeals (``appeal.enterprise.region`` loaded)."""
    from .models import AppealStat

    rows = []
    for appeal, ev in pairs:
        stat = AppealStat(appeal=appeal, category_id=appeal.category_id, channel=appeal.channel,
                          township_id=township_of(appeal.enterprise.region))
        fold(stat, ev)
        rows.append(stat)
    AppealStat.objects.bulk_create(rows)


def apply_many(pairs: list[tuple[Any, Any]]) -> None:
    """``apply`` for many (appeal or appeal id, event) pairs of one bulk step (never submissions)."""
    from .models import AppealStat

    ids = [a if isinstance(a, int) else a.pk for a, _e in pairs]
    stats = {s.pk: s for s in AppealStat.objects.select_for_update().filter(appeal__in=ids)}
    changed: set[str] = set()
    for pk, (_appeal, ev) in zip(ids, pairs, strict=True):
        stat = stats[pk]
        before = [getattr(stat, f) for f in FIELDS]
        fold(stat, ev)
        changed.update(f for f, b in zip(FIELDS, before, strict=True) if getattr(stat, f) != b)
    if not changed:
        return
    # one UPDATE per distinct set of new values (a sweep step closes thousands of appeals with a few
    # dozen different outcomes), not a CASE per row
    fields = sorted(changed)
    groups: dict[tuple[Any, ...], list[int]] = {}
    for pk, stat in stats.items():
        groups.setdefault(tuple(getattr(stat, f) for f in fields), []).append(pk)
    for values, pks in groups.items():
        AppealStat.objects.filter(appeal_id__in=pks).update(**dict(zip(fields, values, strict=True)))


def rebuild(appeal_ids: list[int] | None = None, *, models: dict[str, Any] | None = None,
            batch: int = 2000) -> int:
    """Recompute the stat rows of the given appeals (all when None) from their events alone.
    ``models`` lets a migration pass its historical model classes."""
    if models is None:
        from yingshang.core.models import Region

        from .models import Appeal, AppealEvent, AppealStat
    else:
        Appeal, AppealEvent, AppealStat, Region = (models[k] for k in ("Appeal", "AppealEvent", "AppealStat",
                                                                       "Region"))
    qs = Appeal.objects.order_by("pk")
    if appeal_ids is not None:
        qs = qs.filter(pk__in=appeal_ids)
    ids = list(qs.values_list("pk", flat=True))
    n = 0
    for i in range(0, len(ids), batch):
        chunk = ids[i:i + batch]
        with transaction.atomic():
            appeals = list(Appeal.objects.filter(pk__in=chunk).values("pk", "category_id", "channel",
                                                                      "enterprise__region_id"))
            regions = {r.pk: r for r in Region.objects.filter(pk__in={a["enterprise__region_id"] for a in appeals})}
            stats = {}
            for a in appeals:
                stats[a["pk"]] = AppealStat(appeal_id=a["pk"], category_id=a["category_id"], channel=a["channel"],
                                            township_id=township_of(regions.get(a["enterprise__region_id"])))
            for ev in (AppealEvent.objects.filter(appeal_id__in=chunk).order_by("appeal_id", "at", "id")
                       .only("appeal_id", "kind", "at", "to_status", "data")):
                fold(stats[ev.appeal_id], ev)
            AppealStat.objects.filter(appeal_id__in=chunk).delete()
            # an appeal with no submit event (never, but be safe) has no day to count from
            AppealStat.objects.bulk_create([s for s in stats.values() if s.received_on is not None])
            n += len(stats)
    return n

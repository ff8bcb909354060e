"""A year of simulated appeal history for the demo county."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from django.db import transaction
from tests.sequences import ID_BASES, ids_from

from yingshang.appeals.demo import build_appeal_history
from yingshang.appeals.models import Appeal, AppealEvent, Meeting
from yingshang.core.audit import audit_verify
from yingshang.core.demo import build_demo_county

TODAY = dt.date(2026, 6, 30)
SEED = 5


@pytest.fixture
def history(db):  # type: ignore[no-untyped-def]
    build_demo_county(enterprises=300, seed=SEED)
    return build_appeal_history(seed=SEED, count=120, today=TODAY)


def test_history_spans_the_life_of_an_appeal(history):
    print("\nappeal history (120):", history)
    assert history["appeals"] == 120
    assert history["skipped_steps"] == {}
    statuses = Counter(Appeal.objects.values_list("status", flat=True))
    assert {"closed", "handling", "replied"} <= set(statuses), statuses
    assert statuses["closed"] > 60
    # every appeal has its timeline; every dispatched one a dispatch event
    assert not Appeal.objects.filter(events__isnull=True).exists()
    dispatched = Appeal.objects.exclude(status__in=["submitted", "merged"])
    assert dispatched.filter(events__kind=AppealEvent.Kind.DISPATCH).distinct().count() == dispatched.count()
    ratings = Counter(Appeal.objects.filter(status="closed").values_list("rating", flat=True))
    assert ratings["unrated"] > 0 and ratings["satisfied"] > ratings["unsatisfied"]
    assert Appeal.objects.filter(channel="12345").exclude(external_id="").exists()
    assert Appeal.objects.filter(channel="meeting", meeting__isnull=False).exists()
    assert Meeting.objects.exists()
    assert Appeal.objects.filter(urgency="urgent").exists()
    # dates are spread over the year and real: created in the past year, nothing after today
    first = Appeal.objects.order_by("created_at").first().created_at.date()
    assert first >= TODAY - dt.timedelta(days=366)
    assert AppealEvent.objects.filter(at__date__gt=TODAY + dt.timedelta(days=1)).count() == 0
    assert AppealEvent.objects.filter(kind=AppealEvent.Kind.CLOSE_UNRATED).exists()
    assert audit_verify().ok


def test_same_seed_same_history(db):
    """The seed alone decides the history: not the row ids (they differ between databases, and between
    two builds on PostgreSQL, whose sequences do not roll back), nor the calendar cache left behind."""
    build_demo_county(enterprises=300, seed=SEED)

    def history() -> list:
        appeals = list(Appeal.objects.order_by("created_at", "id").values_list(
            "id", "title", "channel", "status", "urgency", "rating", "resolve_due", "lead_department__code"))
        rank = {a[0]: n for n, a in enumerate(appeals)}
        return [
            [a[1:] for a in appeals],
            sorted((rank[a], kind, at) for a, kind, at in AppealEvent.objects.values_list("appeal_id", "kind", "at")),
        ]

    # the two builds get other ids on purpose, on SQLite too (tests/sequences.py): ``pk % n`` answers
    # differ, and the second build reuses the first one's ids for other rows
    with transaction.atomic():
        with ids_from(ID_BASES[0]):
            build_appeal_history(seed=SEED, count=60, today=TODAY)
        assert Appeal.objects.order_by("id").values_list("id", flat=True)[0] == ID_BASES[0]
        first = history()
        transaction.set_rollback(True)
    assert Appeal.objects.count() == 0
    with ids_from(ID_BASES[1]):  # the calendar cache still holds the rolled-back build's years
        build_appeal_history(seed=SEED, count=60, today=TODAY)
    assert Appeal.objects.order_by("id").values_list("id", flat=True)[0] == ID_BASES[1]
    second = history()
    assert len(first[0]) == 60
    assert first[0] == second[0], "appeals"
    assert first[1] == second[1], "events"


def test_stats_written_with_the_events_equal_a_rebuild_from_the_events(history):
    """The figures table is folded as events are written; rebuilding it from the events alone
    gives exactly the same rows (so figures are a pure function of the event rows)."""
    from django.forms.models import model_to_dict

    from yingshang.appeals import stats
    from yingshang.appeals.models import AppealStat

    def snapshot() -> dict[int, dict]:
        return {s.pk: model_to_dict(s) for s in AppealStat.objects.all()}

    live = snapshot()
    assert len(live) == Appeal.objects.count() == 120
    assert sum(1 for s in live.values() if s["closed_on"]) > 60
    assert any(s["merged"] for s in live.values()) == Appeal.objects.filter(status="merged").exists()
    AppealStat.objects.update(closed_on=None, department=None, satisfied=False)
    assert stats.rebuild(batch=50) == 120
    assert snapshot() == live


def test_totals_from_the_rows_equal_the_totals_counted_directly(history):
    """The figures page sums its rows for the totals row; that must equal counting directly."""
    from dataclasses import asdict

    from yingshang.appeals import figures
    from yingshang.core.models import User

    for username in ("dispatcher", "head_gxj"):
        actor = User.objects.get(username=username)
        for date_from, date_to in ((dt.date(2025, 7, 1), TODAY), (dt.date(2026, 3, 1), dt.date(2026, 4, 15))):
            direct = asdict(figures.appeal_figure_total(actor=actor, date_from=date_from, date_to=date_to))
            for group_by in figures.GROUPINGS:
                _rows, total = figures.appeal_figure_table(actor=actor, group_by=group_by, date_from=date_from,
                                                           date_to=date_to)
                assert asdict(total) == direct, (username, group_by, date_from)
            assert direct["received"] > 0

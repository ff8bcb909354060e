"""Reads of the credit lists.

``credit_entries`` / ``credit_entry_get`` are scoped by the actor: government roles (``credit.view``)
see every entry, an enterprise user the entries of its own enterprise, anyone else nothing.
``active_ids`` and ``is_black_listed`` take no actor: they answer other modules' engines (policy
matching, and later the random-inspection plans) and reveal nothing by themselves."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db.models import Q, QuerySet
from django.utils import timezone

from yingshang.core.errors import NotFound, NotPermitted
from yingshang.core.models import Role, User
from yingshang.core.permissions import can
from yingshang.enterprises.models import Enterprise

from .models import CreditListEntry, active_q

#: Up to this many ids are filtered in the query; above it, every active entry of the list is read (a
#: few thousand rows at most) and the caller keeps the ids it asked about.
ID_FILTER_LIMIT = 5000


def _scoped(actor: User | None) -> QuerySet[CreditListEntry]:
    if actor is not None and actor.is_authenticated and actor.is_active and actor.role == Role.ENTERPRISE:
        if not actor.enterprise_id:
            return CreditListEntry.objects.none()
        return CreditListEntry.objects.filter(enterprise_id=actor.enterprise_id)
    if can(actor, "credit.view"):
        return CreditListEntry.objects.all()
    raise NotPermitted("您无权查看信用红黑名单", "you may not view the credit lists")


def credit_entries(*, actor: User | None, enterprise: Enterprise | int | None = None, kind: str = "",
                   active: bool | None = None, q: str = "", day: dt.date | None = None) -> QuerySet[CreditListEntry]:
    """Entries the actor may see, newest listing first; ``active`` True/False: active or not on ``day``
    (default today); ``q``: part of the enterprise's name or its whole credit code."""
    qs = _scoped(actor)
    if enterprise is not None:
        qs = qs.filter(enterprise_id=enterprise if isinstance(enterprise, int) else enterprise.pk)
    if kind:
        qs = qs.filter(kind=kind)
    if active is not None:
        cond = active_q(day or timezone.localdate())
        qs = qs.filter(cond) if active else qs.exclude(cond)
    q = (q or "").strip()
    if q:
        qs = qs.filter(Q(enterprise__name__contains=q) | Q(enterprise__uscc=q.upper()))
    return qs.select_related("enterprise", "created_by", "removed_by").order_by("-listed_on", "-id")


def credit_entry_get(*, actor: User | None, pk: int) -> CreditListEntry:
    entry = _scoped(actor).select_related("enterprise", "created_by", "removed_by").filter(pk=pk).first()
    if entry is None:
        raise NotFound("名单记录不存在", "no such credit-list entry")
    return entry


def active_ids(kind: str, enterprise_ids: Iterable[int] | None = None, day: dt.date | None = None) -> set[int]:
    """Ids of the enterprises with an active entry on list ``kind`` (``red``/``black``) on ``day``
    (default today) — among ``enterprise_ids`` when given.  One query however many ids are asked about."""
    qs = CreditListEntry.objects.filter(active_q(day or timezone.localdate()), kind=kind)
    wanted: set[int] | None = None
    if enterprise_ids is not None:
        wanted = {int(i) for i in enterprise_ids}
        if not wanted:
            return set()
        if len(wanted) <= ID_FILTER_LIMIT:
            qs = qs.filter(enterprise_id__in=sorted(wanted))
    found = set(qs.values_list("enterprise_id", flat=True).order_by().distinct())
    return found if wanted is None else found & wanted


def is_black_listed(enterprise_id: int, day: dt.date | None = None) -> bool:
    return CreditListEntry.objects.filter(active_q(day or timezone.localdate()), kind=CreditListEntry.Kind.BLACK,
                                          enterprise_id=enterprise_id).exists()


def is_red_listed(enterprise_id: int, day: dt.date | None = None) -> bool:
    return CreditListEntry.objects.filter(active_q(day or timezone.localdate()), kind=CreditListEntry.Kind.RED,
                                          enterprise_id=enterprise_id).exists()


def enterprise_credit(*, actor: User | None, enterprise: Enterprise | int,
                      day: dt.date | None = None) -> list[CreditListEntry] | None:
    """The active entries of one enterprise for its profile page; None when the actor may not see them
    (nothing is shown then, not even that there is nothing)."""
    try:
        qs = credit_entries(actor=actor, enterprise=enterprise, active=True, day=day)
    except NotPermitted:
        return None
    return list(qs)

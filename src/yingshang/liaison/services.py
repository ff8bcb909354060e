"""Pairing changes: each one ends the current pairing and, unless both people are empty, starts a
new one — the history of who was paired with an enterprise is kept."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from yingshang.core.audit import audit_record
from yingshang.core.errors import ValidationFailed
from yingshang.core.models import Role, User
from yingshang.core.permissions import require
from yingshang.enterprises.models import Enterprise

from .models import Pairing


@transaction.atomic
def pairing_set(*, actor: User, enterprise: Enterprise, leader: User | None, commissioner: User | None) -> Pairing | None:
    """Pair an enterprise with a leader and a commissioner (either may be empty); both empty ends
    the pairing.  Returns the current pairing."""
    require(actor, "liaison.manage")
    if leader is not None and (leader.role != Role.LEADER or not leader.is_active):
        raise ValidationFailed("包联领导须为在用的县领导账号", "the paired leader must be an active leader",
                               field="leader")
    if commissioner is not None and (commissioner.role != Role.DISPATCHER or not commissioner.is_active):
        raise ValidationFailed("服务专员须为营商办在用账号", "the commissioner must be an active office account",
                               field="commissioner")
    Enterprise.objects.select_for_update().get(pk=enterprise.pk)  # one change per enterprise at a time
    current = Pairing.objects.filter(enterprise=enterprise, ended_on__isnull=True).first()
    before = None
    if current is not None:
        if current.leader_id == (leader.pk if leader else None) and \
                current.commissioner_id == (commissioner.pk if commissioner else None):
            return current
        before = {"leader": current.leader_id, "commissioner": current.commissioner_id}
        current.ended_on = timezone.localdate()
        current.save(update_fields=["ended_on"])
    new = None
    if leader is not None or commissioner is not None:
        new = Pairing(enterprise=enterprise, leader=leader, commissioner=commissioner,
                      started_on=timezone.localdate(), set_by=actor)
        new.full_clean()
        new.save()
    audit_record(actor=actor, action="liaison.pairing_set", obj=enterprise, before=before,
                 after={"leader": leader.pk if leader else None,
                        "commissioner": commissioner.pk if commissioner else None})
    return new

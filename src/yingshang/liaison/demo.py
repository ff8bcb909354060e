"""Demo pairings: every 四上 enterprise of the demo county is paired (包联) with the county leader
and the office's service commissioner, as counties do for their key enterprises."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from yingshang.core.audit import Entry, audit_record_many
from yingshang.core.models import Role, User
from yingshang.enterprises.models import Enterprise

from .models import Pairing


@transaction.atomic
def build_pairings(*, started_on=None) -> int:  # type: ignore[no-untyped-def]
    leader = User.objects.filter(role=Role.LEADER, is_active=True).order_by("pk").first()
    office = User.objects.filter(role=Role.DISPATCHER, is_active=True).order_by("pk").first()
    if leader is None or office is None:
        return 0
    day = started_on or timezone.localdate().replace(month=1, day=1)
    paired = set(Pairing.objects.filter(ended_on__isnull=True).values_list("enterprise_id", flat=True))
    ents = [e for e in Enterprise.objects.filter(above_designated=True, status=Enterprise.Status.ACTIVE)
            .order_by("pk").only("pk", "uscc") if e.pk not in paired]
    Pairing.objects.bulk_create([Pairing(enterprise=e, leader=leader, commissioner=office, started_on=day,
                                         set_by=office) for e in ents])
    audit_record_many(actor=office, entries=[Entry("liaison.pairing_set", "enterprises.Enterprise", str(e.pk),
                                                   e.uscc, None, {"leader": leader.pk, "commissioner": office.pk})
                                             for e in ents])
    return len(ents)

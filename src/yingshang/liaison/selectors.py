from __future__ import annotations

from yingshang.enterprises.models import Enterprise

from .models import Pairing


def pairing_for(*, enterprise: Enterprise | int) -> Pairing | None:
    """The enterprise's current pairing, if any."""
    pk = enterprise if isinstance(enterprise, int) else enterprise.pk
    return (Pairing.objects.select_related("leader", "commissioner")
            .filter(enterprise_id=pk, ended_on__isnull=True).first())

"""/api/v1/liaison: the current pairings, and setting one (the office)."""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest
from ninja import Router, Schema, Status

from yingshang.core.errors import NotFound, ValidationFailed
from yingshang.core.models import Role, User
from yingshang.core.permissions import require
from yingshang.enterprises.models import Enterprise

from . import services
from .models import Pairing

router = Router(tags=["liaison"])


class PairingOut(Schema):
    enterprise_uscc: str
    enterprise_name: str
    leader_username: str | None
    leader_name: str | None
    commissioner_username: str | None
    commissioner_name: str | None
    started_on: dt.date


class PairingIn(Schema):
    leader_username: str | None = None
    commissioner_username: str | None = None


def _out(p: Pairing) -> dict[str, object]:
    return {"enterprise_uscc": p.enterprise.uscc, "enterprise_name": p.enterprise.name,
            "leader_username": p.leader.username if p.leader else None,
            "leader_name": p.leader.display_name if p.leader else None,
            "commissioner_username": p.commissioner.username if p.commissioner else None,
            "commissioner_name": p.commissioner.display_name if p.commissioner else None,
            "started_on": p.started_on}


@router.get("/pairings", response=list[PairingOut])
def pairing_list(request: HttpRequest, enterprise_uscc: str = ""):  # type: ignore[no-untyped-def]
    require(request.user, "enterprises.view_all")  # type: ignore[arg-type]
    qs = Pairing.objects.filter(ended_on__isnull=True).select_related("enterprise", "leader", "commissioner")
    if enterprise_uscc:
        qs = qs.filter(enterprise__uscc=enterprise_uscc.strip().upper())
    return [_out(p) for p in qs.order_by("enterprise__uscc")[:5000]]


def _person(username: str | None, role: str, field: str) -> User | None:
    if not username:
        return None
    user = User.objects.filter(username=username.strip(), role=role).first()
    if user is None:
        raise ValidationFailed(f"账号 {username} 不存在或角色不符", f"no such {role} account {username}", field=field)
    return user


@router.put("/pairings/{uscc}", response={200: PairingOut, 204: None})
def pairing_put(request: HttpRequest, uscc: str, payload: PairingIn):  # type: ignore[no-untyped-def]
    """Pair the enterprise (both people empty: end its pairing, 204)."""
    require(request.user, "liaison.manage")  # type: ignore[arg-type]
    ent = Enterprise.objects.filter(uscc=uscc.strip().upper()).first()
    if ent is None:
        raise NotFound("市场主体不存在", "no such enterprise")
    p = services.pairing_set(actor=request.user, enterprise=ent,  # type: ignore[arg-type]
                             leader=_person(payload.leader_username, Role.LEADER, "leader_username"),
                             commissioner=_person(payload.commissioner_username, Role.DISPATCHER,
                                                  "commissioner_username"))
    if p is None:
        return Status(204, None)
    return Status(200, _out(Pairing.objects.select_related("enterprise", "leader", "commissioner").get(pk=p.pk)))

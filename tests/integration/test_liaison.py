"""包联 pairings: the service (roles, history), the default leader and commissioner of a dispatched
appeal, and the page, API and CLI that set them."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from tests.conftest import County, submit_appeal

from yingshang.core.errors import NotPermitted, ValidationFailed
from yingshang.liaison.models import Pairing
from yingshang.liaison.selectors import pairing_for
from yingshang.liaison.services import pairing_set


def test_pairing_set_keeps_history_and_checks_roles(appeal_county: County) -> None:
    c = appeal_county
    p1 = pairing_set(actor=c.dispatcher, enterprise=c.ent_a, leader=c.leader, commissioner=None)
    assert pairing_for(enterprise=c.ent_a) == p1
    same = pairing_set(actor=c.dispatcher, enterprise=c.ent_a, leader=c.leader, commissioner=None)
    assert same.pk == p1.pk  # nothing changed, nothing written
    p2 = pairing_set(actor=c.dispatcher, enterprise=c.ent_a, leader=c.leader, commissioner=c.dispatcher)
    assert p2.pk != p1.pk and Pairing.objects.get(pk=p1.pk).ended_on is not None
    with pytest.raises(NotPermitted):
        pairing_set(actor=c.handler_a, enterprise=c.ent_a, leader=None, commissioner=None)
    with pytest.raises(ValidationFailed) as e:
        pairing_set(actor=c.dispatcher, enterprise=c.ent_a, leader=c.handler_a, commissioner=None)
    assert e.value.field == "leader"
    with pytest.raises(ValidationFailed) as e:
        pairing_set(actor=c.dispatcher, enterprise=c.ent_a, leader=None, commissioner=c.head_a)
    assert e.value.field == "commissioner"
    assert pairing_for(enterprise=c.ent_a) == p2  # refused changes changed nothing
    assert pairing_set(actor=c.dispatcher, enterprise=c.ent_a, leader=None, commissioner=None) is None
    assert pairing_for(enterprise=c.ent_a) is None and Pairing.objects.count() == 2


def test_dispatch_defaults_to_the_pairing(appeal_county: County) -> None:
    from yingshang.appeals import services
    from yingshang.core.services import user_create

    c = appeal_county
    pairing_set(actor=c.dispatcher, enterprise=c.ent_a, leader=c.leader, commissioner=c.dispatcher)
    a = services.appeal_dispatch(actor=c.dispatcher, appeal=submit_appeal(c), lead=c.dept_a)
    assert (a.responsible_leader, a.commissioner) == (c.leader, c.dispatcher)
    ev = a.events.get(kind="dispatch")
    assert ev.data["from_pairing"] == ["leader", "commissioner"]
    # a leader chosen by the dispatcher wins; the commissioner still defaults
    other = user_create(actor=None, username="leader2", password="Pw-1234567890", role="leader", full_name="副县长")
    b = services.appeal_dispatch(actor=c.dispatcher, appeal=submit_appeal(c), lead=c.dept_a, leader=other)
    assert (b.responsible_leader, b.commissioner) == (other, c.dispatcher)
    # an enterprise without a pairing: nobody by default
    d = services.appeal_dispatch(actor=c.dispatcher, appeal=submit_appeal(
        c, actor=c.ent_user_b, enterprise=c.ent_b), lead=c.dept_b)
    assert d.responsible_leader is None and d.commissioner is None


def test_enterprise_page_sets_the_pairing_for_the_office_only(appeal_county: County) -> None:
    c = appeal_county
    office, handler = Client(), Client()
    office.force_login(c.dispatcher)
    handler.force_login(c.handler_a)
    url = f"/enterprises/{c.ent_a.pk}/"
    assert "pairing-form" in office.get(url).content.decode()
    page = handler.get(url).content.decode()
    assert "pairing-form" not in page and "未包联" in page
    r = office.post(url, {"action": "pairing", "leader": c.leader.pk, "commissioner": c.dispatcher.pk})
    assert r.status_code == 302
    assert pairing_for(enterprise=c.ent_a).leader == c.leader
    assert "包联领导" in handler.get(url).content.decode()
    handler.post(url, {"action": "pairing", "leader": "", "commissioner": ""})  # refused: nothing changes
    assert pairing_for(enterprise=c.ent_a) is not None
    office.post(url, {"action": "pairing", "leader": c.handler_a.pk})  # not a leader
    assert pairing_for(enterprise=c.ent_a).leader == c.leader
    # the dispatch form of the enterprise's appeal is preselected and says why
    from yingshang.appeals.models import Appeal

    a = submit_appeal(c)
    html = office.get(f"/appeals/{a.pk}/").content.decode()
    assert "pairing-hint" in html and f'value="{c.leader.pk}" selected' in html
    assert Appeal.objects.count() == 1


def test_api_and_cli(appeal_county: County, tmp_path) -> None:  # type: ignore[no-untyped-def]
    c = appeal_county
    office = Client()
    office.force_login(c.dispatcher)
    url = f"/api/v1/liaison/pairings/{c.ent_a.uscc}"
    r = office.put(url, {"leader_username": "leader", "commissioner_username": "dispatcher"},
                   content_type="application/json")
    assert r.status_code == 200 and r.json()["leader_username"] == "leader"
    assert office.get("/api/v1/liaison/pairings").json()[0]["enterprise_uscc"] == c.ent_a.uscc
    bad = office.put(url, {"leader_username": "handler_a"}, content_type="application/json")
    assert bad.status_code == 400 and bad.json()["field"] == "leader_username"
    handler = Client()
    handler.force_login(c.handler_a)
    assert handler.put(url, {}, content_type="application/json").status_code == 403
    ent = Client()
    ent.force_login(c.ent_user_a)
    assert ent.get("/api/v1/liaison/pairings").status_code == 403
    assert office.put(url, {}, content_type="application/json").status_code == 204
    assert pairing_for(enterprise=c.ent_a) is None
    # CLI: one bad row and nothing is imported
    f = tmp_path / "pairs.csv"
    f.write_text(f"统一社会信用代码,包联领导,服务专员\n{c.ent_a.uscc},leader,dispatcher\n{c.ent_b.uscc},nobody,\n",
                 encoding="utf-8")
    with pytest.raises(CommandError) as e:
        call_command("liaison", "import", str(f))
    assert "第 2 行" in str(e.value) and pairing_for(enterprise=c.ent_a) is None
    f.write_text(f"{c.ent_a.uscc},leader,dispatcher\n{c.ent_b.uscc},,dispatcher\n", encoding="utf-8")
    call_command("liaison", "import", str(f))
    assert pairing_for(enterprise=c.ent_b).commissioner == c.dispatcher
    call_command("liaison", "pair", c.ent_b.uscc, "--leader", "leader")
    assert pairing_for(enterprise=c.ent_b).leader == c.leader

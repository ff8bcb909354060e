"""The hash-chained audit trail: every change recorded, tampering detected."""

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction

from yingshang.core.audit import audit_record, audit_verify
from yingshang.core.models import AuditRecord
from yingshang.enterprises.services import enterprise_update


def test_services_write_chained_records(county):
    enterprise_update(actor=county.dispatcher, enterprise=county.ent_a, data={"address": "象湖镇1号"})
    rec = AuditRecord.objects.filter(action="enterprise.update").get()
    assert rec.actor_id == county.dispatcher.pk
    assert rec.before == {"address": ""} and rec.after == {"address": "象湖镇1号"}
    records = list(AuditRecord.objects.order_by("seq"))
    assert [r.seq for r in records] == list(range(1, len(records) + 1))
    for prev, cur in zip(records, records[1:]):
        assert cur.prev_hash == prev.hash
    assert audit_verify().ok


@pytest.mark.parametrize("tamper", ["edit_after", "edit_actor", "delete_middle", "delete_last"])
def test_tampering_detected(county, tamper):
    with transaction.atomic():
        for i in range(3):
            audit_record(actor=None, action="test.x", object_type="t", object_id=str(i), object_repr=f"x{i}",
                         after={"i": i})
    assert audit_verify().ok
    middle = AuditRecord.objects.order_by("seq")[3]
    if tamper == "edit_after":
        AuditRecord.objects.filter(pk=middle.pk).update(after={"i": 99})
    elif tamper == "edit_actor":
        AuditRecord.objects.filter(pk=middle.pk).update(actor=county.auditor)
    elif tamper == "delete_middle":
        AuditRecord.objects.filter(pk=middle.pk).delete()
    else:
        AuditRecord.objects.order_by("-seq").first().delete()
    result = audit_verify()
    assert not result.ok
    with pytest.raises(CommandError, match="TAMPERED"):
        call_command("audit", "verify")


def test_audit_needs_transaction(transactional_db):
    with pytest.raises(RuntimeError):
        audit_record(actor=None, action="x", object_type="t", object_id="1", object_repr="x")


def test_cli_verify_ok(county, capsys):
    call_command("audit", "verify")
    assert capsys.readouterr().out.startswith("ok:")


def test_only_auditor_reads_audit_page(county, client):
    client.force_login(county.auditor)
    r = client.get("/audit/?verify=1")
    assert r.status_code == 200 and "审计链完整" in r.content.decode()
    for user in (county.dispatcher, county.security, county.leader, county.ent_user_a):
        client.force_login(user)
        assert client.get("/audit/").status_code == 403

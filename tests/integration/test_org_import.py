"""Regions and departments imported through the API and the command line."""

import json

import pytest
from django.core.management import CommandError, call_command

from yingshang.core.models import AuditRecord, Department, Region


def post(client, url, data):
    return client.post(url, json.dumps(data), content_type="application/json")


def test_regions_upsert_with_parents_from_the_list(county, client):
    client.force_login(county.dispatcher)
    rows = [{"code": "360781002201", "name": "某某村"}, {"code": "360781002000", "name": "绵江街道"},
            {"code": "360781001000", "name": "象湖镇（改名）"}]
    r = post(client, "/api/v1/regions", rows)
    assert r.status_code == 200, r.content
    assert r.json() == {"rows": 3, "created": 2, "updated": 1, "unchanged": 0}
    village = Region.objects.get(code="360781002201")
    assert village.level == "village" and village.parent.code == "360781002000"
    assert Region.objects.get(code="360781001000").name == "象湖镇（改名）"
    assert AuditRecord.objects.filter(action__startswith="region.").count() == 3
    again = post(client, "/api/v1/regions", rows).json()
    assert again["unchanged"] == 3


@pytest.mark.parametrize("code, why", [("999999", "GB/T 2260"), ("36078100100", "11"), ("360781003201", "parent")])
def test_bad_region_refuses_the_whole_list(county, client, code, why):
    client.force_login(county.dispatcher)
    before = Region.objects.count()
    r = post(client, "/api/v1/regions", [{"code": "360781009000", "name": "新镇"}, {"code": code, "name": "x"}])
    assert r.status_code == 400
    body = r.json()
    assert body["field"] == "rows" and why in body["message"] + body["message_en"]
    assert Region.objects.count() == before


def test_region_import_needs_the_office(county, client):
    client.force_login(county.handler_a)
    assert post(client, "/api/v1/regions", [{"code": "360781009000", "name": "新镇"}]).status_code == 403
    assert not Region.objects.filter(code="360781009000").exists()


def test_departments_upsert_parent_in_any_order(county, client):
    client.force_login(county.dispatcher)
    rows = [
        {"code": "GXJ-ZX", "name": "中小企业服务中心", "region_code": "360781", "parent_code": "GXJ2"},
        {"code": "GXJ2", "name": "工业和信息化局二", "region_code": "360781000000"},
    ]
    r = post(client, "/api/v1/departments", rows)
    assert r.status_code == 200, r.content
    assert Department.objects.get(code="GXJ-ZX").parent.code == "GXJ2"
    bad = post(client, "/api/v1/departments", [{"code": "X", "name": "x", "region_code": "111111"}])
    assert bad.status_code == 400 and not Department.objects.filter(code="X").exists()


def test_cli_imports(county, tmp_path, capsys):
    f = tmp_path / "r.csv"
    f.write_text("code,name\n360781010000,新设镇\n", encoding="utf-8")
    call_command("import", "regions", str(f))
    assert json.loads(capsys.readouterr().out)["created"] == 1
    d = tmp_path / "d.csv"
    d.write_text("code,name,short_name,region_code,parent_code,is_office\nFGJ,发展和改革局,发改,360781,,否\n", encoding="utf-8")
    call_command("import", "departments", str(d))
    assert Department.objects.get(code="FGJ").short_name == "发改"
    d.write_text("code,name,region_code\nBAD,坏,000000\n", encoding="utf-8")
    with pytest.raises(CommandError):
        call_command("import", "departments", str(d))

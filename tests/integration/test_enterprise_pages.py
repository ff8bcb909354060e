"""The enterprise profile's forms: own contact details, yearly figures with re-derived size."""

from yingshang.core.models import AuditRecord
from yingshang.enterprises.models import Enterprise


def test_enterprise_user_updates_own_contact(county, client):
    client.force_login(county.ent_user_a)
    r = client.post(f"/enterprises/{county.ent_a.pk}/", {"action": "contact", "contact_name": "王经理",
                                                        "contact_phone": "13700000000", "address": "象湖镇工业路8号"})
    assert r.status_code == 302
    ent = Enterprise.objects.get(pk=county.ent_a.pk)
    assert (ent.contact_name, ent.contact_phone, ent.address) == ("王经理", "13700000000", "象湖镇工业路8号")
    assert AuditRecord.objects.filter(action="enterprise.update", actor=county.ent_user_a).exists()


def test_enterprise_user_cannot_touch_another_or_enter_figures(county, client):
    client.force_login(county.ent_user_a)
    r = client.post(f"/enterprises/{county.ent_b.pk}/", {"action": "contact", "contact_name": "x"})
    assert r.status_code == 403
    r = client.post(f"/enterprises/{county.ent_a.pk}/", {"action": "figures", "year": "2025", "employees": "5"})
    assert Enterprise.objects.get(pk=county.ent_a.pk).size_class == "中型"
    assert Enterprise.objects.get(pk=county.ent_b.pk).contact_name == ""


def test_handler_sees_no_contact_form_but_enters_figures(county, client):
    client.force_login(county.handler_a)
    page = client.get(f"/enterprises/{county.ent_a.pk}/").content.decode()
    assert "修改联系信息" not in page and "录入年度数据" in page
    r = client.post(f"/enterprises/{county.ent_a.pk}/", {"action": "figures", "year": "2025", "employees": "1200",
                                                        "revenue_wan": "50000"})
    assert r.status_code == 302
    ent = Enterprise.objects.get(pk=county.ent_a.pk)
    assert ent.size_class == "大型"
    assert ent.figures.get(year=2025).assets_wan == 18000  # untouched field kept
    r = client.post(f"/enterprises/{county.ent_a.pk}/", {"action": "figures", "year": "2025", "employees": "-3"})
    assert ent.figures.get(year=2025).employees == 1200


def test_security_issues_api_token_from_the_page(county, client):
    client.force_login(county.security)
    r = client.post(f"/accounts/{county.dispatcher.pk}/token/", {"name": "12345"})
    assert r.status_code == 200
    raw = r.context["raw"]
    assert raw.startswith("ys_")
    api = client.__class__()
    assert api.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {raw}").json()["username"] == "dispatcher"
    client.force_login(county.handler_a)
    assert client.post(f"/accounts/{county.dispatcher.pk}/token/").status_code == 403

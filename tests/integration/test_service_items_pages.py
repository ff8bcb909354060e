"""The 政务服务 pages over HTTP: the public catalogue and QR guides, the office's catalogue editing,
online application and window filing, every case action through its form by the right role (the
wrong role gets a message and nothing changes; other departments and enterprises get 403), 好差评
with rectification, monitoring whose counts equal the lists behind them, figures, and the home
to-dos.  List pages are guarded against query counts that grow with the rows."""

from __future__ import annotations

import datetime as dt
import io
import re
import struct
from dataclasses import dataclass
from typing import Any
from xml.etree import ElementTree

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from yingshang.core import services as core_services
from yingshang.core.selectors import todos_for
from yingshang.service_items import clock, qr, services
from yingshang.service_items.conf import warn_days
from yingshang.service_items.models import (
    Bundle,
    Case,
    CaseExtension,
    CaseMaterial,
    Correction,
    Material,
    Rating,
    Rectification,
    ServiceItem,
    SupervisionPush,
    TreeNode,
)

pytestmark = pytest.mark.django_db

S = Case.Status
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"


def pdf(name: str = "scan.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PDF, content_type="application/pdf")


def stored(user: Any) -> Any:
    return core_services.attachment_store(upload=io.BytesIO(PDF), name="scan.pdf", actor=user)


@dataclass
class Catalogue:
    c: Any
    item_a: ServiceItem  # 工信局, 承诺 5 of 20 days, online, supervised by 市场监管局
    item_b: ServiceItem  # 市场监管局, 承诺 3 of 20 days, online
    offline: ServiceItem  # 工信局, 即办件, window only, 告知承诺制
    bundle: Bundle  # item_a + item_b, led by 工信局


@pytest.fixture
def cat(county: Any) -> Catalogue:
    c = county
    d = c.dispatcher
    item_a = services.item_create(
        actor=d,
        code="360781-GX-001",
        name="工业企业技术改造项目备案",
        item_type="01",
        department=c.dept_a,
        legal_days=20,
        promised_days=5,
        levels=["county", "township"],
        legal_basis="《企业投资项目核准和备案管理条例》",
        conditions="在本县登记的工业企业",
        fees="不收费",
        online=True,
        window="综合窗口3号",
        hours="工作日 9:00-17:00",
        supervising_department=c.dept_b,
    )
    template = stored(d)
    services.material_add(actor=d, item=item_a, name="申请书", template=template, note="法定代表人签字")
    services.material_add(
        actor=d, item=item_a, name="营业执照", form="copy", copies=2, tolerance_allowed=True
    )
    services.material_add(actor=d, item=item_a, name="场地证明", tolerance_allowed=True)
    item_b = services.item_create(
        actor=d,
        code="360781-SC-001",
        name="食品经营许可",
        item_type="01",
        department=c.dept_b,
        legal_days=20,
        promised_days=3,
        online=True,
        window="综合窗口5号",
    )
    services.material_add(actor=d, item=item_b, name="申请书")
    services.material_add(actor=d, item=item_b, name="营业执照")
    offline = services.item_create(
        actor=d,
        code="360781-GX-002",
        name="企业名称变更信息确认",
        item_type="07",
        department=c.dept_a,
        legal_days=5,
        promised_days=0,
        notify_commit=True,
    )
    services.material_add(actor=d, item=offline, name="申请表")
    bundle = services.bundle_create(
        actor=d,
        code="YJS-001",
        name="开办餐饮店",
        lead_department=c.dept_a,
        items=[item_a, item_b],
        promised_days=5,
        window="一件事窗口",
    )
    return Catalogue(c, item_a, item_b, offline, bundle)


def fresh(obj: Any) -> Any:
    return type(obj).objects.get(pk=obj.pk)


def post(client: Any, user: Any, url: str, data: dict[str, Any] | None = None) -> tuple[Any, str]:
    client.force_login(user)
    r = client.post(url, data or {}, follow=True)
    return r, r.content.decode()


def act(
    client: Any, user: Any, case: Case, action: str, data: dict[str, Any] | None = None
) -> tuple[Any, str]:
    return post(client, user, f"/services/cases/{case.pk}/act/{action}/", data)


def window_case(cat: Catalogue, item: ServiceItem | None = None, **kw: Any) -> Case:
    item = item or cat.item_a
    staff = cat.c.handler_a if item.department_id == cat.c.dept_a.pk else cat.c.handler_b
    args: dict[str, Any] = {
        "actor": staff,
        "item": item,
        "enterprise": cat.c.ent_a,
        "provided": {m.pk: None for m in item.materials.all()},
    }
    args.update(kw)
    return services.case_apply(**args)


def accepted(cat: Catalogue, item: ServiceItem | None = None) -> Case:
    case = window_case(cat, item)
    staff = cat.c.handler_a if case.department_id == cat.c.dept_a.pk else cat.c.handler_b
    return services.case_accept(actor=staff, case=case)


def delivered(cat: Catalogue) -> Case:
    case = accepted(cat)
    services.case_decide(actor=cat.c.handler_a, case=case, approve=True)
    return services.case_deliver(actor=cat.c.handler_a, case=case, method="window")


def rows_behind(client: Any, url: str) -> int:
    r = client.get(url)
    assert r.status_code == 200, url
    return r.context["page"].paginator.count


# ------------------------------------------------------------------------------------------- catalogue


def test_catalogue_is_public_with_items_bundles_and_trees(cat, client):
    d = cat.c.dispatcher
    start = services.tree_node_create(actor=d, tree="enterprise", name="开办")
    services.tree_node_create(
        actor=d, tree="enterprise", name="开店", parent=start, bundles=[cat.bundle], items=[cat.item_b]
    )
    services.tree_node_create(actor=d, tree="personal", name="退休")
    r = client.get("/services/")
    assert r.status_code == 200
    page = r.content.decode()
    for text in (
        cat.item_a.name,
        cat.offline.name,
        "开办餐饮店",
        "开店",
        "退休",
        "企业全生命周期",
        "个人全生命周期",
        "即办件",
        "承诺件",
        "可网办",
    ):
        assert text in page
    assert f'href="/services/guide/bundle/{cat.bundle.code}/"' in page
    assert 'id="new-item"' not in page  # the editing links are the office's
    # the search narrows the list (htmx asks for the rows alone)
    r = client.get("/services/", {"q": "食品"}, HTTP_HX_REQUEST="true")
    rows = r.content.decode()
    assert cat.item_b.name in rows and cat.item_a.name not in rows and "<h1>" not in rows
    r = client.get("/services/", {"kind": "instant"})
    assert [i.code for i in r.context["page"].object_list] == [cat.offline.code]
    r = client.get("/services/", {"department": cat.c.dept_b.pk, "online": "1"})
    assert [i.code for i in r.context["page"].object_list] == [cat.item_b.code]
    client.force_login(d)
    assert 'id="new-item"' in client.get("/services/").content.decode()


def test_catalogue_query_count_does_not_grow(cat, client, django_assert_max_num_queries):
    d = cat.c.dispatcher
    node = services.tree_node_create(actor=d, tree="enterprise", name="开办", bundles=[cat.bundle])
    with CaptureQueriesContext(connection) as ctx:
        assert client.get("/services/").status_code == 200
    few = len(ctx.captured_queries)
    assert few <= 14, few  # an absolute guard too: the fixed part must stay small
    for n in range(30):
        item = services.item_create(
            actor=d,
            code=f"X-{n:03d}",
            name=f"事项{n}",
            item_type="20",
            department=cat.c.dept_a if n % 2 else cat.c.dept_b,
            legal_days=10,
            promised_days=n % 5,
        )
        if n % 3 == 0:
            services.tree_node_create(actor=d, tree="enterprise", name=f"节点{n}", parent=node, items=[item])
    with django_assert_max_num_queries(few):
        assert client.get("/services/").status_code == 200


def test_nav_link_for_signed_in_users(cat, client):
    assert "政务服务" not in client.get("/login/").content.decode()
    client.force_login(cat.c.ent_user_a)
    assert 'href="/services/"' in client.get("/").content.decode()


# ------------------------------------------------------------------------------------------- QR guides


def test_item_guide_tells_everything_once_on_a_phone(cat, client):
    r = client.get(f"/services/guide/item/{cat.item_a.code}/", HTTP_USER_AGENT=PHONE)
    assert r.status_code == 200
    page = r.content.decode()
    assert 'name="viewport"' in page
    for text in (
        "在本县登记的工业企业",
        "申请书",
        "营业执照",
        "场地证明",
        "原件",
        "复印件",
        "2 份",
        "可容缺后补",
        "下载样表",
        "法定代表人签字",
        "5 个工作日",
        "20 个工作日",
        "不收费",
        "综合窗口3号",
        "工作日 9:00-17:00",
        "《企业投资项目核准和备案管理条例》",
        "可网上办理",
        "市场监督管理局",
        "延长 10 个工作日",
        "开办餐饮店",
    ):
        assert text in page, text
    template = cat.item_a.materials.get(name="申请书").template
    assert f'href="/services/guide/template/{template.pk}/"' in page
    assert f'src="/services/qr/item/{cat.item_a.code}.svg"' in page
    # anonymous: sign in first, then straight to the application form
    assert f"/login/?next=/services/apply/item/{cat.item_a.code}/" in page
    client.force_login(cat.c.ent_user_a)
    page = client.get(f"/services/guide/item/{cat.item_a.code}/").content.decode()
    assert f'id="apply-btn" href="/services/apply/item/{cat.item_a.code}/"' in page
    # an item handled only at the window says so, with its 告知承诺制
    page = client.get(f"/services/guide/item/{cat.offline.code}/").content.decode()
    assert 'id="offline-note"' in page and "告知承诺制" in page and "当场办结" in page
    assert 'id="apply-btn"' not in page


def test_bundle_guide_asks_a_shared_material_once(cat, client):
    page = client.get(f"/services/guide/bundle/{cat.bundle.code}/").content.decode()
    assert page.count("<strong>营业执照</strong>") == 1 and "2 个事项共用" in page
    assert "原件及复印件" in page  # a copy for one item, the original for the other
    assert cat.item_a.name in page and cat.item_b.name in page and "一件事窗口" in page
    assert "5 个工作日" in page and 'id="apply-btn"' in page


def test_guide_template_and_unknown_codes(cat, client):
    assert client.get("/services/guide/item/NOPE/").status_code == 404
    assert client.get("/services/guide/bundle/NOPE/").status_code == 404
    assert client.get("/services/qr/item/NOPE.svg").status_code == 404
    template = cat.item_a.materials.get(name="申请书").template
    r = client.get(f"/services/guide/template/{template.pk}/")
    assert r.status_code == 200 and r["Content-Type"] == "application/pdf"
    other = stored(cat.c.ent_user_a)  # an applicant's upload is no template
    assert client.get(f"/services/guide/template/{other.pk}/").status_code == 404


def test_qr_images_encode_the_absolute_guide_url(cat, client, settings):
    settings.ALLOWED_HOSTS = ["testserver", "zwfw.example.gov.cn"]
    url = f"http://testserver/services/guide/item/{cat.item_a.code}/"
    r = client.get(f"/services/qr/item/{cat.item_a.code}.svg")
    assert r.status_code == 200 and r["Content-Type"] == "image/svg+xml"
    assert r.content == qr.svg(url, title=cat.item_a.name)  # the very symbol of that URL
    svg = ElementTree.fromstring(r.content)
    side = qr.size(url, scale=6)
    assert int(svg.get("width")) == side and int(svg.get("height")) == side
    assert side >= (21 + 2 * qr.BORDER) * 6  # at least a version-1 symbol with its quiet zone
    r = client.get(f"/services/qr/item/{cat.item_a.code}.png", {"download": "1"})
    assert r.status_code == 200 and r["Content-Type"] == "image/png" and r.content[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", r.content[16:24])
    assert width == height == qr.size(url, scale=8) and "attachment" in r["Content-Disposition"]
    r = client.get(f"/services/qr/bundle/{cat.bundle.code}.svg", HTTP_HOST="zwfw.example.gov.cn")
    assert r.content == qr.svg(
        f"http://zwfw.example.gov.cn/services/guide/bundle/{cat.bundle.code}/", title=cat.bundle.name
    )


def test_printable_qr_sheet_of_a_department(cat, client):
    page = client.get("/services/qr/sheet/").content.decode()
    assert "<svg" not in page and cat.c.dept_a.name in page
    page = client.get("/services/qr/sheet/", {"department": cat.c.dept_a.pk}).content.decode()
    assert page.count('class="qr-card"') == 3  # the bundle it leads and its two items
    assert cat.item_a.name in page and cat.bundle.name in page and cat.item_b.name not in page
    assert "@page" not in page and "window.print()" in page


# ------------------------------------------------------------------------------------ catalogue editing


ITEM_FORM = {
    "code": "GX-NEW",
    "name": "工业项目节能审查",
    "item_type": "01",
    "levels": ["county"],
    "legal_days": "20",
    "promised_days": "5",
    "online": "1",
    "window": "综合窗口3号",
    "hours": "工作日",
    "conditions": "年综合能耗 1000 吨标准煤以上",
    "fees": "不收费",
    "legal_basis": "《节约能源法》",
}


def test_office_creates_and_edits_an_item_with_materials(cat, client):
    c = cat.c
    client.force_login(c.dispatcher)
    assert client.get("/services/items/new/").status_code == 200
    r = client.post(
        "/services/items/new/",
        {**ITEM_FORM, "department": c.dept_a.pk, "supervising_department": c.dept_b.pk},
    )
    item = ServiceItem.objects.get(code="GX-NEW")
    assert r.status_code == 302 and r["Location"] == f"/services/items/{item.pk}/"
    assert (item.department, item.supervising_department, item.online, item.is_instant) == (
        c.dept_a,
        c.dept_b,
        True,
        False,
    )
    base = f"/services/items/{item.pk}/materials/"
    client.post(
        base + "add/", {"name": "节能报告", "form": "original", "copies": "2", "template": pdf("样表.pdf")}
    )
    client.post(base + "add/", {"name": "营业执照", "form": "copy", "copies": "1", "tolerance_allowed": "1"})
    client.post(base + "add/", {"name": "多余材料", "form": "copy", "copies": "1"})
    assert list(item.materials.values_list("name", "copies", "tolerance_allowed")) == [
        ("节能报告", 2, False),
        ("营业执照", 1, True),
        ("多余材料", 1, False),
    ]
    assert item.materials.get(name="节能报告").template.original_name == "样表.pdf"
    extra = item.materials.get(name="多余材料")
    r, body = post(client, c.dispatcher, base + "remove/", {"material": extra.pk})
    assert "已删除材料" in body and not Material.objects.filter(pk=extra.pk).exists()
    report = item.materials.get(name="节能报告")
    r, body = post(
        client,
        c.dispatcher,
        base + "update/",
        {"material": report.pk, "name": "节能报告书", "form": "both", "copies": "3", "drop_template": "1"},
    )
    report = fresh(report)
    assert (report.name, report.form, report.copies, report.template) == ("节能报告书", "both", 3, None)
    # a duplicate name is refused with the service's message and changes nothing
    r, body = post(client, c.dispatcher, base + "add/", {"name": "营业执照", "form": "copy", "copies": "1"})
    assert "已有材料" in body and item.materials.count() == 2
    # editing: promised over legal comes back as 400 with the message, nothing saved
    r = client.post(
        f"/services/items/{item.pk}/",
        {**ITEM_FORM, "department": c.dept_a.pk, "promised_days": "30", "active": "1"},
    )
    assert r.status_code == 400 and "不能超过法定时限" in r.content.decode()
    assert fresh(item).promised_days == 5
    r = client.post(
        f"/services/items/{item.pk}/",
        {**ITEM_FORM, "department": c.dept_a.pk, "promised_days": "0", "active": "1"},
    )
    assert r.status_code == 302 and fresh(item).is_instant  # promised 0: 即办件


def test_only_the_office_edits_the_catalogue(cat, client):
    c = cat.c
    r = client.get("/services/items/new/")
    assert r.status_code == 302 and r["Location"].startswith("/login/")
    for who in (c.handler_a, c.head_a, c.ent_user_a, c.leader):
        client.force_login(who)
        assert client.get("/services/items/new/").status_code == 403
        assert (
            client.post("/services/items/new/", {**ITEM_FORM, "department": c.dept_a.pk}).status_code == 403
        )
        assert (
            client.post(f"/services/items/{cat.item_a.pk}/materials/add/", {"name": "X"}).status_code == 403
        )
        assert client.get(f"/services/bundles/{cat.bundle.pk}/").status_code == 403
        assert client.post("/services/tree/act/add/", {"tree": "enterprise", "name": "X"}).status_code == 403
        assert client.get("/services/catalogue/import/").status_code == 403
        assert client.get("/services/catalogue/export/").status_code == 403
    assert not ServiceItem.objects.filter(code="GX-NEW").exists() and not TreeNode.objects.exists()
    assert cat.item_a.materials.count() == 3


def test_office_builds_a_bundle_with_the_merged_material_list(cat, client):
    c = cat.c
    client.force_login(c.dispatcher)
    data = {
        "code": "YJS-9",
        "name": "技改加食品",
        "lead_department": c.dept_a.pk,
        "items": [cat.item_b.pk, cat.item_a.pk],
        "promised_days": "9",
        "window": "一件事窗口",
    }
    r = client.post("/services/bundles/new/", data)
    assert r.status_code == 400 and "之间" in r.content.decode()  # 5..8 working days
    assert not Bundle.objects.filter(code="YJS-9").exists()
    r = client.post("/services/bundles/new/", {**data, "promised_days": "6"})
    bundle = Bundle.objects.get(code="YJS-9")
    assert r.status_code == 302 and r["Location"] == f"/services/bundles/{bundle.pk}/"
    assert list(bundle.bundle_items.values_list("item__code", flat=True)) == [
        cat.item_b.code,
        cat.item_a.code,
    ]
    page = client.get(f"/services/bundles/{bundle.pk}/").content.decode()
    assert "允许范围 5–8" in page and "2 个事项共用，只交一次" in page
    r = client.post(f"/services/bundles/{bundle.pk}/", {**data, "name": "改名", "promised_days": "8"})
    assert r.status_code == 302 and fresh(bundle).name == "改名" and not fresh(bundle).active


def test_office_edits_the_life_event_trees(cat, client):
    d = cat.c.dispatcher
    r, body = post(client, d, "/services/tree/act/add/", {"tree": "enterprise", "name": "开办"})
    start = TreeNode.objects.get(name="开办")
    post(client, d, "/services/tree/act/add/", {"tree": "enterprise", "name": "餐饮", "parent": start.pk})
    post(client, d, "/services/tree/act/add/", {"tree": "enterprise", "name": "扩建"})
    food, expand = TreeNode.objects.get(name="餐饮"), TreeNode.objects.get(name="扩建")
    assert food.parent == start
    r, body = post(
        client,
        d,
        "/services/tree/act/link/",
        {"node": food.pk, "bundles": [cat.bundle.pk], "items": [cat.item_b.pk]},
    )
    assert list(food.bundles.all()) == [cat.bundle] and list(food.items.all()) == [cat.item_b]
    page = client.get("/services/tree/", {"tree": "enterprise", "node": food.pk}).content.decode()
    assert 'id="link"' in page and f'value="{cat.bundle.pk}" checked' in page
    post(client, d, "/services/tree/act/rename/", {"node": food.pk, "name": "开餐馆"})
    post(client, d, "/services/tree/act/move/", {"node": food.pk, "parent": expand.pk, "order": "2"})
    food = fresh(food)
    assert (food.name, food.parent_id, food.order) == ("开餐馆", expand.pk, 2)
    r, body = post(client, d, "/services/tree/act/move/", {"node": expand.pk, "parent": food.pk})
    assert "不能移到自身或其下级节点之下" in body and fresh(expand).parent_id is None
    r, body = post(client, d, "/services/tree/act/delete/", {"node": expand.pk})
    assert "请先移走或删除下级节点" in body and TreeNode.objects.filter(pk=expand.pk).exists()
    post(client, d, "/services/tree/act/delete/", {"node": food.pk})
    assert not TreeNode.objects.filter(pk=food.pk).exists()
    assert client.post("/services/tree/act/nope/", {}).status_code == 404


def test_catalogue_xlsx_export_and_import_report(cat, client):
    from openpyxl import Workbook, load_workbook

    client.force_login(cat.c.dispatcher)
    r = client.get("/services/catalogue/export/")
    assert r.status_code == 200 and r["Content-Type"].startswith("application/vnd.openxmlformats")
    wb = load_workbook(io.BytesIO(r.content))
    assert [row[0].value for row in wb["事项"].iter_rows(min_row=2)] == sorted(
        [cat.item_a.code, cat.item_b.code, cat.offline.code]
    )
    wb = Workbook()
    ws = wb.active
    ws.title = "事项"
    ws.append(
        [
            "事项编码",
            "事项名称",
            "事项类型",
            "实施部门",
            "办理层级",
            "法定时限（工作日）",
            "承诺时限（工作日）",
        ]
    )
    ws.append(["N-1", "新事项", "行政许可", "GXJ", "县级", 20, 10])
    ws.append(["N-2", "超时限事项", "01", "GXJ", "县级", 20, 25])
    buf = io.BytesIO()
    wb.save(buf)
    r = client.post(
        "/services/catalogue/import/", {"file": SimpleUploadedFile("catalogue.xlsx", buf.getvalue())}
    )
    page = r.content.decode()
    assert r.status_code == 200 and r.context["report"].items_created == 1
    assert re.search(r"事项</td><td[^>]*>3</td><td[^>]*><code>promised_days</code>", page)
    assert (
        ServiceItem.objects.filter(code="N-1").exists()
        and not ServiceItem.objects.filter(code="N-2").exists()
    )
    r = client.post("/services/catalogue/import/", {"file": SimpleUploadedFile("x.xlsx", b"not a workbook")})
    assert r.status_code == 400 and "无法读取" in r.content.decode()


# ------------------------------------------------------------------------------------------- applying


def test_enterprise_applies_online_for_its_own_enterprise(cat, client):
    c = cat.c
    r = client.get(f"/services/apply/item/{cat.item_a.code}/")
    assert r.status_code == 302 and r["Location"].startswith("/login/")
    client.force_login(c.ent_user_a)
    page = client.get(f"/services/apply/item/{cat.item_a.code}/", HTTP_USER_AGENT=PHONE).content.decode()
    assert c.ent_a.name in page and 'name="uscc"' not in page and "可容缺" in page
    mats = {m.name: m for m in cat.item_a.materials.all()}
    r = client.post(
        f"/services/apply/item/{cat.item_a.code}/",
        {"applicant_name": "", "applicant_phone": "13912345678", f"file_{mats['申请书'].pk}": pdf()},
    )
    case = Case.objects.get()
    assert r.status_code == 302 and r["Location"] == f"/services/cases/{case.pk}/"
    assert (case.channel, case.applicant_enterprise, case.applicant_user, case.department) == (
        "online",
        c.ent_a,
        c.ent_user_a,
        c.dept_a,
    )
    assert dict(case.materials.values_list("name", "status")) == {
        "申请书": "provided",
        "营业执照": "missing",
        "场地证明": "missing",
    }
    r = client.get(r["Location"])
    assert "尚有 2 项材料未提交" in r.content.decode()
    # the file is the applicant's and can be read back from the case
    att = case.materials.get(name="申请书").attachment
    assert client.get(f"/services/cases/{case.pk}/files/{att.pk}/").status_code == 200
    # other enterprises, other departments, outsiders: 403
    for who in (c.ent_user_b, c.handler_b, c.auditor):
        client.force_login(who)
        assert client.get(f"/services/cases/{case.pk}/").status_code == 403
        assert client.get(f"/services/cases/{case.pk}/files/{att.pk}/").status_code == 403
    # an item handled at the window only cannot be applied for online: 400, nothing saved
    client.force_login(c.ent_user_a)
    assert 'id="offline-note"' in client.get(f"/services/apply/item/{cat.offline.code}/").content.decode()
    r = client.post(f"/services/apply/item/{cat.offline.code}/", {"applicant_phone": "13912345678"})
    assert r.status_code == 400 and "不支持网上申请" in r.content.decode() and Case.objects.count() == 1


def test_window_filing_by_the_items_department(cat, client):
    c = cat.c
    mats = {m.name: m for m in cat.item_a.materials.all()}
    client.force_login(c.handler_a)
    page = client.get(f"/services/apply/item/{cat.item_a.code}/").content.decode()
    assert 'name="uscc"' in page and "窗口受理登记" in page

    def data(**kw: str) -> dict[str, Any]:
        return {
            "uscc": c.ent_b.uscc.lower(),
            "applicant_name": "",
            "applicant_phone": "13800001111",
            "window": "综合窗口3号",
            f"got_{mats['申请书'].pk}": "1",
            f"file_{mats['场地证明'].pk}": pdf(),
            **kw,
        }

    r = client.post(f"/services/apply/item/{cat.item_a.code}/", data(uscc="91360781XXXXXXXXXX"))
    assert (
        r.status_code == 400
        and "未找到该统一社会信用代码" in r.content.decode()
        and not Case.objects.exists()
    )
    r = client.post(f"/services/apply/item/{cat.item_a.code}/", data())
    case = Case.objects.get()
    assert (case.channel, case.applicant_enterprise, case.window, case.filed_by) == (
        "window",
        c.ent_b,
        "综合窗口3号",
        c.handler_a,
    )
    assert dict(case.materials.values_list("name", "status")) == {
        "申请书": "provided",
        "营业执照": "missing",
        "场地证明": "provided",
    }
    # a person without an enterprise at the window
    r = client.post(
        f"/services/apply/item/{cat.offline.code}/",
        {"applicant_name": "张三", "applicant_phone": "13700000000"},
    )
    assert r.status_code == 302 and Case.objects.get(item=cat.offline).applicant_enterprise is None
    # another department's staff, inspectors and the office do not file for this department
    for who in (c.handler_b, c.inspector, c.dispatcher, c.auditor):
        client.force_login(who)
        assert client.get(f"/services/apply/item/{cat.item_a.code}/").status_code == 403
    assert Case.objects.count() == 2


def test_bundle_online_application_asks_shared_materials_once(cat, client):
    client.force_login(cat.c.ent_user_a)
    page = client.get(f"/services/apply/bundle/{cat.bundle.code}/").content.decode()
    assert page.count("<strong>营业执照</strong>") == 1
    licence = Material.objects.get(item=cat.item_b, name="营业执照")  # any of the shared ids
    r = client.post(f"/services/apply/bundle/{cat.bundle.code}/", {"applicant_phone": "13912345678"})
    case = Case.objects.get()
    assert r.status_code == 302 and case.bundle == cat.bundle and case.department == cat.c.dept_a
    assert sorted(case.materials.values_list("name", flat=True)) == sorted(["申请书", "营业执照", "场地证明"])
    assert licence.name == "营业执照"


# ------------------------------------------------------------------------------------------- the journey


def test_full_journey_through_the_pages(cat, client):
    """The office builds an item, a bundle and a branch; an enterprise applies on a phone; staff accept
    with 容缺, ask for a correction, extend and decide; the supervising department acknowledges; the
    applicant rates badly and the rating goes through rectification and an appeal."""
    c = cat.c
    client.force_login(c.dispatcher)
    r = client.post(
        "/services/items/new/",
        {**ITEM_FORM, "department": c.dept_a.pk, "supervising_department": c.dept_b.pk},
    )
    item = ServiceItem.objects.get(code="GX-NEW")
    for name, tolerated in (("节能报告", ""), ("营业执照", "1"), ("项目备案证明", "1")):
        client.post(
            f"/services/items/{item.pk}/materials/add/",
            {"name": name, "form": "copy", "copies": "1", "tolerance_allowed": tolerated},
        )
    client.post(
        "/services/bundles/new/",
        {
            "code": "YJS-9",
            "name": "新建工业厂房",
            "lead_department": c.dept_a.pk,
            "items": [item.pk, cat.item_b.pk],
            "promised_days": "5",
        },
    )
    bundle = Bundle.objects.get(code="YJS-9")
    client.post("/services/tree/act/add/", {"tree": "enterprise", "name": "扩建投资"})
    client.post(
        "/services/tree/act/add/",
        {"tree": "enterprise", "name": "项目立项", "parent": TreeNode.objects.get(name="扩建投资").pk},
    )
    node = TreeNode.objects.get(name="项目立项")
    client.post("/services/tree/act/link/", {"node": node.pk, "bundles": [bundle.pk], "items": [item.pk]})
    client.logout()
    page = client.get("/services/").content.decode()
    assert "项目立项" in page and "新建工业厂房" in page and item.name in page

    # a phone user scans the QR guide and applies online, leaving the 容缺 materials for later
    client.force_login(c.ent_user_a)
    assert (
        "在线申办" in client.get(f"/services/guide/item/{item.code}/", HTTP_USER_AGENT=PHONE).content.decode()
    )
    report = item.materials.get(name="节能报告")
    r = client.post(
        f"/services/apply/item/{item.code}/", {"applicant_phone": "13912345678", f"file_{report.pk}": pdf()}
    )
    case = Case.objects.get(item=item)
    cms = {m.name: m for m in case.materials.all()}

    # the handler accepts with 容缺 for the two missing materials
    client.force_login(c.handler_a)
    page = client.get(f"/services/cases/{case.pk}/").content.decode()
    assert 'id="act-accept"' in page and 'id="act-decide"' not in page
    due = (timezone.localdate() + dt.timedelta(days=14)).isoformat()
    tolerated = [cms["营业执照"].pk, cms["项目备案证明"].pk]
    r, body = act(
        client,
        c.handler_a,
        case,
        "accept",
        {"tolerated": tolerated, **{f"due_{pk}": due for pk in tolerated}},
    )
    case = fresh(case)
    assert case.status == S.ACCEPTED and case.accepted_on == timezone.localdate() and case.due_date
    assert "已受理，计时开始" in body and 'id="clock"' in body and "承诺时限（工作日）" in body
    assert set(case.materials.filter(status="tolerated").values_list("name", flat=True)) == {
        "营业执照",
        "项目备案证明",
    }

    # one correction notice listing every missing item, the clock stops
    r, body = act(
        client,
        c.handler_a,
        case,
        "correction",
        {
            "correct": [cms["节能报告"].pk],
            f"reason_{cms['节能报告'].pk}": "缺少能耗测算",
            "extra_name_1": "用能设备清单",
            "extra_reason_1": "请补充",
        },
    )
    case = fresh(case)
    assert case.status == S.CORRECTING and case.paused_since == timezone.localdate()
    assert [e["name"] for e in Correction.objects.get(case=case).items] == ["节能报告", "用能设备清单"]
    assert "计时暂停" in body

    # the applicant sees the notice once, uploads both, the clock runs again
    client.force_login(c.ent_user_a)
    page = client.get(f"/services/cases/{case.pk}/").content.decode()
    assert 'id="act-submit-correction"' in page and "缺少能耗测算" in page and "用能设备清单" in page
    wanted = case.materials.filter(status="missing")
    r, body = act(client, c.ent_user_a, case, "submit_correction", {f"file_{m.pk}": pdf() for m in wanted})
    case = fresh(case)
    assert case.status == S.ACCEPTED and case.paused_since is None and "计时恢复" in body

    # extension: the handler asks, the head approves, the due date moves
    old_due = case.due_date
    r, body = act(client, c.handler_a, case, "extension_request", {"days": "5", "reason": "需专家论证"})
    ext = CaseExtension.objects.get(case=case)
    assert ext.status == "pending" and "待部门负责人审批" in body
    client.force_login(c.ent_user_a)
    assert "需专家论证" not in client.get(f"/services/cases/{case.pk}/").content.decode()  # internal
    client.force_login(c.head_a)
    assert 'id="act-extension-decide"' in client.get(f"/services/cases/{case.pk}/").content.decode()
    r, body = act(client, c.head_a, case, "extension_decide", {"extension": ext.pk, "decision": "approve"})
    case = fresh(case)
    assert fresh(ext).status == "approved" and case.extension_days == 5 and case.due_date > old_due

    # the applicant hands in the 容缺 materials; the handler approves
    r, body = act(client, c.ent_user_a, case, "provide", {f"file_{pk}": pdf() for pk in tolerated})
    assert "已提交 2 项材料" in body and not case.materials.exclude(status="provided").exists()
    r, body = act(client, c.handler_a, case, "decide", {"decision": "approve"})
    case = fresh(case)
    assert case.status == S.DECIDED and case.decision == "approved" and case.on_time

    # 审管互动: the supervising department sees the case and acknowledges
    push = SupervisionPush.objects.get(case=case)
    client.force_login(c.handler_b)
    page = client.get(f"/services/cases/{case.pk}/").content.decode()
    assert 'id="act-ack"' in page and 'id="act-deliver"' not in page
    r, body = act(client, c.handler_b, case, "ack", {"push": push.pk})
    assert fresh(push).acknowledged_by == c.handler_b

    # delivered as an electronic licence
    r, body = act(client, c.handler_a, case, "deliver", {"method": "electronic"})
    case = fresh(case)
    assert case.status == S.DELIVERED and case.delivery_method == "electronic"
    assert 'id="act-rate-qr"' in body  # the window shows the rating code

    # the applicant rates badly; a second rating on the same channel is refused
    r, body = act(
        client,
        c.ent_user_a,
        case,
        "rate",
        {"level": "2", "aspects": ["efficiency", "guidance"], "comment": "补正跑了两次"},
    )
    rating = Rating.objects.get(case=case)
    assert (rating.level, rating.is_bad, rating.channel) == (2, True, "case_page") and "感谢您的评价" in body
    assert 'id="act-rate"' not in body
    r, body = act(client, c.ent_user_a, case, "rate", {"level": "5"})
    assert "一次一评" in body and Rating.objects.filter(case=case).count() == 1

    # rectification: verify (call the rater) → rectify → answer
    rect = Rectification.objects.get(rating=rating)
    base = f"/services/rectifications/{rect.pk}/act/"
    client.force_login(c.handler_a)
    assert 'id="act-verify"' in client.get(f"/services/rectifications/{rect.pk}/").content.decode()
    post(client, c.handler_a, base + "verify/", {"note": "已电话回访", "reached": "1"})
    post(client, c.handler_a, base + "resolve/", {"outcome": "rectified", "text": "修订一次告知清单"})
    r, body = post(client, c.handler_a, base + "answer/", {"answer": "已修订清单，今后一次告知到位"})
    rect = fresh(rect)
    assert (
        rect.status == "answered" and rect.rater_reached and rect.answered_on_time and "已回复评价人" in body
    )

    # the rater appeals on the case page; the office dismisses it
    client.force_login(c.ent_user_a)
    page = client.get(f"/services/cases/{case.pk}/").content.decode()
    assert "今后一次告知到位" in page and 'id="act-appeal"' in page
    act(client, c.ent_user_a, case, "appeal", {"rectification": rect.pk, "reason": "问题没解决"})
    assert fresh(rect).status == "appealed"
    client.force_login(c.dispatcher)
    assert 'id="act-appeal-decide"' in client.get(f"/services/rectifications/{rect.pk}/").content.decode()
    post(client, c.dispatcher, base + "appeal_decide/", {"decision": "dismiss", "note": "答复已说明措施"})
    assert fresh(rect).status == "answered"

    # the timeline tells the whole story; the enterprise does not see the internal steps
    page = client.get(f"/services/cases/{case.pk}/").content.decode()
    for step in (
        "申请",
        "受理",
        "一次性告知补正",
        "提交补正材料",
        "申请延期",
        "延期审批",
        "作出决定",
        "推送监管部门",
        "监管部门认领",
        "送达",
        "评价",
        "差评核实",
        "差评回复",
        "评价人申诉",
        "申诉处理",
    ):
        assert f"<strong>{step}</strong>" in page, step
    client.force_login(c.ent_user_a)
    page = client.get(f"/services/cases/{case.pk}/").content.decode()
    assert "<strong>申请延期</strong>" not in page and "<strong>差评核实</strong>" not in page


def test_wrong_role_actions_are_refused_and_nothing_changes(cat, client):
    c = cat.c
    case = window_case(cat)
    # the applicant cannot accept, another department cannot even open the case
    r, body = act(client, c.ent_user_a, case, "accept")
    assert r.status_code == 200 and "您没有执行此操作的权限" in body and fresh(case).status == S.SUBMITTED
    client.force_login(c.handler_b)
    assert client.post(f"/services/cases/{case.pk}/act/accept/").status_code == 403
    client.force_login(c.ent_user_b)
    assert client.post(f"/services/cases/{case.pk}/act/rate/", {"level": "5"}).status_code == 403
    # a missing material that is neither provided nor tolerated: acceptance refused, one message
    case = window_case(cat, provided={})
    r, body = act(client, c.handler_a, case, "accept")
    assert "以下材料缺少且未容缺" in body and fresh(case).status == S.SUBMITTED
    # a handler cannot approve an extension; the head of another department cannot see it
    case = accepted(cat)
    act(client, c.handler_a, case, "extension_request", {"days": "3", "reason": "x"})
    ext = CaseExtension.objects.get(case=case)
    client.force_login(c.handler_a)
    assert 'id="act-extension-decide"' not in client.get(f"/services/cases/{case.pk}/").content.decode()
    r, body = act(client, c.handler_a, case, "extension_decide", {"extension": ext.pk, "decision": "approve"})
    assert "您没有执行此操作的权限" in body and fresh(ext).status == "pending"
    r, body = act(client, c.handler_a, case, "extension_request", {"days": "3", "reason": "again"})
    assert "只能延期一次" in body and CaseExtension.objects.filter(case=case).count() == 1
    # a refusal needs its reason; an unknown action is 404
    r, body = act(client, c.handler_a, case, "decide", {"decision": "refuse"})
    assert "不予准予理由不能为空" in body and fresh(case).status == S.ACCEPTED
    client.force_login(c.handler_a)
    assert client.post(f"/services/cases/{case.pk}/act/explode/").status_code == 404
    assert client.get(f"/services/cases/{case.pk}/act/accept/").status_code == 405
    # rejection (不予受理) with its reason
    case = window_case(cat)
    r, body = act(client, c.handler_a, case, "reject", {"reason": "不属于本县管辖"})
    assert fresh(case).status == S.REJECTED and "不属于本县管辖" in body


def test_special_procedure_stops_and_restarts_the_clock(cat, client):
    c = cat.c
    case = accepted(cat)
    r, body = act(
        client,
        c.handler_a,
        case,
        "special_start",
        {"kind": "expert", "note": "组织专家评审", "expected_days": "3"},
    )
    case = fresh(case)
    assert case.status == S.SPECIAL and case.paused_since and 'id="act-special-end"' in body
    r, body = act(client, c.handler_a, case, "special_end", {"result": "专家同意"})
    assert fresh(case).status == S.ACCEPTED and "计时恢复" in body


def test_case_list_is_scoped_filtered_and_its_queries_constant(cat, client, django_assert_max_num_queries):
    c = cat.c
    a = window_case(cat)
    accepted(cat, cat.item_b)
    client.force_login(c.handler_a)
    with CaptureQueriesContext(connection) as ctx:
        r = client.get("/services/cases/")
    few = len(ctx.captured_queries)
    assert few <= 10, few
    assert [x.pk for x in r.context["page"].object_list] == [a.pk]  # own department only
    client.force_login(c.ent_user_b)
    assert rows_behind(client, "/services/cases/") == 0
    client.force_login(c.ent_user_a)
    assert rows_behind(client, "/services/cases/") == 2
    client.force_login(c.dispatcher)
    assert rows_behind(client, "/services/cases/") == 2
    assert rows_behind(client, f"/services/cases/?department={c.dept_b.pk}") == 1
    assert rows_behind(client, "/services/cases/?status=submitted") == 1
    assert client.get("/services/cases/?colour=purple").status_code == 400
    client.force_login(c.auditor)
    assert client.get("/services/cases/").status_code == 403
    for _ in range(20):
        accepted(cat)
    client.force_login(c.handler_a)
    with django_assert_max_num_queries(few):
        r = client.get("/services/cases/")
    assert r.context["page"].paginator.count == 21
    with django_assert_max_num_queries(few + 1):  # the htmx rows: no navigation, same reads
        client.get("/services/cases/", {"colour": "green"}, HTTP_HX_REQUEST="true")


# ------------------------------------------------------------------------------------------- 好差评 by link


def test_rating_link_works_without_an_account_once_per_channel(cat, client):
    c = cat.c
    case = delivered(cat)
    token = services.rating_token(case)
    url = f"/services/rate/{token}/"
    assert client.get("/services/rate/forged-token/").status_code == 404
    page = client.get(url, HTTP_USER_AGENT=PHONE).content.decode()
    assert case.number in page and 'id="act-rate"' in page
    r = client.post(url, {"level": "1", "comment": "太慢"}, follow=True)
    assert "差评请选择不满意的方面" in r.content.decode() and not Rating.objects.exists()
    r = client.post(url, {"level": "4"}, follow=True)
    assert Rating.objects.get().channel == "sms" and "您已评价" in r.content.decode()
    r = client.post(url, {"level": "5"}, follow=True)
    assert "一次一评" in r.content.decode() and Rating.objects.count() == 1
    # the QR code at the window is another channel: one rating there too
    r = client.post(url, {"level": "5", "via": "qr"}, follow=True)
    assert sorted(Rating.objects.values_list("channel", flat=True)) == ["qr", "sms"]
    # the handling department's staff cannot rate their own case, not even by the link
    other = delivered(cat)
    client.force_login(c.handler_a)
    r = client.post(f"/services/rate/{services.rating_token(other)}/", {"level": "5"}, follow=True)
    assert "工作人员不能评价" in r.content.decode() and not Rating.objects.filter(case=other).exists()
    # the window's rating code is the handling department's to show
    assert client.get(f"/services/cases/{other.pk}/rate-qr.svg")["Content-Type"] == "image/svg+xml"
    client.force_login(c.ent_user_a)
    assert client.get(f"/services/cases/{other.pk}/rate-qr.svg").status_code == 403


def test_rater_appeals_by_the_link_and_the_department_contests_another_rating(cat, client):
    c = cat.c
    case = delivered(cat)
    token = services.rating_token(case)
    client.post(f"/services/rate/{token}/", {"level": "1", "aspects": ["attitude"]})
    rect = Rectification.objects.get()
    services.rectification_verify(actor=c.handler_a, rectification=rect, note="联系上", reached=True)
    services.rectification_resolve(
        actor=c.handler_a, rectification=rect, outcome="explained", text="非本部门原因"
    )
    services.rectification_answer(actor=c.handler_a, rectification=rect, answer="情况说明如下")
    page = client.get(f"/services/rate/{token}/").content.decode()
    assert "情况说明如下" in page and 'name="action" value="appeal"' in page
    client.post(
        f"/services/rate/{token}/", {"action": "appeal", "rectification": rect.pk, "reason": "不接受"}
    )
    assert fresh(rect).status == "appealed"
    client.force_login(c.dispatcher)
    r = client.get("/services/rectifications/", {"status": "appealed"})
    assert [x.pk for x in r.context["page"].object_list] == [rect.pk]
    post(
        client,
        c.dispatcher,
        f"/services/rectifications/{rect.pk}/act/appeal_decide/",
        {"decision": "reopen", "note": "请重新整改"},
    )
    assert fresh(rect).status == "verified"

    # a malicious rating: the department contests, the office voids it
    other = delivered(cat)
    services.case_rate(actor=c.ent_user_a, case=other, channel="case_page", level=1, bad_aspects=["other"])
    rect2 = Rectification.objects.get(rating__case=other)
    r, body = post(client, c.handler_b, f"/services/rectifications/{rect2.pk}/act/contest/", {"reason": "x"})
    assert r.status_code == 403  # another department does not even see the task
    r, body = post(
        client,
        c.handler_a,
        f"/services/rectifications/{rect2.pk}/act/contest/",
        {"reason": "评价人与本办件无关"},
    )
    assert fresh(rect2).rating.contest_status == "pending"
    client.force_login(c.dispatcher)
    assert rows_behind(client, "/services/rectifications/?contest=pending") == 1
    r, body = post(
        client,
        c.dispatcher,
        f"/services/rectifications/{rect2.pk}/act/contest_decide/",
        {"decision": "void", "note": "查实恶意"},
    )
    assert fresh(rect2).status == "voided" and fresh(rect2).rating.voided and "已认定恶意差评并撤销" in body
    # a department cannot decide its own contest
    third = delivered(cat)
    services.case_rate(actor=c.ent_user_a, case=third, channel="case_page", level=2, bad_aspects=["fees"])
    rect3 = Rectification.objects.get(rating__case=third)
    services.rating_contest(actor=c.handler_a, rating=rect3.rating, reason="恶意")
    r, body = post(
        client,
        c.handler_a,
        f"/services/rectifications/{rect3.pk}/act/contest_decide/",
        {"decision": "void", "note": "自己认定"},
    )
    assert "您没有执行此操作的权限" in body and fresh(rect3).rating.contest_status == "pending"


def test_rectification_pages_are_scoped(cat, client):
    c = cat.c
    case = delivered(cat)
    services.case_rate(actor=c.ent_user_a, case=case, channel="case_page", level=1, bad_aspects=["attitude"])
    rect = Rectification.objects.get()
    client.force_login(c.handler_a)
    assert rows_behind(client, "/services/rectifications/?state=pending") == 1
    client.force_login(c.handler_b)
    assert rows_behind(client, "/services/rectifications/") == 0
    assert client.get(f"/services/rectifications/{rect.pk}/").status_code == 403
    client.force_login(c.ent_user_a)
    assert client.get("/services/rectifications/").status_code == 403
    assert client.get(f"/services/rectifications/{rect.pk}/").status_code == 403
    client.force_login(c.leader)
    assert client.get(f"/services/rectifications/{rect.pk}/").status_code == 200
    assert client.get("/services/rectifications/999999/").status_code == 404


# ------------------------------------------------------------------------------------------- monitoring


def _coloured_cases(cat: Catalogue) -> dict[str, int]:
    """Accepted cases whose stored due dates fall in each colour today (set on the rows: the monitor
    reads the stored column), one paused case, and the expected counts per colour for dept_a."""
    bounds = clock.colour_bounds(timezone.localdate(), warn_days())
    dues = {
        "overdue": [bounds.today - dt.timedelta(days=3), bounds.today - dt.timedelta(days=1)],
        "red": [bounds.today],
        "yellow": [bounds.yellow_from],
        "green": [bounds.green_from + dt.timedelta(days=9)],
    }
    for due_dates in dues.values():
        for due in due_dates:
            case = accepted(cat)
            Case.objects.filter(pk=case.pk).update(due_date=due)
    paused = accepted(cat)
    services.case_special_start(actor=cat.c.handler_a, case=paused, kind="testing", note="检测")
    online = services.case_apply(actor=cat.c.ent_user_a, item=cat.item_a, provided={})
    services.case_accept(
        actor=cat.c.handler_a,
        case=online,
        tolerated={
            m.pk: timezone.localdate() + dt.timedelta(days=30)
            for m in online.materials.filter(tolerance_allowed=True)
        },
        provided=list(online.materials.filter(tolerance_allowed=False).values_list("pk", flat=True)),
    )
    Case.objects.filter(pk=online.pk).update(due_date=bounds.today - dt.timedelta(days=2))
    accepted(cat, cat.item_b)  # another department
    return {"overdue": 3, "red": 1, "yellow": 1, "green": 1, "paused": 1}


def test_monitor_counts_equal_the_lists_behind_them(cat, client, django_assert_max_num_queries):
    c = cat.c
    expected = _coloured_cases(cat)
    client.force_login(c.dispatcher)
    r = client.get("/services/monitor/")
    assert r.status_code == 200
    page = r.content.decode()
    assert 'id="monitor-chart"' in page and "monitor-chart-data" in page
    mon = r.context["mon"]
    dept_a = next(d for d in mon.departments if d.department_id == c.dept_a.pk)
    assert {k: getattr(dept_a, k) for k in expected} == expected
    assert mon.total.open == sum(expected.values()) + 1
    lines = [*r.context["departments"], *r.context["windows"], r.context["total"]]
    checked = 0
    for line in lines:
        for cell in line["cells"]:
            assert rows_behind(client, cell["link"]) == cell["n"], cell["link"]
            checked += 1
    assert (
        checked == 5 * len(lines) and len(r.context["windows"]) == 3
    )  # dept_a: its window and online; dept_b
    assert r.context["overdue_total"] == rows_behind(client, "/services/cases/?colour=overdue") == 3
    assert len(r.context["overdue"]) == 3 and all(late >= 1 for _c, late in r.context["overdue"])
    # a department's staff see their own department only; enterprises are refused
    client.force_login(c.handler_b)
    r = client.get("/services/monitor/")
    assert [d.department_id for d in r.context["mon"].departments] == [c.dept_b.pk]
    client.force_login(c.ent_user_a)
    assert client.get("/services/monitor/").status_code == 403
    # the monitor does not grow with the cases
    client.force_login(c.dispatcher)
    with CaptureQueriesContext(connection) as ctx:
        client.get("/services/monitor/")
    few = len(ctx.captured_queries)
    assert few <= 14, few
    for _ in range(10):
        accepted(cat, cat.item_b)
    with django_assert_max_num_queries(few):
        client.get("/services/monitor/")


def test_supervision_pushes_page_and_acknowledgement(cat, client):
    c = cat.c
    case = accepted(cat)
    services.case_decide(actor=c.handler_a, case=case, approve=True)
    push = SupervisionPush.objects.get()
    client.force_login(c.handler_a)
    assert rows_behind(client, "/services/pushes/") == 1  # pushed from its cases
    assert rows_behind(client, "/services/pushes/?mine=1") == 0
    r, body = post(client, c.handler_a, f"/services/pushes/{push.pk}/ack/", {"next": "/services/pushes/"})
    assert "只能认领推送给本部门" in body and fresh(push).acknowledged_at is None
    client.force_login(c.handler_b)
    assert rows_behind(client, "/services/pushes/?mine=1") == 1
    r = client.post(f"/services/pushes/{push.pk}/ack/", {"next": "/services/monitor/"})
    assert r["Location"] == "/services/monitor/" and fresh(push).acknowledged_by == c.handler_b
    assert rows_behind(client, "/services/pushes/?mine=1") == 0
    r = client.post(f"/services/pushes/{push.pk}/ack/", {"next": "https://evil.example/"})
    assert r["Location"] == "/services/pushes/"
    client.force_login(c.ent_user_a)
    assert client.get("/services/pushes/").status_code == 403


# ------------------------------------------------------------------------------------------- figures


def test_figures_page_shows_the_formulas_and_groups(cat, client):
    c = cat.c
    case = delivered(cat)
    services.case_rate(actor=c.ent_user_a, case=case, channel="case_page", level=5)
    window_case(cat, cat.item_b)
    client.force_login(c.dispatcher)
    r = client.get("/services/figures/")
    page = r.content.decode()
    assert (
        r.status_code == 200
        and "按时办结率 = 按时办结 ÷ 办结量" in page
        and "满意率 = 满意评价 ÷ 有效评价" in page
    )
    assert r.context["total"]["row"].applied == 2 and r.context["total"]["row"].finished == 1
    assert 'id="figures-chart"' in page and "100.0%" in page
    for group_by in ("item", "window", "staff"):
        r = client.get("/services/figures/", {"group_by": group_by})
        assert r.status_code == 200 and r.context["group_by"] == group_by
    assert client.get("/services/figures/", {"group_by": "moon"}).status_code == 400
    assert client.get("/services/figures/", {"from": "2026-13-01"}).status_code == 400
    client.force_login(c.handler_b)  # one department's own figures
    r = client.get("/services/figures/")
    assert [t["row"].label for t in r.context["table"]] == [c.dept_b.name]
    client.force_login(c.ent_user_a)
    assert client.get("/services/figures/").status_code == 403


# ------------------------------------------------------------------------------------------- home to-dos


def test_home_todos_count_the_rows_behind_their_links(cat, client):
    c = cat.c
    window_case(cat)  # to accept
    corrected = accepted(cat)
    cm = corrected.materials.first()
    services.case_request_correction(actor=c.handler_a, case=corrected, items=[(cm, "不清晰")])
    services.case_submit_correction(actor=c.handler_a, case=corrected, provided={cm.pk: None})
    correcting = services.case_apply(actor=c.ent_user_a, item=cat.item_a, provided={})
    services.case_accept(
        actor=c.handler_a,
        case=correcting,
        tolerated={
            m.pk: timezone.localdate() + dt.timedelta(days=30)
            for m in correcting.materials.filter(tolerance_allowed=True)
        },
        provided=list(correcting.materials.filter(tolerance_allowed=False).values_list("pk", flat=True)),
    )
    services.case_request_correction(actor=c.handler_a, case=correcting, items=[("补充说明", "请补充")])
    extended = accepted(cat)
    services.case_extension_request(actor=c.handler_a, case=extended, days=3, reason="复杂")
    late = accepted(cat)
    Case.objects.filter(pk=late.pk).update(due_date=timezone.localdate() - dt.timedelta(days=4))
    decided = accepted(cat)
    services.case_decide(actor=c.handler_a, case=decided, approve=True)  # pushes to dept_b, to deliver
    unrated = delivered(cat)
    bad = delivered(cat)
    services.case_rate(actor=c.ent_user_a, case=bad, channel="case_page", level=1, bad_aspects=["attitude"])
    contested = delivered(cat)
    services.case_rate(actor=c.ent_user_a, case=contested, channel="case_page", level=2, bad_aspects=["fees"])
    services.rating_contest(actor=c.handler_a, rating=Rating.objects.get(case=contested), reason="恶意")
    appealed = delivered(cat)
    services.case_rate(actor=c.ent_user_a, case=appealed, channel="case_page", level=1, bad_aspects=["other"])
    rect = Rectification.objects.get(rating__case=appealed)
    services.rectification_verify(actor=c.handler_a, rectification=rect, note="n", reached=True)
    services.rectification_resolve(actor=c.handler_a, rectification=rect, outcome="rectified", text="t")
    services.rectification_answer(actor=c.handler_a, rectification=rect, answer="a")
    services.rectification_appeal(actor=c.ent_user_a, rectification=rect, reason="r")
    assert unrated.status == S.DELIVERED

    expect_nonzero = {
        c.handler_a: {"办件待受理", "补正材料已收齐待办理", "办件待送达", "超期办件", "差评待核实整改"},
        c.head_a: {"办件延期待审批"},
        c.handler_b: {"审管互动待认领"},
        c.dispatcher: {"超期办件", "恶意差评申诉待认定", "差评整改申诉待处理"},
        c.ent_user_a: {"办件待补正", "容缺材料待补齐", "办件待评价"},
        c.leader: {"超期办件"},
    }
    for user, nonzero in expect_nonzero.items():
        todos = [t for t in todos_for(user) if t.url.startswith("/services/")]
        labels = {t.label for t in todos if t.count}
        assert nonzero <= labels, (user.username, labels)
        client.force_login(user)
        for t in todos:
            assert rows_behind(client, t.url) == t.count, (user.username, t.label, t.url)
        home = client.get("/").content.decode()
        assert all(t.url.replace("&", "&amp;") in home for t in todos)
    assert [t for t in todos_for(c.auditor) if t.url.startswith("/services/")] == []
    assert CaseMaterial.objects.filter(status="tolerated").exists()

"""Service items through the services on the database: the catalogue, bundles and trees, the case
clock (acceptance, 补正, extension, special procedures, the 2026/2027 boundary), supervision pushes,
好差评 with rectification, the sweep, monitoring and figures — success and refused paths."""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from typing import Any

import pytest
import time_machine
from django.db import IntegrityError, transaction

from yingshang.core import services as core_services
from yingshang.core.errors import Conflict, NotPermitted, ValidationFailed
from yingshang.core.models import AuditRecord, Notification
from yingshang.service_items import catalogue_xlsx, clock, selectors, services
from yingshang.service_items.models import (
    Bundle,
    Case,
    CaseEvent,
    CaseExtension,
    CaseMaterial,
    Material,
    Rating,
    Rectification,
    ServiceItem,
    SupervisionPush,
    TreeNode,
)

S = Case.Status
K = CaseEvent.Kind
D = dt.date
TZ = dt.timezone(dt.timedelta(hours=8))
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def at(y: int, m: int, d: int, h: int = 10) -> Any:
    return time_machine.travel(dt.datetime(y, m, d, h, tzinfo=TZ), tick=False)


def upload(user: Any, name: str = "scan.pdf") -> Any:
    return core_services.attachment_store(upload=io.BytesIO(PDF), name=name, actor=user)


@dataclass
class Catalogue:
    c: Any
    item_a: ServiceItem  # 工信局, 承诺件 5 of 20 days, supervised by 市场监管局
    item_b: ServiceItem  # 市场监管局, 承诺件 3 of 20 days
    instant: ServiceItem  # 工信局, 即办件
    bundle: Bundle  # item_a + item_b, 5 days, led by 工信局


@pytest.fixture
def cat(county: Any) -> Catalogue:
    c = county
    d = c.dispatcher
    item_a = services.item_create(
        actor=d, code="360781-GX-001", name="工业企业技术改造项目备案", item_type="01", department=c.dept_a,
        legal_days=20, promised_days=5, levels=["county", "township"], legal_basis="《企业投资项目核准和备案管理条例》",
        online=True, window="综合窗口3号", hours="工作日 9:00-17:00", supervising_department=c.dept_b)
    services.material_add(actor=d, item=item_a, name="申请书")
    services.material_add(actor=d, item=item_a, name="营业执照", form="copy", tolerance_allowed=True)
    services.material_add(actor=d, item=item_a, name="场地证明", tolerance_allowed=True)
    item_b = services.item_create(actor=d, code="360781-SC-001", name="食品经营许可", item_type="01",
                                  department=c.dept_b, legal_days=20, promised_days=3, online=True,
                                  window="综合窗口5号")
    services.material_add(actor=d, item=item_b, name="申请书")
    services.material_add(actor=d, item=item_b, name="营业执照", form="original")
    services.material_add(actor=d, item=item_b, name="食品安全管理制度")
    instant = services.item_create(actor=d, code="360781-GX-002", name="企业名称变更登记信息确认", item_type="07",
                                   department=c.dept_a, legal_days=5, promised_days=0)
    services.material_add(actor=d, item=instant, name="申请表")
    bundle = services.bundle_create(actor=d, code="YJS-001", name="开办餐饮店", lead_department=c.dept_a,
                                    items=[item_a, item_b], promised_days=5)
    return Catalogue(c, item_a, item_b, instant, bundle)


def staff_for(cat: Catalogue, item: ServiceItem) -> Any:
    return cat.c.handler_a if item.department_id == cat.c.dept_a.pk else cat.c.handler_b


def window_case(cat: Catalogue, item: ServiceItem | None = None, **kw: Any) -> Case:
    item = item or cat.item_a
    args: dict[str, Any] = {"actor": staff_for(cat, item), "item": item, "enterprise": cat.c.ent_a,
                            "provided": {m.pk: None for m in item.materials.all()}}
    args.update(kw)
    return services.case_apply(**args)


def accepted(cat: Catalogue, item: ServiceItem | None = None) -> Case:
    case = window_case(cat, item)
    return services.case_accept(actor=staff_for(cat, item or cat.item_a), case=case)


def delivered(cat: Catalogue, item: ServiceItem | None = None) -> Case:
    case = accepted(cat, item)
    staff = staff_for(cat, item or cat.item_a)
    services.case_decide(actor=staff, case=case, approve=True)
    return services.case_deliver(actor=staff, case=case, method="window")


def row(case: Case) -> dict[str, Any]:
    return Case.objects.filter(pk=case.pk).values().get()


# ------------------------------------------------------------------------------------------- catalogue


def test_promised_over_legal_refused_and_nothing_saved(cat):
    c = cat.c
    n = ServiceItem.objects.count()
    with pytest.raises(ValidationFailed) as exc:
        services.item_create(actor=c.dispatcher, code="X-1", name="某事项", item_type="01", department=c.dept_a,
                             legal_days=20, promised_days=25)
    assert exc.value.field == "promised_days" and "不能超过法定时限" in exc.value.message
    with pytest.raises(ValidationFailed):
        services.item_create(actor=c.dispatcher, code="X-2", name="某事项", item_type="01", department=c.dept_a,
                             legal_days=20, promised_days=0, is_instant=False)
    with pytest.raises(ValidationFailed):
        services.item_update(actor=c.dispatcher, item=cat.item_a, promised_days=21)
    with pytest.raises(ValidationFailed):
        services.item_create(actor=c.dispatcher, code=cat.item_a.code, name="重复", item_type="01",
                             department=c.dept_a, legal_days=20, promised_days=5)
    assert ServiceItem.objects.count() == n
    cat.item_a.refresh_from_db()
    assert cat.item_a.promised_days == 5
    # the database refuses it too
    with pytest.raises(IntegrityError), transaction.atomic():
        ServiceItem.objects.filter(pk=cat.item_a.pk).update(promised_days=30)
    with pytest.raises(IntegrityError), transaction.atomic():
        ServiceItem.objects.filter(pk=cat.item_a.pk).update(promised_days=0)  # 0 ⇔ 即办件


def test_instant_item_and_update_audited(cat):
    assert cat.instant.is_instant and cat.instant.extension_cap == 0
    assert cat.item_a.extension_cap == 10 and cat.bundle.extension_cap == 15
    item = services.item_update(actor=cat.c.dispatcher, item=cat.item_a, promised_days=8, levels=["village"])
    assert item.promised_days == 8 and item.levels == ["village"] and not item.is_instant
    rec = AuditRecord.objects.filter(action="service_item.update").last()
    assert rec.before["promised_days"] == 5 and rec.after["promised_days"] == 8


def test_only_the_office_edits_the_catalogue(cat):
    c = cat.c
    for who in (c.handler_a, c.head_a, c.ent_user_a, c.leader):
        with pytest.raises(NotPermitted):
            services.item_create(actor=who, code="X-9", name="某事项", item_type="01", department=c.dept_a,
                                 legal_days=20, promised_days=5)
        with pytest.raises(NotPermitted):
            services.material_add(actor=who, item=cat.item_a, name="新材料")
    assert not ServiceItem.objects.filter(code="X-9").exists()


def test_bundle_merges_shared_materials_and_bounds_its_limit(cat):
    merged = selectors.bundle_materials(cat.bundle)
    assert [m.name for m in merged] == ["申请书", "营业执照", "场地证明", "食品安全管理制度"]
    licence = merged[1]
    assert licence.item_codes == [cat.item_a.code, cat.item_b.code] and len(licence.material_ids) == 2
    assert licence.form == "both"  # a copy for one item, the original for the other
    assert licence.tolerance_allowed is False  # tolerated only where every item tolerates it
    d = cat.c.dispatcher
    for days in (4, 9):  # longest item 5, sum 8
        with pytest.raises(ValidationFailed) as exc:
            services.bundle_update(actor=d, bundle=cat.bundle, promised_days=days)
        assert exc.value.field == "promised_days"
    with pytest.raises(ValidationFailed):
        services.bundle_create(actor=d, code="YJS-2", name="单项", lead_department=cat.c.dept_a,
                               items=[cat.item_a], promised_days=5)
    assert services.bundle_update(actor=d, bundle=cat.bundle, promised_days=8).promised_days == 8


def test_trees_are_edited_by_the_office(cat):
    d = cat.c.dispatcher
    start = services.tree_node_create(actor=d, tree="enterprise", name="开办")
    expand = services.tree_node_create(actor=d, tree="enterprise", name="扩建")
    food = services.tree_node_create(actor=d, tree="enterprise", name="开办餐饮店", parent=start,
                                     bundles=[cat.bundle], items=[cat.item_b])
    life = services.tree_node_create(actor=d, tree="personal", name="退休")
    services.tree_node_move(actor=d, node=food, parent=expand, order=2)
    food.refresh_from_db()
    assert food.parent_id == expand.pk and food.order == 2
    with pytest.raises(ValidationFailed):
        services.tree_node_move(actor=d, node=expand, parent=food)  # under its own child
    with pytest.raises(ValidationFailed):
        services.tree_node_move(actor=d, node=food, parent=life)  # into the other tree
    with pytest.raises(NotPermitted):
        services.tree_node_create(actor=cat.c.handler_a, tree="enterprise", name="注销")
    with pytest.raises(Conflict):
        services.tree_node_delete(actor=d, node=expand)
    nodes = selectors.tree_nodes("enterprise")
    assert [n.name for n in nodes if n.parent_id is None] == ["开办", "扩建"]
    assert list(next(n for n in nodes if n.pk == food.pk).bundles.all()) == [cat.bundle]
    assert TreeNode.objects.filter(tree="personal").count() == 1


def test_catalogue_xlsx_round_trip_and_row_errors(cat):
    d = cat.c.dispatcher
    data = catalogue_xlsx.catalogue_export(actor=d)
    report = catalogue_xlsx.catalogue_import(actor=d, stream=io.BytesIO(data))
    assert report.errors == []
    assert (report.items_created, report.items_updated) == (0, 3)
    assert (report.materials_created, report.materials_updated) == (0, 7)
    cat.item_a.refresh_from_db()
    assert cat.item_a.levels == ["county", "township"] and cat.item_a.supervising_department == cat.c.dept_b

    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "事项"
    ws.append(["事项编码", "事项名称", "事项类型", "实施部门", "办理层级", "法定时限（工作日）", "承诺时限（工作日）"])
    ws.append(["N-1", "新事项", "行政许可", "GXJ", "县级、乡镇级", 20, 10])
    ws.append(["N-2", "超时限事项", "01", "GXJ", "县级", 20, 25])
    ws.append(["N-3", "部门不存在", "01", "NOPE", "县级", 20, 5])
    wm = wb.create_sheet("材料")
    wm.append(["事项编码", "材料名称", "材料形式", "份数", "可容缺"])
    wm.append(["N-1", "申请书", "原件", 2, "是"])
    wm.append(["N-2", "申请书", "原件", 1, "否"])
    buf = io.BytesIO()
    wb.save(buf)
    report = catalogue_xlsx.catalogue_import(actor=d, stream=io.BytesIO(buf.getvalue()))
    assert report.items_created == 1 and report.materials_created == 1
    assert [(e.sheet, e.row, e.field) for e in report.errors] == [
        ("事项", 3, "promised_days"), ("事项", 4, "department"), ("材料", 3, "item")]
    new = ServiceItem.objects.get(code="N-1")
    assert new.levels == ["county", "township"] and new.materials.get().copies == 2
    assert not ServiceItem.objects.filter(code__in=["N-2", "N-3"]).exists()
    with pytest.raises(NotPermitted):
        catalogue_xlsx.catalogue_export(actor=cat.c.handler_a)


def test_catalogue_xlsx_does_not_depend_on_the_page_language(cat):
    """Chinese type and form names import in an English session; an English export imports too."""
    from django.utils import translation
    from openpyxl import Workbook

    d = cat.c.dispatcher
    wb = Workbook()
    ws = wb.active
    ws.title = "事项"
    ws.append(["事项编码", "事项名称", "事项类型", "实施部门", "办理层级", "法定时限（工作日）", "承诺时限（工作日）"])
    ws.append(["E-1", "英文会话导入", "行政许可", "GXJ", "县级", 20, 10])
    wm = wb.create_sheet("材料")
    wm.append(["事项编码", "材料名称", "材料形式", "份数", "可容缺"])
    wm.append(["E-1", "申请书", "原件", 1, "否"])
    buf = io.BytesIO()
    wb.save(buf)
    with translation.override("en"):
        report = catalogue_xlsx.catalogue_import(actor=d, stream=io.BytesIO(buf.getvalue()))
        assert report.errors == [] and report.items_created == 1
        english = catalogue_xlsx.catalogue_export(actor=d)
    report = catalogue_xlsx.catalogue_import(actor=d, stream=io.BytesIO(english))
    assert report.errors == []


# ------------------------------------------------------------------------------------------- application


def test_online_application_own_enterprise_only(cat):
    c = cat.c
    att = upload(c.ent_user_a)
    with pytest.raises(NotPermitted):
        services.case_apply(actor=c.ent_user_a, item=cat.item_a, enterprise=c.ent_b)
    with pytest.raises(NotPermitted):  # a file someone else uploaded
        services.case_apply(actor=c.ent_user_b, item=cat.item_a,
                            provided={cat.item_a.materials.get(name="申请书").pk: att})
    with pytest.raises(ValidationFailed):  # not an online item
        services.case_apply(actor=c.ent_user_a, item=cat.instant)
    assert Case.objects.count() == 0
    case = services.case_apply(actor=c.ent_user_a, item=cat.item_a,
                               provided={cat.item_a.materials.get(name="申请书").pk: att})
    assert case.channel == "online" and case.department == c.dept_a and case.applicant_enterprise == c.ent_a
    assert case.number.startswith("BJ") and case.status == S.SUBMITTED and case.window == ""
    assert dict(case.materials.values_list("name", "status")) == {
        "申请书": "provided", "营业执照": "missing", "场地证明": "missing"}
    assert case.events.get().kind == K.APPLY


def test_window_filing_by_the_items_department_only(cat):
    c = cat.c
    with pytest.raises(NotPermitted):
        window_case(cat, actor=c.handler_b)
    with pytest.raises(NotPermitted):
        window_case(cat, actor=c.dispatcher)
    case = window_case(cat, enterprise=None, applicant_name="李四", applicant_phone="13800001111")
    assert case.channel == "window" and case.window == "综合窗口3号" and case.applicant_enterprise is None
    with pytest.raises(ValidationFailed):
        window_case(cat, enterprise=None, applicant_name="", applicant_phone="")


def test_acceptance_with_tolerance_then_decision_push_and_delivery(cat):
    c = cat.c
    m = {x.name: x.pk for x in cat.item_a.materials.all()}
    with at(2026, 12, 7):  # Monday
        case = window_case(cat, provided={m["申请书"]: None})
        cm = {x.name: x for x in case.materials.all()}
        with pytest.raises(ValidationFailed) as exc:  # 场地证明 neither checked nor tolerated
            services.case_accept(actor=c.handler_a, case=case, tolerated={cm["营业执照"].pk: D(2026, 12, 11)})
        assert "场地证明" in exc.value.message
        with pytest.raises(ValidationFailed):  # 申请书 is not on the tolerance list
            services.case_accept(actor=c.handler_a, case=case, tolerated={cm["申请书"].pk: D(2026, 12, 11)})
        with pytest.raises(NotPermitted):
            services.case_accept(actor=c.handler_b, case=case, provided=[cm["场地证明"].pk])
        assert row(case)["status"] == S.SUBMITTED
        case = services.case_accept(actor=c.handler_a, case=case, provided=[cm["场地证明"].pk],
                                    tolerated={cm["营业执照"].pk: D(2026, 12, 11)})
        assert case.status == S.ACCEPTED and case.accepted_on == D(2026, 12, 7)
        assert case.due_date == D(2026, 12, 14) and case.due_provisional is False and case.handler == c.handler_a
    with at(2026, 12, 9):
        with pytest.raises(Conflict) as exc:
            services.case_decide(actor=c.handler_a, case=case, approve=True)
        assert "营业执照" in exc.value.message
        services.case_material_provide(actor=c.handler_a, case=case, material=cm["营业执照"])
        case = services.case_decide(actor=c.handler_a, case=case, approve=True)
    assert case.status == S.DECIDED and case.on_time is True and case.used_days == 2
    assert case.finished_on == D(2026, 12, 9)
    push = SupervisionPush.objects.get(case=case)
    assert push.department == c.dept_b and push.item == cat.item_a
    assert list(selectors.supervision_pending(actor=c.dispatcher)) == [push]
    assert list(selectors.supervision_pending(actor=c.handler_b)) == [push]
    assert selectors.case_get(actor=c.handler_b, pk=case.pk) == case  # the supervising department sees it
    with pytest.raises(NotPermitted):
        services.supervision_acknowledge(actor=c.handler_a, push=push)
    services.supervision_acknowledge(actor=c.handler_b, push=push, note="已纳入事中事后监管")
    with pytest.raises(Conflict):
        services.supervision_acknowledge(actor=c.handler_b, push=push)
    assert not selectors.supervision_pending(actor=c.dispatcher).exists()
    with pytest.raises(ValidationFailed):
        services.case_deliver(actor=c.handler_a, case=case, method="post")  # address / tracking number
    case = services.case_deliver(actor=c.handler_a, case=case, method="electronic")
    assert case.status == S.DELIVERED
    assert list(case.events.order_by("id").values_list("kind", flat=True)) == [
        K.APPLY, K.ACCEPT, K.MATERIAL, K.DECIDE, K.PUSH, K.PUSH_ACK, K.DELIVER]
    assert AuditRecord.objects.filter(action__startswith="service_case.", object_id=str(case.pk)).count() == 7
    # the applicant does not see internal steps
    seen = [e.kind for e in selectors.case_timeline(actor=c.ent_user_a, case=case)]
    assert K.PUSH not in seen and K.DECIDE in seen


def test_reject_needs_a_reason_and_refusal_too(cat):
    c = cat.c
    case = window_case(cat)
    with pytest.raises(ValidationFailed):
        services.case_reject(actor=c.handler_a, case=case, reason=" ")
    case = services.case_reject(actor=c.handler_a, case=case, reason="不属于本部门受理范围")
    assert case.status == S.REJECTED and case.finished_on is not None
    other = accepted(cat)
    with pytest.raises(ValidationFailed):
        services.case_decide(actor=c.handler_a, case=other, approve=False)
    other = services.case_decide(actor=c.handler_a, case=other, approve=False, reason="不符合产业政策")
    assert other.decision == "refused" and not SupervisionPush.objects.filter(case=other).exists()


def test_wrong_state_is_refused_with_nothing_changed(cat):
    c = cat.c
    case = window_case(cat)
    before, events, audits = row(case), CaseEvent.objects.count(), AuditRecord.objects.count()
    attempts = [
        lambda: services.case_decide(actor=c.handler_a, case=case, approve=True),
        lambda: services.case_request_correction(actor=c.handler_a, case=case, items=[("申请书", "未签字")]),
        lambda: services.case_special_start(actor=c.handler_a, case=case, kind="expert", note="专家评审"),
        lambda: services.case_special_end(actor=c.handler_a, case=case, result="x"),
        lambda: services.case_extension_request(actor=c.handler_a, case=case, days=5, reason="x"),
        lambda: services.case_deliver(actor=c.handler_a, case=case, method="window"),
        lambda: services.case_submit_correction(actor=c.ent_user_a, case=case, provided={1: None}),
        lambda: services.case_rate(actor=c.ent_user_a, case=case, channel="case_page", level=5),
    ]
    for attempt in attempts:
        with pytest.raises(Conflict):
            attempt()
    case = services.case_accept(actor=c.handler_a, case=case)
    before, events, audits = row(case), CaseEvent.objects.count(), AuditRecord.objects.count()
    for attempt in (lambda: services.case_accept(actor=c.handler_a, case=case),
                    lambda: services.case_reject(actor=c.handler_a, case=case, reason="x"),
                    lambda: services.case_deliver(actor=c.handler_a, case=case, method="window")):
        with pytest.raises(Conflict):
            attempt()
    assert row(case) == before
    assert CaseEvent.objects.count() == events and AuditRecord.objects.count() == audits


# ------------------------------------------------------------------------------------------- the clock


def test_correction_lists_everything_once_pauses_and_resumes(cat):
    c = cat.c
    with at(2026, 12, 7):
        case = accepted(cat)
        assert case.due_date == D(2026, 12, 14)
    with at(2026, 12, 9):  # 2 working days used, 3 left
        cm = case.materials.get(name="场地证明")
        with pytest.raises(ValidationFailed):
            services.case_request_correction(actor=c.handler_a, case=case, items=[])
        with pytest.raises(NotPermitted):
            services.case_request_correction(actor=c.handler_b, case=case, items=[(cm, "缺少盖章")])
        corr = services.case_request_correction(
            actor=c.handler_a, case=case, items=[(cm, "租赁合同缺少盖章"), ("环评批复", "技改项目须附环评批复")],
            note="请一次性补齐")
        case.refresh_from_db()
        assert case.status == S.CORRECTING and case.paused_since == D(2026, 12, 9) and case.correction_rounds == 1
        assert [i["name"] for i in corr.items] == ["场地证明", "环评批复"]
        ev = case.events.get(kind=K.CORRECTION_REQUEST)
        assert [i["name"] for i in ev.data["items"]] == ["场地证明", "环评批复"] and not ev.internal
        with pytest.raises(Conflict):  # the clock is stopped: no decision
            services.case_decide(actor=c.handler_a, case=case, approve=True)
    wanted = {i["name"]: i["case_material"] for i in corr.items}
    with at(2026, 12, 11):
        with pytest.raises(NotPermitted):
            services.case_submit_correction(actor=c.ent_user_b, case=case, provided={wanted["场地证明"]: None})
        with pytest.raises(ValidationFailed):  # online: the file is needed
            services.case_submit_correction(actor=c.ent_user_a, case=case, provided={wanted["场地证明"]: None})
        case = services.case_submit_correction(actor=c.ent_user_a, case=case,
                                               provided={wanted["场地证明"]: upload(c.ent_user_a)})
        assert case.status == S.CORRECTING  # one item still missing
    with at(2026, 12, 14):
        case = services.case_submit_correction(actor=c.handler_a, case=case, provided={wanted["环评批复"]: None})
    assert case.status == S.ACCEPTED and case.paused_since is None
    # 10, 11, 14 Dec not counted: the 3 days left run 15, 16, 17 Dec
    assert case.due_date == D(2026, 12, 17) and case.paused_days == 3
    corr.refresh_from_db()
    assert corr.completed_on == D(2026, 12, 14)
    with at(2026, 12, 17):
        case = services.case_decide(actor=c.handler_a, case=case, approve=True)
    assert case.on_time is True and case.used_days == 5


def test_extension_capped_once_and_approved_by_the_head(cat):
    c = cat.c
    with at(2026, 12, 7):
        case = accepted(cat)
        with pytest.raises(ValidationFailed):
            services.case_extension_request(actor=c.handler_a, case=case, days=11, reason="需现场核查")
        ext = services.case_extension_request(actor=c.handler_a, case=case, days=10, reason="需现场核查")
        with pytest.raises(Conflict):
            services.case_extension_request(actor=c.handler_a, case=case, days=2, reason="再延")
        with pytest.raises(NotPermitted):
            services.case_extension_decide(actor=c.handler_a, extension=ext, approve=True)
        with pytest.raises(NotPermitted):
            services.case_extension_decide(actor=c.dispatcher, extension=ext, approve=True)
        services.case_extension_decide(actor=c.head_a, extension=ext, approve=True, note="同意")
        case.refresh_from_db()
        assert case.extension_days == 10 and case.due_date == D(2026, 12, 28)
        with pytest.raises(Conflict):
            services.case_extension_decide(actor=c.head_a, extension=ext, approve=True)
        with pytest.raises(Conflict):  # one extension per case
            services.case_extension_request(actor=c.handler_a, case=case, days=1, reason="再延")
    with pytest.raises(IntegrityError), transaction.atomic():
        CaseExtension.objects.create(case=case, days=1, reason="x", requested_by=c.handler_a,
                                     requested_at=ext.requested_at)
    with at(2026, 12, 7):
        late = accepted(cat)
    with at(2026, 12, 15):  # the due date (14 Dec) has passed
        with pytest.raises(Conflict):
            services.case_extension_request(actor=c.handler_a, case=late, days=3, reason="来不及")
    with at(2026, 12, 7):
        instant = accepted(cat, cat.instant)
        assert instant.due_date == D(2026, 12, 7)
        with pytest.raises(Conflict):
            services.case_extension_request(actor=c.handler_a, case=instant, days=1, reason="x")


def test_special_procedure_across_the_year_boundary(cat):
    c = cat.c
    with at(2026, 12, 21):
        case = accepted(cat)
        assert case.due_date == D(2026, 12, 28) and not case.due_provisional
    with at(2026, 12, 23):
        with pytest.raises(ValidationFailed):
            services.case_special_start(actor=c.handler_a, case=case, kind="party", note="x")
        services.case_special_start(actor=c.handler_a, case=case, kind="expert", note="组织专家评审", expected_days=5)
        case.refresh_from_db()
        assert case.status == S.SPECIAL and case.paused_since == D(2026, 12, 23)
    with at(2027, 1, 6):
        case = services.case_special_end(actor=c.handler_a, case=case, result="专家评审通过")
    # 2 days used (22, 23 Dec), 3 left after 6 Jan: 7, 8, 11 Jan 2027 — a provisional year
    assert case.status == S.ACCEPTED and case.due_date == D(2027, 1, 11) and case.due_provisional is True
    assert case.paused_days == 9
    expected = clock.compute(D(2026, 12, 21), 5, [clock.Pause(D(2026, 12, 23), D(2027, 1, 6))])
    assert expected.due_date == case.due_date


def test_provisional_due_date_recomputed_when_2027_becomes_official(cat):
    with at(2026, 12, 28):
        case = accepted(cat)
    assert case.due_date == D(2027, 1, 5) and case.due_provisional
    csv = "2027-01-01,放假,元旦\n2027-01-04,放假,元旦\n2027-01-09,上班,调休\n"
    core_services.calendar_import(data=csv.encode(), actor=None, source="test")
    case.refresh_from_db()
    # 29, 30, 31 Dec; 1 and 4 Jan off; 5, 6 Jan
    assert case.due_date == D(2027, 1, 6) and case.due_provisional is False
    assert case.events.filter(kind=K.RECOMPUTE).count() == 1


def test_bundle_case_one_application_merged_materials(cat):
    c = cat.c
    merged = selectors.bundle_materials(cat.bundle)
    att = upload(c.ent_user_a)
    with at(2026, 12, 7):
        case = services.case_apply(actor=c.ent_user_a, bundle=cat.bundle,
                                   provided={merged[1].material_ids[1]: att})  # any id of a shared material
        assert case.department == c.dept_a and case.promised_days == 5
        assert list(case.materials.values_list("name", flat=True)) == ["申请书", "营业执照", "场地证明", "食品安全管理制度"]
        assert case.materials.get(name="营业执照").status == "provided"
        case = services.case_accept(actor=c.handler_a, case=case,
                                    provided=case.materials.exclude(status="provided").values_list("pk", flat=True))
        with pytest.raises(ValidationFailed):
            services.case_extension_request(actor=c.handler_a, case=case, days=16, reason="联合办理")
        services.case_extension_request(actor=c.handler_a, case=case, days=15, reason="联合办理")
        case = services.case_decide(actor=c.handler_a, case=case, approve=True)
    assert list(SupervisionPush.objects.filter(case=case).values_list("item__code", flat=True)) == [cat.item_a.code]


# ------------------------------------------------------------------------------------------- 好差评


def test_rating_once_per_channel_only_by_the_applicant(cat):
    c = cat.c
    case = delivered(cat)
    with pytest.raises(NotPermitted):
        services.case_rate(actor=c.handler_a, case=case, channel="case_page", level=5)  # staff, own case
    with pytest.raises(NotPermitted):
        services.case_rate(actor=c.head_a, case=case, channel="case_page", level=5)  # own department
    with pytest.raises(NotPermitted):
        services.case_rate(actor=c.ent_user_b, case=case, channel="case_page", level=5)
    with pytest.raises(NotPermitted):
        services.case_rate(actor=None, case=case, channel="sms", level=5, token="forged")
    with pytest.raises(ValidationFailed):
        services.case_rate(actor=c.ent_user_a, case=case, channel="case_page", level=6)
    r = services.case_rate(actor=c.ent_user_a, case=case, channel="case_page", level=5, comment="很快")
    assert r.rater == c.ent_user_a and not r.is_bad
    with pytest.raises(Conflict):
        services.case_rate(actor=c.ent_user_a, case=case, channel="case_page", level=4)
    token = services.rating_token(case)
    other = delivered(cat)
    with pytest.raises(NotPermitted):  # a token of another case
        services.case_rate(actor=None, case=other, channel="sms", level=5, token=token)
    sms = services.case_rate(actor=None, case=case, channel="sms", level=4, token=token)
    assert sms.rater is None and sms.rater_name == c.ent_a.name
    with pytest.raises(Conflict):
        services.case_rate(actor=None, case=case, channel="sms", level=1, token=token, bad_aspects=["attitude"])
    assert Rating.objects.filter(case=case).count() == 2
    assert not Rectification.objects.exists()


def test_bad_rating_rectification_appeal_and_contest(cat, settings):
    settings.SERVICE_RECTIFY_DAYS = 3
    c = cat.c
    with at(2026, 12, 7):
        case = delivered(cat)
        with pytest.raises(ValidationFailed):  # a bad rating says what was bad
            services.case_rate(actor=c.ent_user_a, case=case, channel="case_page", level=2)
        r = services.case_rate(actor=c.ent_user_a, case=case, channel="case_page", level=2, comment="跑了两趟",
                               bad_aspects=["efficiency", "guidance"])
    rect = r.rectification
    assert r.is_bad and rect.department == c.dept_a and rect.due_date == D(2026, 12, 10)
    with at(2026, 12, 8):
        with pytest.raises(NotPermitted):
            services.rectification_verify(actor=c.handler_b, rectification=rect, note="x", reached=True)
        with pytest.raises(Conflict):
            services.rectification_answer(actor=c.handler_a, rectification=rect, answer="x")
        services.rectification_verify(actor=c.handler_a, rectification=rect, note="电话联系王经理，属实", reached=True)
        services.rectification_resolve(actor=c.handler_a, rectification=rect, outcome="rectified",
                                       text="已在窗口增设一次性告知单")
        rect = services.rectification_answer(actor=c.handler_a, rectification=rect, answer="已整改，感谢监督")
    assert rect.status == "answered" and rect.answered_on_time is True
    with pytest.raises(NotPermitted):
        services.rectification_appeal(actor=c.ent_user_b, rectification=rect, reason="x")
    with at(2026, 12, 9):
        rect = services.rectification_appeal(actor=c.ent_user_a, rectification=rect, reason="问题依旧")
        with pytest.raises(NotPermitted):
            services.rectification_appeal_decide(actor=c.head_a, rectification=rect, reopen=True, note="x")
        rect = services.rectification_appeal_decide(actor=c.dispatcher, rectification=rect, reopen=True,
                                                    note="请重新整改")
    assert rect.status == "verified" and rect.due_date == D(2026, 12, 14)
    services.rectification_resolve(actor=c.handler_a, rectification=rect, outcome="explained", text="说明")
    rect = services.rectification_answer(actor=c.handler_a, rectification=rect, answer="再次回复")
    with pytest.raises(Conflict):  # appealed once only
        services.rectification_appeal(actor=c.ent_user_a, rectification=rect, reason="还是不满意")
    # a malicious rating: contested by the department, decided by the office
    with pytest.raises(Conflict):
        services.rating_contest(actor=c.handler_a, rating=Rating.objects.create(
            case=case, channel="window", level=5, rater_name="x", rated_at=r.rated_at), reason="x")
    with pytest.raises(NotPermitted):
        services.rating_contest(actor=c.handler_b, rating=r, reason="恶意")
    services.rating_contest(actor=c.handler_a, rating=r, reason="评价人系竞争对手，恶意差评")
    with pytest.raises(NotPermitted):
        services.rating_contest_decide(actor=c.head_a, rating=r, void=True, note="x")
    r = services.rating_contest_decide(actor=c.dispatcher, rating=r, void=True, note="经核实属恶意差评")
    assert r.voided and Rectification.objects.get(pk=rect.pk).status == "voided"
    with pytest.raises(Conflict):
        services.rating_contest(actor=c.handler_a, rating=r, reason="again")


def test_personal_applicant_rates_through_the_sms_link(cat):
    c = cat.c
    case = window_case(cat, enterprise=None, applicant_name="李四", applicant_phone="13800001111")
    case = services.case_reject(actor=c.handler_a, case=case, reason="材料不属实")
    with pytest.raises(NotPermitted):  # no account: only the link identifies the applicant
        services.case_rate(actor=c.ent_user_a, case=case, channel="case_page", level=5)
    r = services.case_rate(actor=None, case=case, channel="qr", level=1, token=services.rating_token(case),
                           bad_aspects=["attitude"])
    assert r.rater_name == "李四" and r.rectification.status == "open"


def test_the_applicants_phone_gets_the_rating_link_once(cat, client, django_capture_on_commit_callbacks):
    from yingshang.core.models import OutboundSms
    from yingshang.core.tasks import deliver_sms

    c = cat.c
    with django_capture_on_commit_callbacks() as callbacks:
        case = window_case(cat, enterprise=None, applicant_name="李四", applicant_phone="13800001111")
        case = services.case_reject(actor=c.handler_a, case=case, reason="材料不属实")
    assert len(callbacks) >= 1
    sms = OutboundSms.objects.get()
    token = services.rating_token(case)
    assert sms.phone == "13800001111" and f"/services/rate/{token}/" in sms.text and case.number in sms.text
    assert deliver_sms.call(sms_id=sms.pk) == "logged"
    first = OutboundSms.objects.get().sent_at
    assert first is not None
    deliver_sms.call(sms_id=sms.pk)  # a retried task sends nothing again
    assert OutboundSms.objects.get().sent_at == first
    # the link opens the rating page without an account
    path = sms.text.split("127.0.0.1:8000", 1)[1]
    assert client.get(path).status_code == 200
    # a delivered case texts its applicant too, once
    done = delivered(cat)
    assert OutboundSms.objects.filter(key=f"case-rate-{done.pk}").count() == 1


# ------------------------------------------------------------------------------------------- monitoring


def build_open_cases(cat: Catalogue) -> dict[str, Case]:
    cases: dict[str, Case] = {}
    for name, day in (("overdue", 1), ("red", 7), ("yellow", 8), ("paused", 9), ("green", 14)):
        with at(2026, 12, day):
            cases[name] = accepted(cat)
    with at(2026, 12, 10):
        services.case_request_correction(actor=cat.c.handler_a, case=cases["paused"], items=[("申请书", "未签字")])
        cases["b_yellow"] = accepted(cat, cat.item_b)  # 3 days: due 15 Dec
    with at(2026, 12, 14):
        cases["window_b"] = window_case(cat, window="综合窗口8号")  # submitted, not yet accepted
    return cases


def test_monitor_colours_by_department_and_window(cat, django_assert_max_num_queries):
    c = cat.c
    cases = build_open_cases(cat)
    today = D(2026, 12, 14)  # Monday; warn 2 days: yellow from 15 Dec, green from 17 Dec
    clock.colour_bounds(today, 2)  # the calendar's per-process cache is warm, as on a live server
    with django_assert_max_num_queries(2):  # one grouped count, one for the department names
        mon = selectors.case_monitor(actor=c.dispatcher, today=today)
    by_dept = {r.department_id: r for r in mon.departments}
    a, b = by_dept[c.dept_a.pk], by_dept[c.dept_b.pk]
    assert (a.green, a.yellow, a.red, a.overdue, a.paused) == (1, 1, 1, 1, 1)
    assert (b.green, b.yellow, b.red, b.overdue, b.paused) == (0, 1, 0, 0, 0)
    assert mon.total.open == 6  # the submitted case has no clock yet
    windows = {(r.department_id, r.window): r for r in mon.windows}
    assert windows[(c.dept_a.pk, "综合窗口3号")].open == 5
    # every count equals the colour computed case by case
    for colour in clock.COLOURS:
        listed = selectors.case_list(actor=c.dispatcher, colour=colour, today=today)
        assert listed.count() == sum(getattr(r, colour) for r in mon.departments)
        for case in listed:
            assert clock.colour(case.due_date, today, 2) == colour
    assert list(selectors.case_overdue_list(actor=c.dispatcher, today=today)) == [cases["overdue"]]
    mine = selectors.case_monitor(actor=c.handler_a, today=today)
    assert [r.department_id for r in mine.departments] == [c.dept_a.pk]
    with pytest.raises(NotPermitted):
        selectors.case_monitor(actor=c.ent_user_a, today=today)
    assert set(selectors.case_list(actor=c.ent_user_a)) == set(Case.objects.filter(applicant_enterprise=c.ent_a))
    assert not selectors.case_list(actor=c.ent_user_b).exists()
    assert all(x.department_id == c.dept_b.pk for x in selectors.case_list(actor=c.handler_b))


def test_sweep_warns_once_and_marks_overdue(cat, django_capture_on_commit_callbacks):
    cases = build_open_cases(cat)
    with at(2026, 12, 14, 1):
        with django_capture_on_commit_callbacks(execute=True):
            counts = services.case_sweep()
        assert counts == {"warned": 2, "due_today": 1, "overdue": 1, "tolerance_overdue": 0}
        assert services.case_sweep() == {"warned": 0, "due_today": 0, "overdue": 0, "tolerance_overdue": 0}
    assert CaseEvent.objects.filter(kind=K.OVERDUE).get().case == cases["overdue"]
    assert set(CaseEvent.objects.filter(kind=K.WARN).values_list("case", flat=True)) == {
        cases["yellow"].pk, cases["b_yellow"].pk}
    assert Case.objects.get(pk=cases["overdue"].pk).overdue_at is not None
    assert Notification.objects.filter(title__startswith="办件已超期", recipient=cat.c.dispatcher).count() == 1
    # an approved extension moves the due date and re-arms the notices
    with at(2026, 12, 14):
        ext = services.case_extension_request(actor=cat.c.handler_a, case=cases["red"], days=5, reason="需补充论证")
        services.case_extension_decide(actor=cat.c.head_a, extension=ext, approve=True)
    red = Case.objects.get(pk=cases["red"].pk)
    assert red.due_date == D(2026, 12, 21) and red.due_notified_at is None


# ------------------------------------------------------------------------------------------- figures


def test_figures_consistent_with_the_rows(cat):
    c = cat.c
    with at(2026, 12, 7):
        on_time = accepted(cat)
        corrected = accepted(cat)
        late = accepted(cat)
        instant = accepted(cat, cat.instant)
        services.case_decide(actor=c.handler_a, case=instant, approve=True)
        services.case_deliver(actor=c.handler_a, case=instant, method="window")
        services.case_reject(actor=c.handler_a, case=window_case(cat), reason="不属于受理范围")
        online = services.case_apply(actor=c.ent_user_a, item=cat.item_a)
        b_case = accepted(cat, cat.item_b)
    with at(2026, 12, 8):
        services.case_request_correction(actor=c.handler_a, case=corrected, items=[("申请书", "未签字")])
        services.case_decide(actor=c.handler_a, case=on_time, approve=True)
        services.case_deliver(actor=c.handler_a, case=on_time, method="window")
        services.case_decide(actor=c.handler_b, case=b_case, approve=True)
    with at(2026, 12, 9):
        services.case_submit_correction(actor=c.handler_a, case=corrected, provided={
            corrected.materials.get(name="申请书").pk: None})
    with at(2026, 12, 10):
        services.case_decide(actor=c.handler_a, case=corrected, approve=True)
    with at(2026, 12, 16):  # due 14 Dec
        services.case_decide(actor=c.handler_a, case=late, approve=True)
        services.case_rate(actor=c.ent_user_a, case=on_time, channel="case_page", level=5)
        services.case_rate(actor=c.ent_user_a, case=instant, channel="case_page", level=3)
        bad = services.case_rate(actor=c.ent_user_a, case=instant, channel="sms", level=1, bad_aspects=["attitude"])
        services.rectification_verify(actor=c.handler_a, rectification=bad.rectification, note="已联系", reached=True)
        services.rectification_resolve(actor=c.handler_a, rectification=bad.rectification, outcome="explained",
                                       text="说明")
        services.rectification_answer(actor=c.handler_a, rectification=bad.rectification, answer="回复")
        malicious = services.case_rate(actor=c.ent_user_a, case=on_time, channel="sms", level=1,
                                       bad_aspects=["other"])
        services.rating_contest(actor=c.handler_a, rating=malicious, reason="恶意")
        services.rating_contest_decide(actor=c.dispatcher, rating=malicious, void=True, note="属实")
    assert online.channel == "online"
    figs = selectors.case_figures(actor=c.dispatcher, date_from=D(2026, 12, 1), date_to=D(2026, 12, 31),
                                  group_by="department")
    a = next(r for r in figs.rows if r.key == str(c.dept_a.pk))
    b = next(r for r in figs.rows if r.key == str(c.dept_b.pk))
    assert (a.applied, a.applied_online, a.accepted, a.rejected) == (6, 1, 4, 1)
    assert (a.finished, a.finished_on_time, a.one_time, a.instant) == (4, 3, 3, 1)
    assert a.on_time_rate == 0.75 and a.one_time_rate == 0.75 and a.instant_share == 0.25
    decided = Case.objects.filter(department=c.dept_a, finished_on__isnull=False, decision__in=["approved"])
    assert a.used_days_sum == sum(x.used_days for x in decided)
    assert a.avg_promised_days == round((5 + 5 + 5 + 0) / 4, 1)
    assert (a.ratings, a.satisfied, a.bad_ratings) == (3, 2, 1)  # the voided rating is left out
    assert (a.rectifications, a.rectified_on_time, a.rectify_on_time_rate) == (1, 1, 1.0)
    assert (b.finished, b.finished_on_time, b.ratings) == (1, 1, 0)
    assert figs.total.finished == 5 and figs.total.applied == 7
    assert figs.total.finished == CaseEvent.objects.filter(kind=K.DECIDE).count()
    by_item = selectors.case_figures(actor=c.dispatcher, date_from=D(2026, 12, 1), date_to=D(2026, 12, 31),
                                     group_by="item")
    assert {r.key: r.finished for r in by_item.rows} == {
        f"item:{cat.item_a.pk}": 3, f"item:{cat.instant.pk}": 1, f"item:{cat.item_b.pk}": 1}
    by_staff = selectors.case_figures(actor=c.dispatcher, date_from=D(2026, 12, 1), date_to=D(2026, 12, 31),
                                      group_by="staff")
    assert {r.label: r.finished for r in by_staff.rows if r.finished} == {"handler_a": 4, "handler_b": 1}
    mine = selectors.case_figures(actor=c.handler_b, date_from=D(2026, 12, 1), date_to=D(2026, 12, 31))
    assert [r.key for r in mine.rows] == [str(c.dept_b.pk)]
    with pytest.raises(NotPermitted):
        selectors.case_figures(actor=c.ent_user_a, date_from=D(2026, 12, 1), date_to=D(2026, 12, 31))
    for name in ("on_time_rate", "one_time_rate", "instant_share", "online_share", "bad_share", "avg_used_days",
                 "rectify_on_time_rate", "satisfaction_rate"):
        assert name in selectors.FORMULAS
    # a later period sees none of it
    empty = selectors.case_figures(actor=c.dispatcher, date_from=D(2027, 1, 1), date_to=D(2027, 1, 31))
    assert empty.rows == [] and empty.total.finished == 0
    assert Material.objects.filter(item=cat.item_a).count() == 3
    assert CaseMaterial.objects.filter(case=corrected).get(name="申请书").status == "provided"

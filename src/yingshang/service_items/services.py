"""Every write of the catalogue, the cases and 好差评: one function, one transaction, permission
first, the row locked and its state checked, a ``CaseEvent`` row and an audit record written in the
same transaction, notifications after commit.  Local limits come from ``conf.py``
(``SERVICE_WARN_DAYS``, ``SERVICE_RECTIFY_DAYS``)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.db.models import Max
from django.utils import timezone

from yingshang.core import workdays
from yingshang.core.audit import audit_record, snapshot
from yingshang.core.errors import Conflict, NotFound, NotPermitted, ValidationFailed, from_django_validation
from yingshang.core.models import Attachment, Department, Role, User
from yingshang.core.permissions import require
from yingshang.core.services import notify
from yingshang.enterprises.models import Enterprise

from . import clock
from .conf import rectify_days, warn_days
from .models import (
    ENDED_STATUSES,
    OPEN_STATUSES,
    Bundle,
    BundleItem,
    Case,
    CaseEvent,
    CaseExtension,
    CaseMaterial,
    Correction,
    ItemType,
    Material,
    MaterialForm,
    Rating,
    Rectification,
    ServiceItem,
    SpecialProcedure,
    SupervisionPush,
    TreeNode,
)
from .selectors import MergedMaterial, bundle_materials, subject_materials

S = Case.Status
K = CaseEvent.Kind
R = Rectification.Status
RATING_SALT = "yingshang.service_items.rating"
LEVELS = ("county", "township", "village")


def _today() -> dt.date:
    return timezone.localdate()


def _text(value: str | None, field: str, label: str, max_len: int = 5000, required: bool = True) -> str:
    value = (value or "").strip()
    if required and not value:
        raise ValidationFailed(f"{label}不能为空", f"{field} is required", field=field)
    if len(value) > max_len:
        raise ValidationFailed(f"{label}超过 {max_len} 字", f"{field} longer than {max_len} characters", field=field)
    return value


def _clean(obj: models.Model) -> None:
    try:
        obj.full_clean()
    except ValidationError as exc:
        raise from_django_validation(exc) from None


def _jsonable(v: Any) -> Any:
    return str(v) if isinstance(v, (dt.date, dt.datetime)) else v


def _event(case: Case, kind: str, actor: User | None, *, frm: str = "", text: str = "", internal: bool = False,
           department: Department | None = None, at: dt.datetime | None = None, **data: Any) -> CaseEvent:
    dept_id = department.pk if department else (actor.department_id if actor and actor.department_id else None)
    ev = CaseEvent.objects.create(
        case=case, kind=kind, from_status=frm, to_status=case.status, actor=actor, at=at or timezone.now(),
        text=text, internal=internal, department_id=dept_id,
        data={k: _jsonable(v) for k, v in data.items()},
    )
    audit_record(actor=actor, action=f"service_case.{kind}", obj=case, object_repr=case.number,
                 after={"status": case.status, "from": frm, **ev.data})
    return ev


def _wrong_state(case: Case, action: str) -> Conflict:
    return Conflict(f"办件当前状态为「{case.get_status_display()}」，不能{action}",
                    f"the case is {case.status}; cannot {action}", field="status")


def _lock(case: Case, *statuses: str, action: str = "") -> Case:
    """Re-read the case under a row lock; with ``statuses``, refuse any other state."""
    locked = Case.objects.select_for_update().get(pk=case.pk)
    if statuses and locked.status not in statuses:
        raise _wrong_state(locked, action)
    return locked


def _require_handler(actor: User, case: Case) -> None:
    require(actor, "services.handle")
    if actor.department_id is None or actor.department_id != case.department_id:
        raise NotPermitted("只有承办部门可以办理该办件", "only the handling department handles this case")


def _is_applicant(actor: User | None, case: Case) -> bool:
    if actor is None or not actor.is_active:
        return False
    if case.applicant_user_id and actor.pk == case.applicant_user_id:
        return True
    return (actor.role == Role.ENTERPRISE and case.applicant_enterprise_id is not None
            and actor.enterprise_id == case.applicant_enterprise_id)


def _require_applicant_or_handler(actor: User, case: Case) -> bool:
    """True for the applicant, False for the handling department's staff; anyone else is refused."""
    if _is_applicant(actor, case):
        return True
    _require_handler(actor, case)
    return False


def _own_attachment(actor: User, att: Attachment | None, field: str) -> Attachment:
    if att is None:
        raise ValidationFailed("请上传材料文件", "upload the material's file", field=field)
    if att.uploaded_by_id != actor.pk:
        raise NotPermitted("只能提交本人上传的文件", "you can only submit files you uploaded", field=field)
    return att


def _notify_later(users: list[User], title: str, case: Case, body: str = "") -> None:
    if not users:
        return

    def send() -> None:
        with transaction.atomic():
            notify(recipients=users, title=title, body=body or case.number, url=f"/services/cases/{case.pk}/")

    transaction.on_commit(send)


def _applicant_users(case: Case) -> list[User]:
    if case.applicant_enterprise_id:
        return list(User.objects.filter(enterprise_id=case.applicant_enterprise_id, is_active=True))
    if case.applicant_user_id:
        return list(User.objects.filter(pk=case.applicant_user_id, is_active=True))
    return []


def _staff(department_id: int | None, roles: Iterable[str] = (Role.HANDLER, Role.HEAD)) -> list[User]:
    if department_id is None:
        return []
    return list(User.objects.filter(department_id=department_id, role__in=list(roles), is_active=True))


def _subject(case: Case) -> ServiceItem | Bundle:
    return case.item if case.item_id else case.bundle  # type: ignore[return-value]


# ------------------------------------------------------------------------------------------- the clock


def case_pauses(case: Case) -> list[clock.Pause]:
    """The case's pauses (corrections and special procedures) for ``clock.compute``."""
    pauses = [clock.Pause(c.requested_on, c.completed_on) for c in case.corrections.all()]
    pauses += [clock.Pause(p.start_on, p.end_on) for p in case.special_procedures.all()]
    return sorted(pauses, key=lambda p: p.start)


def _reclock(case: Case) -> bool:
    """Recompute the stored clock of an accepted case from its rows; True when the due date moved.
    A moved due date re-arms the sweep's notices."""
    assert case.accepted_on is not None
    pauses = case_pauses(case)
    state = clock.compute(case.accepted_on, case.limit_days, pauses)
    moved = state.due_date != case.due_date
    case.due_date, case.due_provisional, case.paused_days = state.due_date, state.provisional, state.paused_days
    case.paused_since = pauses[-1].start if state.paused else None
    if moved:
        case.warned_at = case.due_notified_at = case.overdue_at = None
    return moved


def rating_token(case: Case) -> str:
    """The signed token of the SMS / QR rating link of a case (no expiry; a channel rates once)."""
    return signing.dumps(case.pk, salt=RATING_SALT)


def _token_case_id(token: str) -> int | None:
    try:
        value = signing.loads(token, salt=RATING_SALT)
    except signing.BadSignature:
        return None
    return value if isinstance(value, int) else None


def case_for_rating_token(token: str) -> Case | None:
    """The case a rating link (SMS, QR) names, or None for a forged or mangled link."""
    pk = _token_case_id(token)
    return Case.objects.select_related("item", "bundle", "department").filter(pk=pk).first() if pk else None


# ------------------------------------------------------------------------------------------- catalogue

ITEM_FIELDS = ("code", "name", "item_type", "department", "levels", "legal_basis", "legal_days", "promised_days",
               "is_instant", "joint_handling", "conditions", "fees", "online", "window", "hours", "notify_commit",
               "supervising_department", "active")
ITEM_AUDIT = ["code", "name", "item_type", "department_id", "level_county", "level_township", "level_village",
              "legal_days", "promised_days", "is_instant", "joint_handling", "online", "window", "hours",
              "notify_commit", "supervising_department_id", "active"]


def _set_levels(item: ServiceItem, levels: Iterable[str]) -> None:
    chosen = set(levels)
    unknown = chosen - set(LEVELS)
    if unknown:
        raise ValidationFailed(f"未知办理层级：{'、'.join(sorted(unknown))}", f"unknown levels {sorted(unknown)}",
                               field="levels")
    if not chosen:
        raise ValidationFailed("至少选择一个办理层级（县、乡镇、村）", "choose at least one handling level",
                               field="levels")
    item.level_county, item.level_township, item.level_village = (lv in chosen for lv in LEVELS)


def _validate_item(item: ServiceItem) -> None:
    if item.item_type not in ItemType.values:
        raise ValidationFailed(f"事项类型 {item.item_type} 无效", f"invalid item type {item.item_type}", field="item_type")
    if item.promised_days > item.legal_days:
        raise ValidationFailed(
            f"承诺时限（{item.promised_days} 个工作日）不能超过法定时限（{item.legal_days} 个工作日）",
            f"the promised limit ({item.promised_days}) cannot exceed the legal limit ({item.legal_days})",
            field="promised_days")
    if item.is_instant and item.promised_days != 0:
        raise ValidationFailed("即办件的承诺时限应为 0", "an on-the-spot item has a promised limit of 0",
                               field="promised_days")
    if not item.is_instant and item.promised_days == 0:
        raise ValidationFailed("承诺件的承诺时限应大于 0", "a promised item needs a limit above 0", field="promised_days")
    if item.supervising_department_id and item.supervising_department_id == item.department_id:
        raise ValidationFailed("监管部门应不同于实施部门", "the supervising department must differ from the handling one",
                               field="supervising_department")
    clash = ServiceItem.objects.filter(code=item.code).exclude(pk=item.pk).exists()
    if clash:
        raise ValidationFailed(f"事项编码 {item.code} 已存在", f"item code {item.code} already exists", field="code")
    _clean(item)


def _apply_item_fields(item: ServiceItem, fields: Mapping[str, Any]) -> None:
    unknown = set(fields) - set(ITEM_FIELDS)
    if unknown:
        raise ValidationFailed(f"未知字段：{'、'.join(sorted(unknown))}", f"unknown fields {sorted(unknown)}",
                               field=sorted(unknown)[0])
    for name, value in fields.items():
        if name == "levels":
            _set_levels(item, value)
        elif name in ("code", "name"):
            setattr(item, name, _text(value, name, "事项编码" if name == "code" else "事项名称",
                                      64 if name == "code" else 200))
        elif isinstance(value, str):
            setattr(item, name, value.strip())
        else:
            setattr(item, name, value)
    if "is_instant" not in fields and "promised_days" in fields:
        item.is_instant = item.promised_days == 0


@transaction.atomic
def item_create(*, actor: User, code: str, name: str, item_type: str, department: Department, legal_days: int,
                promised_days: int, levels: Iterable[str] = ("county",), is_instant: bool | None = None,
                **fields: Any) -> ServiceItem:
    """Add an item to the catalogue.  ``is_instant`` defaults to promised = 0 (即办件)."""
    require(actor, "services.catalogue_edit")
    item = ServiceItem()
    given: dict[str, Any] = {"code": code, "name": name, "item_type": item_type, "department": department,
                             "legal_days": legal_days, "promised_days": promised_days, "levels": levels, **fields}
    _apply_item_fields(item, given)
    item.is_instant = promised_days == 0 if is_instant is None else is_instant
    _validate_item(item)
    item.save()
    audit_record(actor=actor, action="service_item.create", obj=item, after=snapshot(item, ITEM_AUDIT))
    return item


@transaction.atomic
def item_update(*, actor: User, item: ServiceItem, **changes: Any) -> ServiceItem:
    require(actor, "services.catalogue_edit")
    item = ServiceItem.objects.select_for_update().get(pk=item.pk)
    before = snapshot(item, ITEM_AUDIT)
    _apply_item_fields(item, changes)
    _validate_item(item)
    item.save()
    after = snapshot(item, ITEM_AUDIT)
    audit_record(actor=actor, action="service_item.update", obj=item, before=before, after=after)
    return item


def _material_fields(m: Material) -> None:
    m.name = _text(m.name, "name", "材料名称", 200)
    if m.form not in MaterialForm.values:
        raise ValidationFailed("材料形式应为 原件/复印件/原件及复印件", "form must be original/copy/both", field="form")
    if m.copies < 1:
        raise ValidationFailed("份数至少为 1", "at least one copy", field="copies")
    if Material.objects.filter(item_id=m.item_id, name=m.name).exclude(pk=m.pk).exists():
        raise ValidationFailed(f"该事项已有材料「{m.name}」", f"the item already lists {m.name}", field="name")
    _clean(m)


@transaction.atomic
def material_add(*, actor: User, item: ServiceItem, name: str, form: str = MaterialForm.ORIGINAL, copies: int = 1,
                 tolerance_allowed: bool = False, template: Attachment | None = None, note: str = "",
                 order: int | None = None) -> Material:
    require(actor, "services.catalogue_edit")
    item = ServiceItem.objects.select_for_update().get(pk=item.pk)
    if order is None:
        order = (item.materials.aggregate(m=Max("order"))["m"] or 0) + 1
    m = Material(item=item, name=name, form=form, copies=copies, tolerance_allowed=tolerance_allowed,
                 template=template, note=(note or "").strip()[:500], order=order)
    _material_fields(m)
    m.save()
    audit_record(actor=actor, action="service_material.add", obj=m, object_repr=f"{item.code} {m.name}",
                 after=snapshot(m, ["item_id", "name", "form", "copies", "tolerance_allowed", "order"]))
    return m


@transaction.atomic
def material_update(*, actor: User, material: Material, **changes: Any) -> Material:
    require(actor, "services.catalogue_edit")
    m = Material.objects.select_for_update().get(pk=material.pk)
    allowed = {"name", "form", "copies", "tolerance_allowed", "template", "note", "order"}
    unknown = set(changes) - allowed
    if unknown:
        raise ValidationFailed(f"未知字段：{'、'.join(sorted(unknown))}", f"unknown fields {sorted(unknown)}")
    fields = ["name", "form", "copies", "tolerance_allowed", "order"]
    before = snapshot(m, fields)
    for k, v in changes.items():
        setattr(m, k, v)
    _material_fields(m)
    m.save()
    audit_record(actor=actor, action="service_material.update", obj=m, before=before, after=snapshot(m, fields))
    return m


@transaction.atomic
def material_remove(*, actor: User, material: Material) -> None:
    require(actor, "services.catalogue_edit")
    m = Material.objects.select_for_update().get(pk=material.pk)
    before = snapshot(m, ["item_id", "name"])
    pk = m.pk
    m.delete()  # cases keep their own copy (CaseMaterial)
    audit_record(actor=actor, action="service_material.remove", object_type="service_items.Material",
                 object_id=str(pk), object_repr=before["name"], before=before)


def _validate_bundle(items: Sequence[ServiceItem], promised_days: int) -> None:
    if len({i.pk for i in items}) != len(items):
        raise ValidationFailed("一件事中同一事项只能出现一次", "an item appears twice in the bundle", field="items")
    if len(items) < 2:
        raise ValidationFailed("一件事至少包含两个事项", "a bundle joins at least two items", field="items")
    inactive = [i.name for i in items if not i.active]
    if inactive:
        raise ValidationFailed(f"事项已停用：{'、'.join(inactive)}", "inactive items in the bundle", field="items")
    longest = max(i.promised_days for i in items)
    total = sum(i.promised_days for i in items)
    if not longest <= promised_days <= total:
        raise ValidationFailed(
            f"一件事的承诺时限应在 {longest}（最长单项）至 {total}（各项之和）个工作日之间",
            f"the bundle's promised limit must lie between {longest} (longest item) and {total} (sum of items)",
            field="promised_days")


def _set_bundle_items(bundle: Bundle, items: Sequence[ServiceItem]) -> None:
    BundleItem.objects.filter(bundle=bundle).delete()
    BundleItem.objects.bulk_create([BundleItem(bundle=bundle, item=i, order=n) for n, i in enumerate(items, 1)])


def _bundle_audit(bundle: Bundle) -> dict[str, Any]:
    return {**snapshot(bundle, ["code", "name", "lead_department_id", "promised_days", "window", "active"]),
            "items": list(bundle.bundle_items.order_by("order").values_list("item_id", flat=True))}


@transaction.atomic
def bundle_create(*, actor: User, code: str, name: str, lead_department: Department, items: Sequence[ServiceItem],
                  promised_days: int, description: str = "", window: str = "") -> Bundle:
    require(actor, "services.catalogue_edit")
    items = list(items)
    _validate_bundle(items, promised_days)
    code = _text(code, "code", "编码", 64)
    if Bundle.objects.filter(code=code).exists():
        raise ValidationFailed(f"一件事编码 {code} 已存在", f"bundle code {code} already exists", field="code")
    bundle = Bundle(code=code, name=_text(name, "name", "名称", 200), lead_department=lead_department,
                    promised_days=promised_days, description=(description or "").strip(),
                    window=(window or "").strip()[:200])
    _clean(bundle)
    bundle.save()
    _set_bundle_items(bundle, items)
    audit_record(actor=actor, action="service_bundle.create", obj=bundle, after=_bundle_audit(bundle))
    return bundle


@transaction.atomic
def bundle_update(*, actor: User, bundle: Bundle, name: str | None = None, items: Sequence[ServiceItem] | None = None,
                  promised_days: int | None = None, lead_department: Department | None = None,
                  description: str | None = None, window: str | None = None, active: bool | None = None) -> Bundle:
    require(actor, "services.catalogue_edit")
    bundle = Bundle.objects.select_for_update().get(pk=bundle.pk)
    before = _bundle_audit(bundle)
    new_items = list(items) if items is not None else [bi.item for bi in bundle.bundle_items.select_related("item")]
    if promised_days is not None:
        bundle.promised_days = promised_days
    _validate_bundle(new_items, bundle.promised_days)
    if name is not None:
        bundle.name = _text(name, "name", "名称", 200)
    if lead_department is not None:
        bundle.lead_department = lead_department
    if description is not None:
        bundle.description = description.strip()
    if window is not None:
        bundle.window = window.strip()[:200]
    if active is not None:
        bundle.active = active
    _clean(bundle)
    bundle.save()
    if items is not None:
        _set_bundle_items(bundle, new_items)
    audit_record(actor=actor, action="service_bundle.update", obj=bundle, before=before, after=_bundle_audit(bundle))
    return bundle


def _tree_audit(node: TreeNode) -> dict[str, Any]:
    return {**snapshot(node, ["tree", "parent_id", "name", "order"]),
            "bundles": sorted(node.bundles.values_list("pk", flat=True)),
            "items": sorted(node.items.values_list("pk", flat=True))}


@transaction.atomic
def tree_node_create(*, actor: User, tree: str, name: str, parent: TreeNode | None = None, order: int = 0,
                     bundles: Iterable[Bundle] = (), items: Iterable[ServiceItem] = ()) -> TreeNode:
    require(actor, "services.catalogue_edit")
    if tree not in TreeNode.Tree.values:
        raise ValidationFailed("主题树应为 企业/个人", "tree must be enterprise or personal", field="tree")
    if parent is not None and parent.tree != tree:
        raise ValidationFailed("上级节点属于另一棵树", "the parent belongs to the other tree", field="parent")
    node = TreeNode.objects.create(tree=tree, parent=parent, name=_text(name, "name", "名称", 100), order=order)
    node.bundles.set(list(bundles))
    node.items.set(list(items))
    audit_record(actor=actor, action="service_tree.create", obj=node, after=_tree_audit(node))
    return node


@transaction.atomic
def tree_node_update(*, actor: User, node: TreeNode, name: str | None = None, bundles: Iterable[Bundle] | None = None,
                     items: Iterable[ServiceItem] | None = None) -> TreeNode:
    require(actor, "services.catalogue_edit")
    node = TreeNode.objects.select_for_update().get(pk=node.pk)
    before = _tree_audit(node)
    if name is not None:
        node.name = _text(name, "name", "名称", 100)
        node.save(update_fields=["name"])
    if bundles is not None:
        node.bundles.set(list(bundles))
    if items is not None:
        node.items.set(list(items))
    audit_record(actor=actor, action="service_tree.update", obj=node, before=before, after=_tree_audit(node))
    return node


@transaction.atomic
def tree_node_move(*, actor: User, node: TreeNode, parent: TreeNode | None, order: int | None = None) -> TreeNode:
    """Move a branch under another parent (None: to the root) of the same tree; never under itself."""
    require(actor, "services.catalogue_edit")
    node = TreeNode.objects.select_for_update().get(pk=node.pk)
    before = _tree_audit(node)
    if parent is not None:
        if parent.tree != node.tree:
            raise ValidationFailed("不能移到另一棵树", "cannot move a node to the other tree", field="parent")
        ancestor: TreeNode | None = parent
        seen = 0
        while ancestor is not None and seen < 1000:
            if ancestor.pk == node.pk:
                raise ValidationFailed("不能移到自身或其下级节点之下", "cannot move a node under itself", field="parent")
            ancestor = ancestor.parent
            seen += 1
    node.parent = parent
    if order is not None:
        node.order = order
    node.save(update_fields=["parent", "order"])
    audit_record(actor=actor, action="service_tree.move", obj=node, before=before, after=_tree_audit(node))
    return node


@transaction.atomic
def tree_node_delete(*, actor: User, node: TreeNode) -> None:
    require(actor, "services.catalogue_edit")
    node = TreeNode.objects.select_for_update().get(pk=node.pk)
    if node.children.exists():
        raise Conflict("请先移走或删除下级节点", "move or delete the child nodes first", field="node")
    before = _tree_audit(node)
    pk = node.pk
    node.delete()
    audit_record(actor=actor, action="service_tree.delete", object_type="service_items.TreeNode", object_id=str(pk),
                 object_repr=before["name"], before=before)


# ------------------------------------------------------------------------------------------- application


def _resolve(merged: list[MergedMaterial], material_id: int) -> MergedMaterial:
    for m in merged:
        if material_id in m.material_ids:
            return m
    raise ValidationFailed(f"材料 {material_id} 不属于该事项", f"material {material_id} is not one of this item's",
                           field="materials")


@transaction.atomic
def case_apply(*, actor: User, item: ServiceItem | None = None, bundle: Bundle | None = None,
               enterprise: Enterprise | None = None, applicant_name: str = "", applicant_phone: str = "",
               provided: Mapping[int, Attachment | None] | None = None, window: str = "") -> Case:
    """Apply for an item or a bundle.  Online: an enterprise user for their own enterprise, with
    uploaded files.  At a window: staff of the handling department file it for the applicant (an
    enterprise or a person) and check paper materials (``None``) or attach scans.  ``provided`` maps
    a catalogue material id (any of a shared bundle material's ids) to its file."""
    if (item is None) == (bundle is None):
        raise ValidationFailed("请选择一个事项或一件事", "choose one item or one bundle", field="item")
    subject: ServiceItem | Bundle = item if item is not None else bundle  # type: ignore[assignment]
    department = subject.department if isinstance(subject, ServiceItem) else subject.lead_department
    if actor.role == Role.ENTERPRISE:
        require(actor, "services.apply_own")
        enterprise = enterprise or actor.enterprise
        if enterprise is None or enterprise.pk != actor.enterprise_id:
            raise NotPermitted("只能为本企业申请", "you can only apply for your own enterprise", field="enterprise")
        channel = Case.Channel.ONLINE
        online = subject.online if isinstance(subject, ServiceItem) else all(
            i.online for i in subject.items.all())
        if not online:
            raise ValidationFailed("该事项不支持网上申请，请到窗口办理", "this item cannot be applied for online",
                                   field="item")
    else:
        require(actor, "services.handle")
        if actor.department_id != department.pk:
            raise NotPermitted("只能受理本部门的事项", "you can only file cases for your department's items",
                               field="item")
        channel = Case.Channel.WINDOW
    if not subject.active:
        raise ValidationFailed("该事项已停用", "this item is no longer in use", field="item")
    if enterprise is not None and enterprise.status != Enterprise.Status.ACTIVE:
        raise ValidationFailed("该市场主体已注销", "the enterprise is closed", field="enterprise")
    name = applicant_name or (enterprise.name if enterprise else "")
    phone = applicant_phone or (actor.phone if channel == Case.Channel.ONLINE else "") or (
        enterprise.contact_phone if enterprise else "")
    merged = bundle_materials(subject) if isinstance(subject, Bundle) else subject_materials(subject)
    chosen: dict[str, Attachment | None] = {}
    for material_id, att in (provided or {}).items():
        m = _resolve(merged, material_id)
        if channel == Case.Channel.ONLINE:
            att = _own_attachment(actor, att, "materials")
        chosen[m.name] = att
    now = timezone.now()
    case = Case(
        number=f"T{uuid.uuid4().hex[:22]}", item=item, bundle=bundle, applicant_enterprise=enterprise,
        applicant_user=actor if channel == Case.Channel.ONLINE else None,
        applicant_name=_text(name, "applicant_name", "申请人", 100),
        applicant_phone=_text(phone, "applicant_phone", "联系电话", 20), channel=channel, department=department,
        window=(window or ("" if channel == Case.Channel.ONLINE else subject.window)).strip()[:200],
        filed_by=actor, submitted_at=now, promised_days=subject.promised_days,
    )
    case.save()
    case.number = f"BJ{timezone.localdate():%Y%m%d}{case.pk:08d}"
    case.save(update_fields=["number"])
    CaseMaterial.objects.bulk_create([
        CaseMaterial(case=case, material_id=m.material_ids[0], name=m.name, form=m.form, copies=m.copies,
                     tolerance_allowed=m.tolerance_allowed, order=n,
                     status=CaseMaterial.Status.PROVIDED if m.name in chosen else CaseMaterial.Status.MISSING,
                     attachment=chosen.get(m.name), provided_at=now if m.name in chosen else None,
                     checked_by=actor if m.name in chosen and channel == Case.Channel.WINDOW else None)
        for n, m in enumerate(merged, 1)
    ])
    missing = [m.name for m in merged if m.name not in chosen]
    _event(case, K.APPLY, actor, channel=channel, provided=sorted(chosen), missing=missing,
           subject=subject.code, handling_department=department.name)
    if channel == Case.Channel.ONLINE:
        _notify_later(_staff(department.pk), f"新的网上申请：{subject.name}", case,
                      f"{case.number} {case.applicant_name}")
    return case


@transaction.atomic
def case_material_provide(*, actor: User, case: Case, material: CaseMaterial,
                          attachment: Attachment | None = None) -> CaseMaterial:
    """The applicant uploads (or the window checks) a material: any missing one before acceptance,
    a tolerated (容缺) one afterwards.  Correction items go through ``case_submit_correction``."""
    applicant = _require_applicant_or_handler(actor, case)
    case = _lock(case, S.SUBMITTED, *OPEN_STATUSES, S.DECIDED, action="提交材料")
    row = CaseMaterial.objects.select_for_update().filter(pk=material.pk, case=case).first()
    if row is None:
        raise NotFound("该办件没有这项材料", "no such material on this case", field="material")
    allowed = ([CaseMaterial.Status.MISSING, CaseMaterial.Status.TOLERATED] if case.status == S.SUBMITTED
               else [CaseMaterial.Status.TOLERATED])
    if row.status not in allowed:
        raise Conflict(f"材料「{row.name}」当前不需要提交", f"{row.name} is not awaited now", field="material")
    if applicant:
        attachment = _own_attachment(actor, attachment, "attachment")
    frm = row.status
    row.status, row.attachment, row.provided_at = CaseMaterial.Status.PROVIDED, attachment, timezone.now()
    row.checked_by = None if applicant else actor
    row.save()
    _event(case, K.MATERIAL, actor, frm=case.status, material=row.name, was=frm,
           on_time=None if row.due_date is None else _today() <= row.due_date)
    return row


@transaction.atomic
def case_accept(*, actor: User, case: Case, provided: Iterable[int] = (),
                tolerated: Mapping[int, dt.date] | None = None) -> Case:
    """受理: every material is provided (``provided``: case-material ids checked now) or, where the
    catalogue allows it, tolerated (容缺受理) with a due date for it.  Starts the promised clock."""
    _require_handler(actor, case)
    case = _lock(case, S.SUBMITTED, action="受理")
    today = _today()
    rows = {m.pk: m for m in CaseMaterial.objects.select_for_update().filter(case=case)}
    provided, tolerated = set(provided), dict(tolerated or {})
    for pk in provided | set(tolerated):
        if pk not in rows:
            raise ValidationFailed(f"材料 {pk} 不属于该办件", f"material {pk} is not on this case", field="materials")
    for pk, due in tolerated.items():
        row = rows[pk]
        if pk in provided or row.status == CaseMaterial.Status.PROVIDED:
            raise ValidationFailed(f"材料「{row.name}」已提交，无需容缺", f"{row.name} is already provided",
                                   field="tolerated")
        if not row.tolerance_allowed:
            raise ValidationFailed(f"材料「{row.name}」不在容缺清单内", f"{row.name} cannot be tolerated",
                                   field="tolerated")
        if due <= today:
            raise ValidationFailed(f"材料「{row.name}」的补齐期限应晚于今天", "the due date must be after today",
                                   field="tolerated")
    missing = [r.name for r in rows.values()
               if r.status == CaseMaterial.Status.MISSING and r.pk not in provided and r.pk not in tolerated]
    if missing:
        raise ValidationFailed(f"以下材料缺少且未容缺：{'、'.join(missing)}；请一次性告知申请人或不予受理",
                               f"materials missing: {', '.join(missing)}", field="materials")
    now = timezone.now()
    for pk in provided:
        row = rows[pk]
        if row.status != CaseMaterial.Status.PROVIDED:
            row.status, row.provided_at, row.checked_by = CaseMaterial.Status.PROVIDED, now, actor
            row.save()
    for pk, due in tolerated.items():
        row = rows[pk]
        row.status, row.due_date = CaseMaterial.Status.TOLERATED, due
        row.save()
    frm = case.status
    case.status, case.accepted_on, case.handler = S.ACCEPTED, today, actor
    case.promised_days = _subject(case).promised_days
    _reclock(case)
    case.save()
    _event(case, K.ACCEPT, actor, frm=frm, due_date=case.due_date, provisional=case.due_provisional,
           promised_days=case.promised_days,
           tolerated={rows[pk].name: str(d) for pk, d in tolerated.items()})
    _notify_later(_applicant_users(case), f"您的申请已受理，承诺 {case.due_date} 前办结", case)
    return case


@transaction.atomic
def case_reject(*, actor: User, case: Case, reason: str) -> Case:
    """不予受理, with the reason (told to the applicant)."""
    _require_handler(actor, case)
    case = _lock(case, S.SUBMITTED, action="不予受理")
    case.reason = _text(reason, "reason", "不予受理理由", 2000)
    frm = case.status
    case.status, case.finished_on, case.handler = S.REJECTED, _today(), actor
    case.save()
    _event(case, K.REJECT, actor, frm=frm, text=case.reason)
    _notify_later(_applicant_users(case), "您的申请不予受理", case, case.reason)
    _text_rating_link(case, "不予受理")
    return case


# ------------------------------------------------------------------------------------------- clock stops


@transaction.atomic
def case_request_correction(*, actor: User, case: Case, items: Sequence[tuple[CaseMaterial | str, str]],
                            note: str = "") -> Correction:
    """补正: one notice listing every missing item at once (一次性告知) — a material of the case or
    a further material by name, each with what is wrong.  Stops the clock from today."""
    _require_handler(actor, case)
    case = _lock(case, S.ACCEPTED, action="要求补正")
    if not items:
        raise ValidationFailed("补正通知须列明所有需补正的材料", "list every item to correct", field="items")
    existing = {m.pk: m for m in CaseMaterial.objects.select_for_update().filter(case=case)}
    by_name = {m.name: m for m in existing.values()}
    listed: list[tuple[CaseMaterial | None, str, str]] = []
    for target, why in items:
        reason = _text(why, "items", "补正原因", 500)
        if isinstance(target, CaseMaterial):
            row = existing.get(target.pk)
            if row is None:
                raise ValidationFailed(f"材料「{target.name}」不属于该办件", "the material is not on this case",
                                       field="items")
            listed.append((row, row.name, reason))
        else:
            name = _text(target, "items", "材料名称", 200)
            listed.append((by_name.get(name), name, reason))
    names = [n for _, n, _ in listed]
    if len(set(names)) != len(names):
        raise ValidationFailed("同一材料在补正通知中只列一次", "an item is listed twice", field="items")
    order = max((m.order for m in existing.values()), default=0)
    entries = []
    for row, name, reason in listed:
        if row is None:
            order += 1
            row = CaseMaterial.objects.create(case=case, name=name, order=order, status=CaseMaterial.Status.MISSING)
        else:
            row.status, row.attachment, row.provided_at = CaseMaterial.Status.MISSING, None, None
            row.save()
        entries.append({"case_material": row.pk, "name": name, "reason": reason})
    today, now = _today(), timezone.now()
    case.correction_rounds += 1
    correction = Correction.objects.create(case=case, round=case.correction_rounds, items=entries,
                                           note=(note or "").strip()[:2000], requested_on=today, requested_at=now,
                                           requested_by=actor)
    frm = case.status
    case.status = S.CORRECTING
    _reclock(case)
    case.save()
    _event(case, K.CORRECTION_REQUEST, actor, frm=frm, text=correction.note, round=correction.round,
           items=entries, paused_since=today)
    listing = "；".join(f"{i}. {e['name']}（{e['reason']}）" for i, e in enumerate(entries, 1))
    _notify_later(_applicant_users(case), f"补正告知：请补正 {len(entries)} 项材料", case, listing)
    return correction


@transaction.atomic
def case_submit_correction(*, actor: User, case: Case, provided: Mapping[int, Attachment | None]) -> Case:
    """The applicant uploads (or the window receives) correction items, keyed by case-material id.
    When the last item of the notice has arrived the clock restarts (from the day after today)."""
    applicant = _require_applicant_or_handler(actor, case)
    case = _lock(case, S.CORRECTING, action="提交补正材料")
    correction = Correction.objects.select_for_update().get(case=case, completed_on__isnull=True)
    wanted = {e["case_material"] for e in correction.items}
    if not provided:
        raise ValidationFailed("请提交补正材料", "submit the corrected materials", field="provided")
    unknown = set(provided) - wanted
    if unknown:
        raise ValidationFailed("提交的材料不在补正通知内", "a material is not in the correction notice", field="provided")
    files = {pk: (_own_attachment(actor, att, "provided") if applicant else att) for pk, att in provided.items()}
    now, today = timezone.now(), _today()
    for row in CaseMaterial.objects.select_for_update().filter(pk__in=list(files)):
        row.status, row.attachment, row.provided_at = CaseMaterial.Status.PROVIDED, files[row.pk], now
        row.checked_by = None if applicant else actor
        row.save()
    outstanding = list(CaseMaterial.objects.filter(pk__in=wanted).exclude(status=CaseMaterial.Status.PROVIDED)
                       .values_list("name", flat=True))
    frm = case.status
    if not outstanding:
        correction.completed_on, correction.completed_at, correction.completed_by = today, now, actor
        correction.save()
        case.status = S.ACCEPTED
        _reclock(case)
        case.save()
    _event(case, K.CORRECTION_SUBMIT, actor, frm=frm, round=correction.round,
           materials=sorted(CaseMaterial.objects.filter(pk__in=list(files)).values_list("name", flat=True)),
           complete=not outstanding, outstanding=outstanding, due_date=case.due_date)
    if not outstanding and case.handler_id:
        _notify_later(list(User.objects.filter(pk=case.handler_id)), "补正材料已齐，计时恢复", case)
    return case


@transaction.atomic
def case_special_start(*, actor: User, case: Case, kind: str, note: str,
                       expected_days: int | None = None) -> SpecialProcedure:
    """特别程序 (hearing, testing, inspection, expert review): the clock stops from today; the
    applicant is told."""
    _require_handler(actor, case)
    case = _lock(case, S.ACCEPTED, action="启动特别程序")
    if kind not in SpecialProcedure.Kind.values:
        raise ValidationFailed("特别程序应为 听证/检验检测/现场勘验/专家评审", "unknown special procedure", field="kind")
    if expected_days is not None and expected_days < 1:
        raise ValidationFailed("预计时间至少 1 个工作日", "expected time at least one working day",
                               field="expected_days")
    proc = SpecialProcedure.objects.create(case=case, kind=kind, note=_text(note, "note", "说明", 2000),
                                           expected_days=expected_days, start_on=_today(), started_by=actor)
    frm = case.status
    case.status = S.SPECIAL
    _reclock(case)
    case.save()
    _event(case, K.SPECIAL_START, actor, frm=frm, text=proc.note, procedure=kind, expected_days=expected_days)
    _notify_later(_applicant_users(case), f"您的办件进入特别程序（{proc.get_kind_display()}），所需时间不计入办理时限",
                  case, proc.note)
    return proc


@transaction.atomic
def case_special_end(*, actor: User, case: Case, result: str) -> Case:
    _require_handler(actor, case)
    case = _lock(case, S.SPECIAL, action="结束特别程序")
    proc = SpecialProcedure.objects.select_for_update().get(case=case, end_on__isnull=True)
    proc.result, proc.end_on, proc.ended_by = _text(result, "result", "特别程序结果", 5000), _today(), actor
    proc.save()
    frm = case.status
    case.status = S.ACCEPTED
    _reclock(case)
    case.save()
    _event(case, K.SPECIAL_END, actor, frm=frm, text=proc.result, procedure=proc.kind, due_date=case.due_date)
    return case


@transaction.atomic
def case_extension_request(*, actor: User, case: Case, days: int, reason: str) -> CaseExtension:
    """延期 asked before the due date, within the legal cap of the item (10; joint handling 15), once."""
    _require_handler(actor, case)
    case = _lock(case, *OPEN_STATUSES, action="申请延期")
    cap = _subject(case).extension_cap
    if cap == 0:
        raise Conflict("即办件不能延期", "an on-the-spot case cannot be extended", field="days")
    if not 1 <= days <= cap:
        raise ValidationFailed(f"延期天数须为 1–{cap} 个工作日", f"an extension is 1-{cap} working days", field="days")
    if case.due_date is not None and _today() > case.due_date:
        raise Conflict("已超过办结期限，不能再申请延期", "the due date has passed: no extension", field="status")
    if CaseExtension.objects.filter(case=case, status__in=[CaseExtension.Status.PENDING,
                                                           CaseExtension.Status.APPROVED]).exists():
        raise Conflict("每件办件只能延期一次（已有延期申请或已延期）", "a case is extended once only", field="status")
    ext = CaseExtension.objects.create(case=case, days=days, reason=_text(reason, "reason", "延期理由", 2000),
                                       requested_by=actor, requested_at=timezone.now())
    _event(case, K.EXTENSION_REQUEST, actor, frm=case.status, text=ext.reason, days=days, internal=True)
    _notify_later(_staff(case.department_id, [Role.HEAD]), f"办件延期待审批：{case.number}", case, ext.reason)
    return ext


@transaction.atomic
def case_extension_decide(*, actor: User, extension: CaseExtension, approve: bool, note: str = "") -> CaseExtension:
    require(actor, "services.approve_extension")
    if actor.department_id != extension.case.department_id:
        raise NotPermitted("只能审批本部门办件的延期", "only the handling department's head decides")
    ext = CaseExtension.objects.select_for_update().get(pk=extension.pk)
    case = _lock(ext.case)
    if ext.status != CaseExtension.Status.PENDING:
        raise Conflict("该延期申请已处理", "this request was already decided", field="status")
    if case.status not in OPEN_STATUSES:
        raise _wrong_state(case, "审批延期")
    ext.status = CaseExtension.Status.APPROVED if approve else CaseExtension.Status.REJECTED
    ext.decided_by, ext.decided_at, ext.decision_note = actor, timezone.now(), (note or "").strip()[:2000]
    ext.save()
    old_due = case.due_date
    if approve:
        case.extension_days += ext.days
        _reclock(case)
        case.save()
    _event(case, K.EXTENSION_DECISION, actor, frm=case.status, text=ext.decision_note, approved=approve,
           days=ext.days, old_due=old_due, new_due=case.due_date)
    if approve:
        _notify_later(_applicant_users(case), f"您的办件延期 {ext.days} 个工作日，{case.due_date} 前办结", case,
                      ext.reason)
    return ext


# ------------------------------------------------------------------------------------------- decision


@transaction.atomic
def case_decide(*, actor: User, case: Case, approve: bool, reason: str = "") -> Case:
    """准予 / 不予准予 (the refusal with its reason).  Tolerated materials must have arrived before an
    approval.  An approval of an item with a supervising department is pushed to it (审管互动)."""
    _require_handler(actor, case)
    case = _lock(case, S.ACCEPTED, action="作出决定")
    reason = _text(reason, "reason", "不予准予理由", 2000, required=not approve)
    if approve:
        awaited = list(case.materials.exclude(status=CaseMaterial.Status.PROVIDED).values_list("name", flat=True))
        if awaited:
            raise Conflict(f"容缺材料尚未补齐：{'、'.join(awaited)}", f"materials still awaited: {', '.join(awaited)}",
                           field="materials")
    today, now = _today(), timezone.now()
    assert case.accepted_on is not None and case.due_date is not None
    frm = case.status
    case.status = S.DECIDED
    case.decision = Case.Decision.APPROVED if approve else Case.Decision.REFUSED
    case.reason, case.decided_at, case.finished_on = reason, now, today
    case.used_days = clock.used_days(case.accepted_on, today, case_pauses(case))
    case.on_time = today <= case.due_date
    case.save()
    _event(case, K.DECIDE, actor, frm=frm, text=reason, decision=case.decision, on_time=case.on_time,
           used_days=case.used_days, promised_days=case.promised_days, due_date=case.due_date)
    if approve:
        items = [case.item] if case.item_id else [bi.item for bi in BundleItem.objects.filter(
            bundle_id=case.bundle_id).select_related("item").order_by("order")]
        for it in items:
            if it is not None and it.supervising_department_id:
                push = SupervisionPush.objects.create(case=case, item=it, department_id=it.supervising_department_id,
                                                      pushed_at=now)
                _event(case, K.PUSH, None, frm=case.status, internal=True, department=push.department,
                       item=it.code, push=push.pk)
                _notify_later(_staff(push.department_id), f"审批结果待认领：{it.name}", case,
                              f"{case.number} {case.applicant_name}")
    _notify_later(_applicant_users(case), f"您的办件已办结：{case.get_decision_display()}", case, reason)
    return case


@transaction.atomic
def case_deliver(*, actor: User, case: Case, method: str, note: str = "") -> Case:
    """Result delivery: window pick-up, post (address or tracking number required), electronic
    licence.  The case has ended; the applicant is invited to rate it."""
    _require_handler(actor, case)
    case = _lock(case, S.DECIDED, action="送达")
    if method not in Case.Delivery.values:
        raise ValidationFailed("送达方式应为 窗口领取/邮寄送达/电子证照", "unknown delivery method", field="method")
    note = _text(note, "note", "邮寄地址或运单号", 500, required=method == Case.Delivery.POST)
    frm = case.status
    case.status, case.delivery_method, case.delivery_note, case.delivered_at = S.DELIVERED, method, note, timezone.now()
    case.save()
    _event(case, K.DELIVER, actor, frm=frm, method=method, note=note)
    _notify_later(_applicant_users(case), "办件已送达，请对本次服务作出评价", case,
                  f"/services/rate/{rating_token(case)}/")
    _text_rating_link(case, "已办结")
    return case


def _text_rating_link(case: Case, what: str) -> None:
    """The applicant's phone gets the rating link by SMS (once per case), account or not."""
    from yingshang.core.services import sms_send

    sms_send(key=f"case-rate-{case.pk}", phone=case.applicant_phone,
             text=f"【营商通】您的办件 {case.number}（{(case.item or case.bundle).name}）{what}，请对本次服务评价："
                  f"{settings.SITE_URL}/services/rate/{rating_token(case)}/")


@transaction.atomic
def supervision_acknowledge(*, actor: User, push: SupervisionPush, note: str = "") -> SupervisionPush:
    """The supervising department acknowledges (认领) an approval pushed to it."""
    require(actor, "services.handle")
    if actor.department_id != push.department_id:
        raise NotPermitted("只能认领推送给本部门的审批结果", "only the supervising department acknowledges")
    push = SupervisionPush.objects.select_for_update().get(pk=push.pk)
    if push.acknowledged_at is not None:
        raise Conflict("该审批结果已认领", "already acknowledged", field="status")
    push.acknowledged_at, push.acknowledged_by, push.note = timezone.now(), actor, (note or "").strip()[:2000]
    push.save()
    case = Case.objects.get(pk=push.case_id)
    _event(case, K.PUSH_ACK, actor, frm=case.status, internal=True, push=push.pk, text=push.note)
    return push


# ------------------------------------------------------------------------------------------- 好差评


@transaction.atomic
def case_rate(*, actor: User | None, case: Case, channel: str, level: int, comment: str = "",
              bad_aspects: Iterable[str] = (), token: str = "") -> Rating:
    """Rate an ended case once per channel (一次一评).  Only the applicant rates: signed in (any
    channel), or holding the case's signed link token (SMS link, QR guide, window evaluator — the
    way a person without an account rates); staff never rate their own department's cases.  A bad
    rating (不满意, 非常不满意) opens a rectification task."""
    if actor is not None and actor.role != Role.ENTERPRISE and (
            actor.department_id == case.department_id or case.events.filter(actor=actor).exists()):
        raise NotPermitted("工作人员不能评价本人或本部门办理的办件", "staff cannot rate cases they handled")
    by_token = bool(token) and _token_case_id(token) == case.pk
    if token and not by_token:
        raise NotPermitted("评价链接无效", "invalid rating link", field="token")
    applicant = _is_applicant(actor, case)
    if not (applicant or by_token):
        raise NotPermitted("只有申请人可以评价该办件", "only the applicant rates this case")
    if channel == Rating.Channel.CASE_PAGE and not applicant:
        raise ValidationFailed("在办件页面评价须登录", "rating on the case page needs the applicant signed in",
                               field="channel")
    rater = actor if applicant else None
    case = _lock(case, *ENDED_STATUSES, action="评价（办结后方可评价）")
    if channel not in Rating.Channel.values:
        raise ValidationFailed("评价渠道无效", "unknown rating channel", field="channel")
    if level not in Rating.Level.values:
        raise ValidationFailed("评价等级应为 1–5（非常不满意至非常满意）", "level must be 1-5", field="level")
    aspects = list(dict.fromkeys(bad_aspects))
    if set(aspects) - set(Rating.Aspect.values):
        raise ValidationFailed("不满意方面无效", "unknown aspect", field="bad_aspects")
    is_bad = level <= Rating.Level.UNSATISFIED
    if is_bad and not aspects:
        raise ValidationFailed("差评请选择不满意的方面", "a bad rating says what was bad", field="bad_aspects")
    if Rating.objects.filter(case=case, channel=channel).exists():
        raise Conflict("该办件已通过此渠道评价（一次一评）", "this case was already rated through this channel",
                       field="channel")
    now = timezone.now()
    rating = Rating(case=case, channel=channel, level=level, is_bad=is_bad,
                    comment=_text(comment, "comment", "评价内容", 2000, required=False),
                    bad_aspects=aspects if is_bad else [], rater=rater,
                    rater_name=(rater.display_name if rater else case.applicant_name)[:100],
                    rated_at=now)
    try:
        with transaction.atomic():
            rating.save()
    except IntegrityError:
        raise Conflict("该办件已通过此渠道评价（一次一评）", "this case was already rated through this channel",
                       field="channel") from None
    rect = None
    if is_bad:
        due = workdays.add(_today(), rectify_days())
        rect = Rectification.objects.create(rating=rating, department_id=case.department_id, due_date=due.date,
                                            due_provisional=due.provisional, created_at=now)
    _event(case, K.RATE, rater, frm=case.status, text=rating.comment, channel=channel,
           level=level, bad=is_bad, aspects=aspects, rectification_due=rect.due_date if rect else None)
    if rect:
        _notify_later(_staff(case.department_id), f"差评待核实整改（{rect.due_date} 前）：{case.number}", case,
                      rating.comment)
    return rating


def _require_rect_department(actor: User, rect: Rectification) -> None:
    require(actor, "services.handle")
    if actor.department_id != rect.department_id:
        raise NotPermitted("只有被评价部门可以整改", "only the rated department handles this task")


def _lock_rect(rect: Rectification, *statuses: str, action: str) -> Rectification:
    locked = Rectification.objects.select_for_update().select_related("rating__case").get(pk=rect.pk)
    if statuses and locked.status not in statuses:
        raise Conflict(f"整改任务当前为「{locked.get_status_display()}」，不能{action}",
                       f"the task is {locked.status}; cannot {action}", field="status")
    return locked


def _rect_event(rect: Rectification, kind: str, actor: User | None, frm: str, **data: Any) -> None:
    case = rect.rating.case
    _event(case, kind, actor, frm=case.status, rectification=rect.pk, rect_from=frm, rect_to=rect.status, **data)


@transaction.atomic
def rectification_verify(*, actor: User, rectification: Rectification, note: str, reached: bool) -> Rectification:
    """核实: the department called the rater and records what it learned."""
    _require_rect_department(actor, rectification)
    rect = _lock_rect(rectification, R.OPEN, action="核实")
    frm = rect.status
    rect.verify_note, rect.rater_reached = _text(note, "note", "核实情况", 2000), reached
    rect.status, rect.verified_at, rect.verified_by = R.VERIFIED, timezone.now(), actor
    rect.save()
    _rect_event(rect, K.RECT_VERIFY, actor, frm, text=rect.verify_note, reached=reached, internal=True)
    return rect


@transaction.atomic
def rectification_resolve(*, actor: User, rectification: Rectification, outcome: str, text: str) -> Rectification:
    """整改 (rectified) or 说明 (explained: the rating was not the department's fault)."""
    _require_rect_department(actor, rectification)
    rect = _lock_rect(rectification, R.VERIFIED, action="整改或说明")
    if outcome not in (R.RECTIFIED, R.EXPLAINED):
        raise ValidationFailed("处理结果应为 已整改/情况说明", "outcome must be rectified or explained", field="outcome")
    frm = rect.status
    rect.resolution = _text(text, "text", "整改情况" if outcome == R.RECTIFIED else "情况说明", 5000)
    rect.status, rect.resolved_at, rect.resolved_by = outcome, timezone.now(), actor
    rect.save()
    _rect_event(rect, K.RECT_RESOLVE, actor, frm, text=rect.resolution, outcome=outcome, internal=True)
    return rect


@transaction.atomic
def rectification_answer(*, actor: User, rectification: Rectification, answer: str) -> Rectification:
    """回复评价人; the first answer's date against the due date is the on-time figure."""
    _require_rect_department(actor, rectification)
    rect = _lock_rect(rectification, R.RECTIFIED, R.EXPLAINED, action="回复评价人")
    frm = rect.status
    rect.answer = _text(answer, "answer", "回复内容", 5000)
    rect.status, rect.answered_at, rect.answered_by = R.ANSWERED, timezone.now(), actor
    if rect.answered_on_time is None:
        rect.answered_on_time = _today() <= rect.due_date
    rect.save()
    _rect_event(rect, K.RECT_ANSWER, actor, frm, text=rect.answer, on_time=rect.answered_on_time)
    case = rect.rating.case
    rater = [rect.rating.rater] if rect.rating.rater_id else _applicant_users(case)
    _notify_later([u for u in rater if u is not None], "您的评价已回复", case, rect.answer)
    return rect


@transaction.atomic
def rectification_appeal(*, actor: User | None, rectification: Rectification, reason: str,
                         token: str = "") -> Rectification:
    """The rater does not accept the answer (once); the office decides."""
    case = rectification.rating.case
    by_token = bool(token) and _token_case_id(token) == case.pk
    rater_ok = actor is not None and (actor.pk == rectification.rating.rater_id or _is_applicant(actor, case))
    if not (by_token or rater_ok):
        raise NotPermitted("只有评价人可以申诉", "only the rater can appeal")
    rect = _lock_rect(rectification, R.ANSWERED, action="申诉")
    if rect.appealed_at is not None:
        raise Conflict("每项整改只能申诉一次", "an answer can be appealed once", field="status")
    frm = rect.status
    rect.appeal_reason = _text(reason, "reason", "申诉理由", 2000)
    rect.status, rect.appealed_at = R.APPEALED, timezone.now()
    rect.save()
    _rect_event(rect, K.RECT_APPEAL, actor if not by_token else None, frm, text=rect.appeal_reason)
    _notify_later(list(User.objects.filter(role=Role.DISPATCHER, is_active=True)), f"差评整改申诉待处理：{case.number}",
                  case, rect.appeal_reason)
    return rect


@transaction.atomic
def rectification_appeal_decide(*, actor: User, rectification: Rectification, reopen: bool,
                                note: str) -> Rectification:
    """The office upholds the rater's appeal (the department rectifies again, with a new limit) or
    dismisses it (the answer stands)."""
    require(actor, "services.decide_contest")
    rect = _lock_rect(rectification, R.APPEALED, action="处理申诉")
    frm = rect.status
    rect.appeal_note = _text(note, "note", "处理意见", 2000)
    rect.appeal_reopened, rect.appeal_decided_by, rect.appeal_decided_at = reopen, actor, timezone.now()
    if reopen:
        due = workdays.add(_today(), rectify_days())
        rect.status, rect.due_date, rect.due_provisional = R.VERIFIED, due.date, due.provisional
    else:
        rect.status = R.ANSWERED
    rect.save()
    _rect_event(rect, K.RECT_APPEAL_DECISION, actor, frm, text=rect.appeal_note, reopened=reopen,
                due_date=rect.due_date)
    if reopen:
        _notify_later(_staff(rect.department_id), f"差评整改申诉成立，请重新整改（{rect.due_date} 前）",
                      rect.rating.case, rect.appeal_note)
    return rect


@transaction.atomic
def rating_contest(*, actor: User, rating: Rating, reason: str) -> Rating:
    """The rated department contests a bad rating as malicious (恶意差评); the office decides."""
    require(actor, "services.handle")
    if actor.department_id != rating.case.department_id:
        raise NotPermitted("只有被评价部门可以申诉", "only the rated department can contest")
    rating = Rating.objects.select_for_update().select_related("case").get(pk=rating.pk)
    if not rating.is_bad:
        raise Conflict("只能对差评申诉", "only a bad rating can be contested", field="rating")
    if rating.contest_status != Rating.Contest.NONE:
        raise Conflict("该差评已申诉过", "this rating was already contested", field="status")
    rating.contest_reason = _text(reason, "reason", "申诉理由", 2000)
    rating.contest_status, rating.contested_by, rating.contested_at = Rating.Contest.PENDING, actor, timezone.now()
    rating.save()
    _event(rating.case, K.CONTEST, actor, frm=rating.case.status, text=rating.contest_reason, rating=rating.pk,
           internal=True)
    _notify_later(list(User.objects.filter(role=Role.DISPATCHER, is_active=True)),
                  f"恶意差评申诉待认定：{rating.case.number}", rating.case, rating.contest_reason)
    return rating


@transaction.atomic
def rating_contest_decide(*, actor: User, rating: Rating, void: bool, note: str) -> Rating:
    """The office decides a contest: a malicious rating is voided (left out of every figure and its
    rectification closed), or the contest is rejected and the rectification goes on."""
    require(actor, "services.decide_contest")
    rating = Rating.objects.select_for_update().select_related("case").get(pk=rating.pk)
    if rating.contest_status != Rating.Contest.PENDING:
        raise Conflict("该评价没有待认定的申诉", "no pending contest on this rating", field="status")
    rating.contest_note = _text(note, "note", "认定意见", 2000)
    rating.contest_status = Rating.Contest.UPHELD if void else Rating.Contest.REJECTED
    rating.voided = void
    rating.contest_decided_by, rating.contest_decided_at = actor, timezone.now()
    rating.save()
    rect = Rectification.objects.select_for_update().filter(rating=rating).first()
    if void and rect is not None:
        rect.status = R.VOIDED
        rect.save(update_fields=["status"])
    _event(rating.case, K.CONTEST_DECISION, actor, frm=rating.case.status, text=rating.contest_note,
           rating=rating.pk, voided=void, internal=True)
    _notify_later(_staff(rating.case.department_id), "恶意差评申诉" + ("成立，评价已撤销" if void else "不成立"),
                  rating.case, rating.contest_note)
    return rating


# ------------------------------------------------------------------------------------------- sweep


def case_sweep(*, today: dt.date | None = None) -> dict[str, int]:
    """Warn before the due date (yellow), on it (red), mark overdue, and flag tolerated materials
    past their due date.  Each notice is claimed by a conditional UPDATE on the row, so several
    workers running the sweep at once never send one twice; a due date that moves re-arms them."""
    now = timezone.now() if today is None else timezone.make_aware(dt.datetime.combine(today, dt.time(0, 30)))
    today = today or _today()
    bounds = clock.colour_bounds(today, warn_days())
    counts = {"warned": 0, "due_today": 0, "overdue": 0, "tolerance_overdue": 0}
    running = Case.objects.filter(status=S.ACCEPTED)
    passes: list[tuple[str, str, models.Q, str, str]] = [
        ("warned", "warned_at", models.Q(due_date__gte=bounds.yellow_from, due_date__lt=bounds.green_from),
         K.WARN, "办件临期预警"),
        ("due_today", "due_notified_at", models.Q(due_date__gte=today, due_date__lt=bounds.yellow_from),
         K.DUE, "办件今日到期"),
        ("overdue", "overdue_at", models.Q(due_date__lt=today), K.OVERDUE, "办件已超期"),
    ]
    for key, flag, window, kind, title in passes:
        for pk, due in list(running.filter(window, **{f"{flag}__isnull": True}).values_list("pk", "due_date")):
            with transaction.atomic():
                claimed = Case.objects.filter(pk=pk, status=S.ACCEPTED, due_date=due, **{f"{flag}__isnull": True})
                if not claimed.update(**{flag: now}):
                    continue
                case = Case.objects.get(pk=pk)
                _event(case, kind, None, frm=case.status, internal=True, at=now, department=case.department,
                       due_date=due)
                people = _staff(case.department_id) if kind != K.WARN or not case.handler_id else list(
                    User.objects.filter(pk=case.handler_id))
                if kind == K.OVERDUE:
                    people += list(User.objects.filter(role=Role.DISPATCHER, is_active=True))
                _notify_later(people, f"{title}：{case.number}（{due}）", case)
                counts[key] += 1
    late = CaseMaterial.objects.filter(status=CaseMaterial.Status.TOLERATED, due_date__lt=today,
                                       overdue_notified_at__isnull=True,
                                       case__status__in=[*OPEN_STATUSES, S.DECIDED])
    for pk, case_id, name in list(late.values_list("pk", "case_id", "name")):
        with transaction.atomic():
            if not CaseMaterial.objects.filter(pk=pk, status=CaseMaterial.Status.TOLERATED,
                                               overdue_notified_at__isnull=True).update(overdue_notified_at=now):
                continue
            case = Case.objects.get(pk=case_id)
            _event(case, K.TOLERANCE_OVERDUE, None, frm=case.status, at=now, department=case.department,
                   material=name)
            _notify_later(_applicant_users(case) + _staff(case.department_id), f"容缺材料逾期未补：{name}", case)
            counts["tolerance_overdue"] += 1
    return counts


def case_recompute_provisional(year: int) -> int:
    """Called when a year's official calendar is entered: recompute the clock of every open case
    whose due date was computed on the provisional calendar."""
    n = 0
    for pk in list(Case.objects.filter(due_provisional=True, status__in=OPEN_STATUSES).values_list("pk", flat=True)):
        with transaction.atomic():
            case = Case.objects.select_for_update().get(pk=pk)
            before = case.due_date
            _reclock(case)
            case.save()
            _event(case, K.RECOMPUTE, None, frm=case.status, internal=True, year=year, before=before,
                   due_date=case.due_date, provisional=case.due_provisional)
            n += 1
    return n

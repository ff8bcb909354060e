"""Every state change of the policy module: one function, one transaction, permission first, an event
row and an audit record written in the same transaction, messages after commit.

Who may do what
---------------
* documents: ``policies.edit`` (the office and department staff);
* items, rules, payout lists: ``policies.edit`` — the office for any item, department staff for their
  own department's items;
* accepting applications and asking for corrections: ``policies.edit`` of the item's department;
  decisions (approve / reject), excluding list entries, completing the review, deciding objections:
  ``policies.review`` of the item's department (its head);
* payout batches, the bank file and its confirmations, retries: ``policies.pay`` (the office);
* applications and payee accounts: the enterprise's own users (``policies.apply_own``).
Services that a scheduler or the command line runs accept ``actor=None`` (the system).

State machines
--------------
* PolicyDocument: draft → published → expired (expiry stops the document's items).
* BenefitItem: draft → published → stopped.
* Application, 即申即享: (checked on the current data and materials) → approved, or refused with the
  exact list of what is missing and nothing stored.
* Application, 依申报: submitted → reviewing ⇄ correction (the review clock stops) → notice → approved;
  submitted → not_accepted; reviewing → rejected; notice → revoked (objection upheld);
  submitted/reviewing/correction → withdrawn.
* PayoutList (免申即享): proposed → reviewed → notice → final; proposed/reviewed → cancelled.
* Payout: pending → paid / failed; failed → retried (a new pending row); pending → cancelled
  (objection upheld before payment).  Payouts are created when a benefit is decided (instant
  approval, approval into notice, a list's notice), payable once the notice ends, under the item's
  budget (checked with the item row locked) and never twice for one enterprise, item and period (a
  partial unique constraint).
* PayoutBatch: open → exported → closed (every payout confirmed paid or failed).
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, OuterRef, Q, Sum
from django.utils import timezone

from yingshang.core import workdays
from yingshang.core.audit import Entry, audit_record, audit_record_many
from yingshang.core.errors import Conflict, NotPermitted, ValidationFailed
from yingshang.core.models import Attachment, Department, Role, User
from yingshang.core.permissions import can, require
from yingshang.core.services import notify
from yingshang.enterprises.models import Enterprise
from yingshang.service_items import clock

from . import credit, matching
from . import rules as R
from .models import (
    CODE_RE,
    Application,
    ApplicationEvent,
    ApplicationMaterial,
    ApplicationPause,
    BenefitItem,
    ItemMaterial,
    Objection,
    PayeeAccount,
    Payout,
    PayoutBatch,
    PayoutEvent,
    PayoutList,
    PayoutListEntry,
    PolicyDocument,
    PolicyEvent,
    RuleVersion,
)
from .rules import fields as F

D = PolicyDocument.Status
I = BenefitItem.Status  # noqa: E741
A = Application.Status
L = PayoutList.Status
P = Payout.Status
B = PayoutBatch.Status
Mode = BenefitItem.Mode


def _today() -> dt.date:
    return timezone.localdate()


def accept_days_default() -> int:
    """POLICY_ACCEPT_DAYS (default 3): working days to accept an application."""
    return int(getattr(settings, "POLICY_ACCEPT_DAYS", 3))


def review_days_default() -> int:
    """POLICY_REVIEW_DAYS (default 10): working days to review an accepted application."""
    return int(getattr(settings, "POLICY_REVIEW_DAYS", 10))


def notice_days_default() -> int:
    """POLICY_NOTICE_DAYS (default 5): working days of public notice (公示期)."""
    return int(getattr(settings, "POLICY_NOTICE_DAYS", 5))


_ALPHABET = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"


def _number(prefix: str) -> str:
    """``SB20261206K3Q9ZT2M``: prefix, day, 8 random characters (the unique constraint backs it)."""
    return f"{prefix}{_today():%Y%m%d}{''.join(secrets.choice(_ALPHABET) for _ in range(8))}"


def fen_to_yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    fen = abs(int(fen))
    return f"{sign}{fen // 100}.{fen % 100:02d}"


def _clean_text(value: str | None, field: str, label: str, max_len: int = 5000, required: bool = True) -> str:
    value = (value or "").strip()
    if required and not value:
        raise ValidationFailed(f"{label}不能为空", f"{field} is required", field=field)
    if len(value) > max_len:
        raise ValidationFailed(f"{label}超过 {max_len} 字", f"{field} longer than {max_len} characters", field=field)
    return value


def _wrong_state(label: str, status_display: str, action: str, action_en: str) -> Conflict:
    return Conflict(f"{label}当前状态为「{status_display}」，不能{action}", f"cannot {action_en} in this state",
                    field="status")


# --------------------------------------------------------------------------------------------- permissions


def _require_item_editor(actor: User | None, item: BenefitItem | None = None,
                         department: Department | None = None) -> None:
    """policies.edit; department staff only for their own department's items (the office for all)."""
    if actor is None:
        return
    require(actor, "policies.edit")
    dept_id = department.pk if department is not None else (item.department_id if item is not None else None)
    if actor.role != Role.DISPATCHER and dept_id is not None and actor.department_id != dept_id:
        raise NotPermitted("只能办理本部门的兑现事项", "only the item's department may do this", field="department")


def _require_department(actor: User | None, item: BenefitItem, capability: str) -> None:
    """A capability exercised by the item's own department (accepting, reviewing, deciding)."""
    if actor is None:
        return
    require(actor, capability)
    if actor.department_id is None or actor.department_id != item.department_id:
        raise NotPermitted("只有事项的责任部门可以办理", "only the item's department may do this", field="department")


def _require_own_enterprise(actor: User, enterprise_id: int | None) -> None:
    require(actor, "policies.apply_own")
    if actor.enterprise_id is None or actor.enterprise_id != enterprise_id:
        raise NotPermitted("只能为本企业办理", "only for your own enterprise", field="enterprise")


# --------------------------------------------------------------------------------------------- events


def _jsonable(data: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (str(v) if isinstance(v, dt.date | dt.datetime) else v) for k, v in data.items()}


def _event(kind: str, actor: User | None, *, obj: Any, frm: str = "", to: str = "", text: str = "",
           **data: Any) -> PolicyEvent:
    """A PolicyEvent on a document, item, list or batch, and its audit record."""
    target = {"document": None, "item": None, "payout_list": None, "batch": None}
    key = {PolicyDocument: "document", BenefitItem: "item", PayoutList: "payout_list", PayoutBatch: "batch"}[type(obj)]
    target[key] = obj
    ev = PolicyEvent.objects.create(kind=kind, from_status=frm, to_status=to, actor=actor, at=timezone.now(),
                                    text=text, data=_jsonable(data), **target)
    audit_record(actor=actor, action=f"policy.{key}.{kind}", obj=obj,
                 after={"status": to, "from": frm, **({"text": text} if text else {}), **ev.data})
    return ev


def _app_event(app: Application, kind: str, actor: User | None, *, frm: str = "", text: str = "",
               **data: Any) -> ApplicationEvent:
    ev = ApplicationEvent.objects.create(
        application=app, kind=kind, from_status=frm, to_status=app.status, actor=actor,
        department_id=actor.department_id if actor else None, at=timezone.now(), text=text, data=_jsonable(data))
    audit_record(actor=actor, action=f"policy.application.{kind}", obj=app, object_repr=app.number,
                 after={"status": app.status, "from": frm, **({"text": text} if text else {}), **ev.data})
    return ev


def _payout_events(payouts: Sequence[Payout], kind: str, actor: User | None, *, frm: str | None = None,
                   text: str = "", data: Any = None) -> None:
    """One PayoutEvent and one audit record per payout, written in bulk."""
    if not payouts:
        return
    now = timezone.now()
    PayoutEvent.objects.bulk_create([
        PayoutEvent(payout=p, kind=kind, from_status=frm if frm is not None else p.status, to_status=p.status,
                    actor=actor, at=now, text=text, data=data(p) if data else {}) for p in payouts])
    audit_record_many(actor=actor, entries=[
        Entry(f"policy.payout.{kind}", Payout._meta.label, str(p.pk), p.number, None,
              {"status": p.status, "from": frm if frm is not None else p.status, "amount_fen": p.amount_fen,
               "enterprise": p.enterprise_id, "item": p.item_id, "period": p.period,
               **(data(p) if data else {})}) for p in payouts])


def _staff(department_id: int, roles: Iterable[str] = (Role.HANDLER, Role.HEAD)) -> list[User]:
    return list(User.objects.filter(department_id=department_id, role__in=list(roles), is_active=True))


def _enterprise_users(enterprise_id: int) -> list[User]:
    return list(User.objects.filter(enterprise_id=enterprise_id, role=Role.ENTERPRISE, is_active=True))


def _tell(users: list[User], title: str, body: str = "", url: str = "") -> None:
    """In-app messages are rows like any other: written in the service's transaction (so they exist
    exactly when the change does); other channels are delivered after commit by ``notify``."""
    if users:
        notify(recipients=users, title=title[:200], body=body, url=url)


# --------------------------------------------------------------------------------------------- documents

_OPEN_BRACKETS = "[［(（【〔"
_CLOSE_BRACKETS = "]］)）】〕"
_NUMBER_RE = re.compile(r"^\S{1,30}〔(19|20)\d{2}〕\d{1,5}号$")
DOCUMENT_FIELDS = ("title", "issuer", "number", "issued_on", "effective_on", "expires_on", "text", "interpretation",
                   "topics", "industries")


def normalise_number(raw: str) -> str:
    """文号 with the year in 〔〕 whatever brackets were typed: ``X府发[2023]12号`` → ``X府发〔2023〕12号``."""
    s = re.sub(r"\s+", "", raw or "")
    for o in _OPEN_BRACKETS:
        s = s.replace(o, "〔")
    for c in _CLOSE_BRACKETS:
        s = s.replace(c, "〕")
    return s


def _document_check(doc: PolicyDocument) -> None:
    doc.title = _clean_text(doc.title, "title", "文件标题", 200)
    doc.issuer = _clean_text(doc.issuer, "issuer", "发文机关", 100)
    doc.number = normalise_number(doc.number)
    if doc.number and not _NUMBER_RE.match(doc.number):
        raise ValidationFailed("文号格式应如 X府发〔2023〕12号", "the document number should read like X府发〔2023〕12号",
                               field="number")
    if doc.number and PolicyDocument.objects.filter(number=doc.number).exclude(pk=doc.pk).exists():
        raise Conflict(f"文号 {doc.number} 已存在", f"document {doc.number} exists", field="number")
    if doc.effective_on and doc.expires_on and doc.expires_on < doc.effective_on:
        raise ValidationFailed("有效期截止日不能早于施行日期", "expiry cannot precede the effective date", field="expires_on")
    if doc.issued_on and doc.effective_on and doc.effective_on < doc.issued_on:
        raise ValidationFailed("施行日期不能早于印发日期", "the effective date cannot precede the issue date",
                               field="effective_on")
    topics = [str(t).strip()[:30] for t in (doc.topics or []) if str(t).strip()]
    doc.topics = list(dict.fromkeys(topics))[:20]
    codes = []
    for raw in doc.industries or []:
        code = F.INDUSTRY_CODES.prefix(str(raw).strip().upper())
        if code is None:
            raise ValidationFailed(f"未知的行业代码 {raw}", f"unknown industry code {raw}", field="industries")
        codes.append(code)
    doc.industries = list(dict.fromkeys(codes))
    doc.text = (doc.text or "").strip()
    doc.interpretation = (doc.interpretation or "").strip()


def _doc_snapshot(doc: PolicyDocument) -> dict[str, Any]:
    return {f: (str(getattr(doc, f)) if isinstance(getattr(doc, f), dt.date) else getattr(doc, f))
            for f in DOCUMENT_FIELDS if f != "text"} | {"text_length": len(doc.text)}


@transaction.atomic
def document_create(*, actor: User, title: str, issuer: str, number: str = "", issued_on: dt.date | None = None,
                    effective_on: dt.date | None = None, expires_on: dt.date | None = None, text: str = "",
                    interpretation: str = "", topics: Sequence[str] = (), industries: Sequence[str] = (),
                    attachments: Sequence[Attachment] = ()) -> PolicyDocument:
    """A policy document in draft."""
    require(actor, "policies.edit")
    doc = PolicyDocument(title=title, issuer=issuer, number=number, issued_on=issued_on, effective_on=effective_on,
                         expires_on=expires_on, text=text, interpretation=interpretation, topics=list(topics),
                         industries=list(industries), created_by=actor)
    _document_check(doc)
    doc.save()
    if attachments:
        doc.attachments.set(attachments)
    _event(PolicyEvent.Kind.CREATE, actor, obj=doc, to=doc.status, **_doc_snapshot(doc))
    return doc


@transaction.atomic
def document_update(*, actor: User, document: PolicyDocument, attachments: Sequence[Attachment] | None = None,
                    **changes: Any) -> PolicyDocument:
    """Correct a document (draft or published); an expired document is closed."""
    require(actor, "policies.edit")
    unknown = set(changes) - set(DOCUMENT_FIELDS)
    if unknown:
        raise ValidationFailed(f"不能修改 {', '.join(sorted(unknown))}", "unknown fields", field=sorted(unknown)[0])
    doc = PolicyDocument.objects.select_for_update().get(pk=document.pk)
    if doc.status == D.EXPIRED:
        raise _wrong_state("政策文件", doc.get_status_display(), "修改", "change an expired document")
    if doc.status == D.PUBLISHED and not changes.get("number", doc.number):
        raise ValidationFailed("已发布的文件须有文号", "a published document needs its number", field="number")
    before = _doc_snapshot(doc)
    for key, value in changes.items():
        setattr(doc, key, value)
    _document_check(doc)
    doc.save()
    if attachments is not None:
        doc.attachments.set(attachments)
    after = _doc_snapshot(doc)
    _event(PolicyEvent.Kind.UPDATE, actor, obj=doc, frm=doc.status, to=doc.status,
           before={k: v for k, v in before.items() if after[k] != v},
           after={k: v for k, v in after.items() if before[k] != v})
    if doc.status == D.PUBLISHED and ({"effective_on", "expires_on"} & set(changes)):
        _rematch_items_on_commit([it.pk for it in doc.items.filter(status=I.PUBLISHED)])
    return doc


@transaction.atomic
def document_publish(*, actor: User, document: PolicyDocument) -> PolicyDocument:
    require(actor, "policies.edit")
    doc = PolicyDocument.objects.select_for_update().get(pk=document.pk)
    if doc.status != D.DRAFT:
        raise _wrong_state("政策文件", doc.get_status_display(), "发布", "publish")
    if not doc.number:
        raise ValidationFailed("发布前须填写文号", "a document needs its number before publishing", field="number")
    if doc.effective_on is None:
        raise ValidationFailed("发布前须填写施行日期", "a document needs its effective date", field="effective_on")
    if doc.expires_on is not None and doc.expires_on < _today():
        raise ValidationFailed("文件已过有效期，不能发布", "the document has already expired", field="expires_on")
    doc.status, doc.published_at = D.PUBLISHED, timezone.now()
    doc.save()
    _event(PolicyEvent.Kind.PUBLISH, actor, obj=doc, frm=D.DRAFT, to=doc.status)
    return doc


def _stop_items(items: Iterable[BenefitItem], actor: User | None, reason: str) -> list[int]:
    stopped = []
    for it in items:
        frm = it.status
        it.status, it.stopped_at = I.STOPPED, timezone.now()
        it.save(update_fields=["status", "stopped_at", "updated_at"])
        _event(PolicyEvent.Kind.STOP, actor, obj=it, frm=frm, to=it.status, text=reason)
        stopped.append(it.pk)
    matching.drop_matches(stopped)
    return stopped


@transaction.atomic
def document_expire(*, actor: User | None, document: PolicyDocument, reason: str = "") -> PolicyDocument:
    """A published document stops being in force (its expiry date passed, or it was repealed): its items
    stop and leave matching.  Applications and payouts already decided go on."""
    if actor is not None:
        require(actor, "policies.edit")
        reason = _clean_text(reason, "reason", "失效原因", 1000)
    doc = PolicyDocument.objects.select_for_update().get(pk=document.pk)
    if doc.status != D.PUBLISHED:
        raise _wrong_state("政策文件", doc.get_status_display(), "失效", "expire")
    doc.status, doc.expired_at = D.EXPIRED, timezone.now()
    doc.save()
    items = list(BenefitItem.objects.select_for_update().filter(document=doc).exclude(status=I.STOPPED))
    stopped = _stop_items(items, actor, reason or "政策文件已失效")
    _event(PolicyEvent.Kind.EXPIRE, actor, obj=doc, frm=D.PUBLISHED, to=doc.status, text=reason or "有效期届满",
           stopped_items=stopped)
    return doc


def documents_expire_due(*, day: dt.date | None = None) -> int:
    """The daily job: expire every published document whose validity ended before ``day`` (idempotent)."""
    day = day or _today()
    n = 0
    for doc in PolicyDocument.objects.filter(status=D.PUBLISHED, expires_on__lt=day).order_by("id"):
        try:
            document_expire(actor=None, document=doc, reason=f"有效期至 {doc.expires_on}，已届满")
            n += 1
        except Conflict:  # expired meanwhile by another run
            continue
    return n


# --------------------------------------------------------------------------------------------- items

ITEM_FIELDS = ("name", "mode", "department", "summary", "window_start", "window_end", "budget_fen", "period_kind",
               "accept_days", "review_days", "notice_days")


def _item_check(item: BenefitItem) -> None:
    item.code = (item.code or "").strip()
    if not re.match(CODE_RE, item.code):
        raise ValidationFailed("事项编码应为 1–40 位字母、数字、- 或 _", "the code must be 1-40 letters, digits, - or _",
                               field="code")
    item.name = _clean_text(item.name, "name", "事项名称", 200)
    if item.mode not in Mode.values:
        raise ValidationFailed("兑现方式无效", "invalid mode", field="mode")
    if item.period_kind not in BenefitItem.Period.values:
        raise ValidationFailed("兑现周期无效", "invalid period", field="period_kind")
    if item.budget_fen is not None and (not isinstance(item.budget_fen, int) or item.budget_fen < 0):
        raise ValidationFailed("预算应为非负整数（分）", "the budget must be a whole, non-negative number of fen",
                               field="budget_fen")
    if item.window_start and item.window_end and item.window_end < item.window_start:
        raise ValidationFailed("申报截止日不能早于开始日", "the window ends before it starts", field="window_end")
    for f, label in (("accept_days", "受理时限"), ("review_days", "审核时限"), ("notice_days", "公示期")):
        v = getattr(item, f)
        if not isinstance(v, int) or not 0 <= v <= 60:
            raise ValidationFailed(f"{label}应为 0–60 个工作日", f"{f} must be 0-60 working days", field=f)
    if item.notice_days < 1:
        raise ValidationFailed("公示期至少 1 个工作日", "the notice lasts at least one working day", field="notice_days")
    item.summary = (item.summary or "").strip()


def _item_snapshot(item: BenefitItem) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in ITEM_FIELDS:
        v = getattr(item, "department_id" if f == "department" else f)
        out[f] = str(v) if isinstance(v, dt.date) else v
    return out


def _set_materials(item: BenefitItem, materials: Sequence[Mapping[str, Any]]) -> list[str]:
    """Replace the item's material list: rows with an ``id`` are updated, others added, missing ones
    removed (a material an application already used cannot be removed)."""
    existing = {m.pk: m for m in item.materials.all()}
    keep: set[int] = set()
    names = []
    for order, spec in enumerate(materials):
        name = _clean_text(spec.get("name"), "materials", "材料名称", 100)
        mid = spec.get("id")
        m = existing.get(int(mid)) if mid else None
        if mid and m is None:
            raise ValidationFailed(f"材料 {mid} 不属于该事项", f"material {mid} is not this item's", field="materials")
        m = m or ItemMaterial(item=item)
        m.name, m.required, m.note, m.order = name, bool(spec.get("required", True)), str(spec.get("note", ""))[:300], order
        m.save()
        keep.add(m.pk)
        names.append(name + ("" if m.required else "（可选）"))
    gone = [m for pk, m in existing.items() if pk not in keep]
    used = set(ApplicationMaterial.objects.filter(material__in=gone).values_list("material_id", flat=True))
    if used:
        raise Conflict("已有申报使用的材料不能删除", "a material used by an application cannot be removed", field="materials")
    for m in gone:
        m.delete()
    return names


@transaction.atomic
def item_create(*, actor: User, document: PolicyDocument, code: str, name: str, mode: str, department: Department,
                period_kind: str = BenefitItem.Period.YEAR, budget_fen: int | None = None,
                window_start: dt.date | None = None, window_end: dt.date | None = None, summary: str = "",
                accept_days: int | None = None, review_days: int | None = None, notice_days: int | None = None,
                materials: Sequence[Mapping[str, Any]] = ()) -> BenefitItem:
    """A benefit item in draft under a document (not an expired one)."""
    _require_item_editor(actor, department=department)
    if document.status == D.EXPIRED:
        raise _wrong_state("政策文件", document.get_status_display(), "新增事项", "add items")
    item = BenefitItem(document=document, code=code, name=name, mode=mode, department=department,
                       period_kind=period_kind, budget_fen=budget_fen, window_start=window_start,
                       window_end=window_end, summary=summary, created_by=actor,
                       accept_days=accept_days_default() if accept_days is None else accept_days,
                       review_days=review_days_default() if review_days is None else review_days,
                       notice_days=notice_days_default() if notice_days is None else notice_days)
    _item_check(item)
    if BenefitItem.objects.filter(code=item.code).exists():
        raise Conflict(f"事项编码 {item.code} 已存在", f"item {item.code} exists", field="code")
    item.save()
    names = _set_materials(item, materials)
    _event(PolicyEvent.Kind.CREATE, actor, obj=item, to=item.status, code=item.code, document=document.pk,
           materials=names, **_item_snapshot(item))
    return item


@transaction.atomic
def item_update(*, actor: User, item: BenefitItem, materials: Sequence[Mapping[str, Any]] | None = None,
                **changes: Any) -> BenefitItem:
    """Change an item; once published its mode and department stay, and a stopped item is closed."""
    item = BenefitItem.objects.select_for_update().get(pk=item.pk)
    _require_item_editor(actor, item)
    unknown = set(changes) - set(ITEM_FIELDS)
    if unknown:
        raise ValidationFailed(f"不能修改 {', '.join(sorted(unknown))}", "unknown fields", field=sorted(unknown)[0])
    if item.status == I.STOPPED:
        raise _wrong_state("兑现事项", item.get_status_display(), "修改", "change a stopped item")
    if item.status == I.PUBLISHED and ({"mode", "department", "period_kind"} & set(changes)):
        raise Conflict("已发布事项不能修改兑现方式、责任部门或兑现周期", "mode, department and period are fixed once published",
                       field=sorted({"mode", "department", "period_kind"} & set(changes))[0])
    if "department" in changes:
        _require_item_editor(actor, department=changes["department"])
    before = _item_snapshot(item)
    for key, value in changes.items():
        setattr(item, key, value)
    _item_check(item)
    item.save()
    names = _set_materials(item, materials) if materials is not None else None
    after = _item_snapshot(item)
    _event(PolicyEvent.Kind.UPDATE, actor, obj=item, frm=item.status, to=item.status,
           before={k: v for k, v in before.items() if after[k] != v},
           after={k: v for k, v in after.items() if before[k] != v}, **({"materials": names} if names else {}))
    if item.status == I.PUBLISHED and ({"window_start", "window_end"} & set(changes)):
        _push_on_commit([item.pk])
    return item


@transaction.atomic
def item_set_rule(*, actor: User, item: BenefitItem, rule: Any, amount: Any = None, note: str = "") -> RuleVersion:
    """A new version of the item's rule and amount formula (the old versions stay: every match,
    application and payout names the version it used).  A published item is re-matched after commit."""
    item = BenefitItem.objects.select_for_update().get(pk=item.pk)
    _require_item_editor(actor, item)
    if item.status == I.STOPPED:
        raise _wrong_state("兑现事项", item.get_status_display(), "修改规则", "change the rule")
    R.ensure_valid(rule, "condition", labels=R.db_labels())
    if amount is not None:
        R.ensure_valid(amount, "amount", labels=R.db_labels())
    elif item.mode != Mode.APPLY_REVIEW:
        raise ValidationFailed("免申即享和即申即享事项须有金额公式", "auto-grant and instant items need an amount formula",
                               field="amount")
    last = item.rule_versions.order_by("-number").first()
    rv = RuleVersion.objects.create(item=item, number=(last.number + 1) if last else 1, rule=rule, amount=amount,
                                    note=(note or "").strip()[:300], author=actor)
    matching.forget_rule_version(rv.pk)  # an id a rolled-back version had (SQLite) must not serve its rule
    item.rule = rv
    item.save(update_fields=["rule", "updated_at"])
    _event(PolicyEvent.Kind.RULE, actor, obj=item, frm=item.status, to=item.status, text=rv.note, version=rv.number,
           rule=rule, amount=amount, describe=R.describe(rule, labels=R.db_labels()))
    if item.status == I.PUBLISHED:
        _rematch_items_on_commit([item.pk])
    return rv


@transaction.atomic
def item_publish(*, actor: User, item: BenefitItem) -> BenefitItem:
    item = BenefitItem.objects.select_for_update(of=("self",)).select_related("document").get(pk=item.pk)
    _require_item_editor(actor, item)
    if item.status != I.DRAFT:
        raise _wrong_state("兑现事项", item.get_status_display(), "发布", "publish")
    if item.document.status != D.PUBLISHED:
        raise ValidationFailed("所属政策文件尚未发布或已失效", "the document is not in force", field="document")
    if item.rule is None:
        raise ValidationFailed("发布前须设置资格规则", "set the eligibility rule before publishing", field="rule")
    if item.mode != Mode.APPLY_REVIEW and item.rule.amount is None:
        raise ValidationFailed("免申即享和即申即享事项须有金额公式", "auto-grant and instant items need an amount formula",
                               field="amount")
    item.status, item.published_at = I.PUBLISHED, timezone.now()
    item.save()
    _event(PolicyEvent.Kind.PUBLISH, actor, obj=item, frm=I.DRAFT, to=item.status, version=item.rule.number)
    _rematch_items_on_commit([item.pk])
    return item


@transaction.atomic
def item_stop(*, actor: User, item: BenefitItem, reason: str) -> BenefitItem:
    item = BenefitItem.objects.select_for_update().get(pk=item.pk)
    _require_item_editor(actor, item)
    if item.status != I.PUBLISHED:
        raise _wrong_state("兑现事项", item.get_status_display(), "停止", "stop")
    _stop_items([item], actor, _clean_text(reason, "reason", "停止原因", 1000))
    return item


def _rematch_items_on_commit(item_ids: Sequence[int]) -> None:
    if not item_ids:
        return

    def run() -> None:
        from .tasks import match_items_task

        match_items_task.enqueue(item_ids=list(item_ids))

    transaction.on_commit(run)


def _push_on_commit(item_ids: Sequence[int]) -> None:
    transaction.on_commit(lambda: _push_now(item_ids))


def _push_now(item_ids: Sequence[int]) -> None:
    with transaction.atomic():
        matching.push_new_matches(item_ids=item_ids)


# --------------------------------------------------------------------------------------------- periods

_PERIOD_RE = {
    BenefitItem.Period.ONCE: re.compile(r"^once$"),
    BenefitItem.Period.YEAR: re.compile(r"^(19|20)\d{2}$"),
    BenefitItem.Period.HALF: re.compile(r"^(19|20)\d{2}H[12]$"),
    BenefitItem.Period.QUARTER: re.compile(r"^(19|20)\d{2}Q[1-4]$"),
    BenefitItem.Period.MONTH: re.compile(r"^(19|20)\d{2}-(0[1-9]|1[0-2])$"),
}


def period_of(kind: str, day: dt.date | None = None) -> str:
    """The period a day falls in: ``once``, ``2026``, ``2026H2``, ``2026Q4``, ``2026-12``."""
    day = day or _today()
    if kind == BenefitItem.Period.ONCE:
        return "once"
    if kind == BenefitItem.Period.YEAR:
        return f"{day.year}"
    if kind == BenefitItem.Period.HALF:
        return f"{day.year}H{1 if day.month <= 6 else 2}"
    if kind == BenefitItem.Period.QUARTER:
        return f"{day.year}Q{(day.month - 1) // 3 + 1}"
    return f"{day:%Y-%m}"


def _period(item: BenefitItem, period: str | None) -> str:
    period = (period or period_of(item.period_kind)).strip()
    if not _PERIOD_RE[item.period_kind].match(period):  # type: ignore[index]
        raise ValidationFailed(f"兑现周期 {period} 与事项的周期（{item.get_period_kind_display()}）不符",
                               f"period {period} does not fit the item's {item.period_kind} periods", field="period")
    return period


# --------------------------------------------------------------------------------------------- budget and payouts


def budget_used_fen(item_id: int) -> int:
    """What the item's live payouts (pending and paid) commit of its budget."""
    used = Payout.objects.filter(item_id=item_id, status__in=Payout.LIVE).aggregate(s=Sum("amount_fen"))["s"]
    return int(used or 0)


def _reserve(item: BenefitItem, total_fen: int) -> BenefitItem:
    """Lock the item row and check that ``total_fen`` more fits its budget.  Every payout creation goes
    through here in its transaction, so concurrent approvals queue on the lock and see each other."""
    locked = BenefitItem.objects.select_for_update().get(pk=item.pk)
    if locked.budget_fen is not None:
        used = budget_used_fen(locked.pk)
        if used + total_fen > locked.budget_fen:
            left = locked.budget_fen - used
            raise Conflict(f"预算不足：剩余 {fen_to_yuan(left)} 元，需 {fen_to_yuan(total_fen)} 元",
                           f"over budget: {fen_to_yuan(left)} yuan left, {fen_to_yuan(total_fen)} needed",
                           field="budget", code="over_budget")
    return locked


@dataclass
class NewPayout:
    enterprise_id: int
    amount_fen: int
    entry_id: int | None = None
    application_id: int | None = None
    retry_of_id: int | None = None


def _create_payouts(item: BenefitItem, period: str, rule_version_id: int, rows: Sequence[NewPayout],
                    payable_on: dt.date | None, actor: User | None) -> list[Payout]:
    """Payouts of the ledger, pending, under the budget and the one-live-payout constraint."""
    if not rows:
        return []
    for r in rows:
        if not isinstance(r.amount_fen, int) or r.amount_fen <= 0:
            raise ValidationFailed("兑现金额须为正的整数分", "payout amounts are positive whole fen", field="amount_fen")
    _reserve(item, sum(r.amount_fen for r in rows))
    objs = [Payout(number=_number("DX"), item_id=item.pk, enterprise_id=r.enterprise_id, period=period,
                   amount_fen=r.amount_fen, rule_version_id=rule_version_id, entry_id=r.entry_id,
                   application_id=r.application_id, retry_of_id=r.retry_of_id, payable_on=payable_on)
            for r in rows]
    try:
        with transaction.atomic():
            Payout.objects.bulk_create(objs, batch_size=2000)
    except IntegrityError:
        raise Conflict("该企业本期已兑现或正在兑现，不能重复兑现", "a payout for this enterprise, item and period exists",
                       field="period", code="duplicate_payout") from None
    if any(o.pk is None for o in objs):  # backends without RETURNING on bulk inserts
        by_number = dict(Payout.objects.filter(number__in=[o.number for o in objs]).values_list("number", "pk"))
        for o in objs:
            o.pk = by_number[o.number]
    _payout_events(objs, PayoutEvent.Kind.CREATE, actor, frm="",
                   data=lambda p: {"payable_on": str(p.payable_on) if p.payable_on else None})
    _rematch_payout_facts(item, [r.enterprise_id for r in rows])
    return objs


def _rematch_payout_facts(item: BenefitItem, enterprise_ids: Sequence[int]) -> None:
    """Rules may ask whether an enterprise already had a payout of an item (``payouts.item.<code>``):
    re-match the enterprises concerned when their payouts change."""
    needle = f"payouts.item.{item.code}"
    if needle in matching.active_rule_keys():
        matching.rematch_on_commit(enterprise_ids)


def _cancel_payouts(payouts: Sequence[Payout], actor: User | None, reason: str) -> None:
    for p in payouts:
        if p.status != P.PENDING or p.batch_id is not None:
            raise Conflict(f"兑现 {p.number} 已编入拨付批次，不能撤销", f"payout {p.number} is already in a batch",
                           field="payout")
        p.status = P.CANCELLED
        p.save(update_fields=["status"])
    _payout_events(payouts, PayoutEvent.Kind.CANCEL, actor, frm=P.PENDING, text=reason)


# --------------------------------------------------------------------------------------------- push receipts


def pushes_mark_read(*, actor: User, item_ids: Sequence[int] | None = None) -> int:
    """The enterprise user opened 我的政策 (every item it was told about) or an item's page: its pushes
    of those items count as read from now (政策知晓).  Only the first opening counts; staff opening an
    item change nothing.  Returns the number of pushes newly read.  A read receipt is its own record
    (the timestamp on the push); no audit entry is written for it."""
    from .models import MatchNotice

    if actor is None or not actor.is_authenticated or actor.role != Role.ENTERPRISE or not actor.enterprise_id:
        return 0
    with transaction.atomic():
        qs = MatchNotice.objects.filter(enterprise_id=actor.enterprise_id, read_at__isnull=True)
        if item_ids is not None:
            qs = qs.filter(item_id__in=list(item_ids))
        return qs.update(read_at=timezone.now())


# --------------------------------------------------------------------------------------------- payee accounts


@transaction.atomic
def payee_account_set(*, actor: User, enterprise: Enterprise, account_name: str, account_no: str,
                      bank_name: str) -> PayeeAccount:
    """The account benefits are paid to: set by the enterprise itself or by the office."""
    if not can(actor, "policies.pay"):
        _require_own_enterprise(actor, enterprise.pk)
    account_no = re.sub(r"[\s-]", "", account_no or "")
    if not re.fullmatch(r"\d{8,32}", account_no):
        raise ValidationFailed("账号应为 8–32 位数字", "the account number must be 8-32 digits", field="account_no")
    acc = PayeeAccount.objects.select_for_update().filter(enterprise=enterprise).first()
    before = {"account_name": acc.account_name, "account_no": acc.account_no, "bank_name": acc.bank_name} if acc else None
    acc = acc or PayeeAccount(enterprise=enterprise)
    acc.account_name = _clean_text(account_name, "account_name", "户名", 200)
    acc.account_no = account_no
    acc.bank_name = _clean_text(bank_name, "bank_name", "开户行", 100)
    acc.updated_by = actor
    acc.save()
    audit_record(actor=actor, action="policy.payee_account.set", obj=acc, object_repr=enterprise.name, before=before,
                 after={"account_name": acc.account_name, "account_no": acc.account_no, "bank_name": acc.bank_name})
    return acc


# --------------------------------------------------------------------------------------------- applications


@dataclass(frozen=True)
class Missing:
    """One thing an instant application lacks: a condition (不满足 / 数据缺失) or a material."""

    kind: str  # "condition" | "material" | "amount"
    text_zh: str
    text_en: str
    state: str = ""  # for conditions: false / unknown
    values_zh: str = ""

    def as_dict(self) -> dict[str, str]:
        return dict(self.__dict__)


class NotEligible(ValidationFailed):
    """即申即享 refused: ``missing`` says exactly what is missing."""

    code = "not_eligible"

    def __init__(self, missing: list[Missing]):
        lines = []
        for m in missing:
            if m.kind == "condition":
                state = R.Tri(m.state).label_zh
                lines.append(f"{m.text_zh}：{state}" + (f"（{m.values_zh}）" if m.values_zh else ""))
            elif m.kind == "material":
                lines.append(f"缺少材料：{m.text_zh}")
            else:
                lines.append(m.text_zh)
        super().__init__("不符合即申即享条件：" + "；".join(lines),
                         "not eligible: " + "; ".join(m.text_en for m in missing), field="eligibility")
        self.missing = missing


def eligibility_gaps(item: BenefitItem, enterprise_id: int) -> list[Missing]:
    """The item's top-level conditions the enterprise's current data does not meet (or cannot show),
    each with the values it read; empty when the rule holds."""
    rv = item.rule
    assert rv is not None
    keys = matching.keys_of([rv], amounts=True)
    facts = matching.enterprise_facts(enterprise_id, keys) or {}
    if matching.compiled_rule(rv).one(facts) is R.Tri.TRUE:
        return []
    labels = R.db_labels()
    out = []
    for cond in matching.conjuncts(credit.effective_rule(rv.rule)):
        state = R.evaluate_one(cond, facts)
        if state is R.Tri.TRUE:
            continue
        leaves = R.explain(cond, facts, labels=labels)
        values = "；".join(dict.fromkeys(lf.values_zh for lf in leaves if lf.values_zh))
        out.append(Missing("condition", R.describe(cond, labels=labels), R.describe_en(cond, labels=labels),
                           state.value, values))
    return out


def _materials_given(item: BenefitItem, materials: Mapping[int, Any] | None) -> dict[ItemMaterial, list[Attachment]]:
    """{material: [attachments]} for the item's materials; a key that is not the item's is an error."""
    mats = {m.pk: m for m in item.materials.all()}
    out: dict[ItemMaterial, list[Attachment]] = {}
    for key, value in (materials or {}).items():
        m = mats.get(int(key))
        if m is None:
            raise ValidationFailed(f"材料 {key} 不属于该事项", f"material {key} is not this item's", field="materials")
        files = [v for v in (value if isinstance(value, list | tuple) else [value]) if v is not None]
        for f in files:
            if not isinstance(f, Attachment):
                raise ValidationFailed("材料须为已上传的附件", "materials must be uploaded attachments", field="materials")
        if files:
            out[m] = files
    return out


def _missing_materials(item: BenefitItem, given: Mapping[ItemMaterial, list[Attachment]]) -> list[ItemMaterial]:
    return [m for m in item.materials.all() if m.required and m not in given]


def _save_materials(app: Application, given: Mapping[ItemMaterial, list[Attachment]], round_: int) -> None:
    now = timezone.now()
    ApplicationMaterial.objects.bulk_create([ApplicationMaterial(application=app, material=m, attachment=a,
                                                                 round=round_, uploaded_at=now)
                                             for m, files in given.items() for a in files])


def _application_preconditions(actor: User, item: BenefitItem, period: str | None) -> tuple[BenefitItem, Enterprise, str]:
    require(actor, "policies.apply_own")
    if actor.enterprise_id is None:
        raise NotPermitted("账号未绑定市场主体", "the account has no enterprise")
    item = BenefitItem.objects.select_related("rule", "document").get(pk=item.pk)
    if not BenefitItem.objects.filter(matching.active_q(), pk=item.pk).exists():
        raise ValidationFailed("该事项当前不受理申请", "the item does not take applications now", field="item")
    if item.mode == Mode.AUTO_GRANT:
        raise ValidationFailed("免申即享事项无需申请，符合条件的企业经公示后直接兑现",
                               "auto-grant items need no application", field="item")
    if not matching.window_open(item):
        raise ValidationFailed("不在申报期内", "outside the application window", field="item")
    enterprise = Enterprise.objects.get(pk=actor.enterprise_id)
    if enterprise.status != Enterprise.Status.ACTIVE:
        raise ValidationFailed("该市场主体已注销", "the enterprise is closed", field="enterprise")
    period = _period(item, period)
    if Payout.objects.filter(enterprise=enterprise, item=item, period=period, status__in=Payout.LIVE).exists():
        raise Conflict("本期已兑现，不能重复申请", "already paid for this period", field="period", code="duplicate_payout")
    if Application.objects.filter(enterprise=enterprise, item=item, period=period, status__in=Application.LIVE).exists():
        raise Conflict("本期已有在办或已批准的申报", "an application for this period is open or approved", field="period")
    return item, enterprise, period


def _new_application(actor: User, item: BenefitItem, enterprise: Enterprise, period: str, contact_name: str,
                     contact_phone: str, statement: str) -> Application:
    app = Application(number=_number("SB"), item=item, enterprise=enterprise, period=period, applicant=actor,
                      contact_name=_clean_text(contact_name, "contact_name", "联系人", 50),
                      contact_phone=_clean_text(contact_phone, "contact_phone", "联系电话", 20),
                      statement=(statement or "").strip()[:5000], rule_version=item.rule, submitted_at=timezone.now())
    try:
        with transaction.atomic():
            app.save()
    except IntegrityError:  # the same enterprise applying twice at the same moment
        raise Conflict("本期已有在办或已批准的申报", "an application for this period is open or approved",
                       field="period") from None
    return app


@transaction.atomic
def application_apply(*, actor: User, item: BenefitItem, contact_name: str, contact_phone: str,
                      materials: Mapping[int, Any] | None = None, statement: str = "",
                      period: str | None = None) -> Application:
    """An enterprise applies.

    即申即享: the rule is checked on the enterprise's current data and the required materials must be
    there; then the application is approved at once and its payout created.  Otherwise nothing is
    stored and :class:`NotEligible` lists exactly what is missing (each condition with the values
    read, each material).  依申报: the application waits for acceptance by the item's department."""
    item, enterprise, period = _application_preconditions(actor, item, period)
    given = _materials_given(item, materials)
    lacking = _missing_materials(item, given)
    assert item.rule is not None
    if item.mode == Mode.INSTANT:
        missing = eligibility_gaps(item, enterprise.pk)
        missing += [Missing("material", m.name, m.name) for m in lacking]
        amount = None
        if not missing:
            facts = matching.enterprise_facts(enterprise.pk, matching.keys_of([item.rule], amounts=True)) or {}
            amount_fn = matching.compiled_amount(item.rule)
            amount = amount_fn.value_one(facts) if amount_fn is not None else None
            if amount is None:
                missing.append(Missing("amount", "计算兑现金额所需的数据缺失", "data to compute the amount is missing"))
            elif amount <= 0:
                missing.append(Missing("amount", "按兑现标准计算的金额为 0", "the amount computes to zero"))
        if missing:
            raise NotEligible(missing)
        app = _new_application(actor, item, enterprise, period, contact_name, contact_phone, statement)
        _save_materials(app, given, 0)
        _app_event(app, ApplicationEvent.Kind.SUBMIT, actor, materials=[m.name for m in given])
        app.status, app.amount_fen = A.APPROVED, amount
        app.decided_at, app.decision_reason = timezone.now(), "即申即享：经数据核验符合条件，材料齐全，自动核准"
        app.save()
        _create_payouts(item, period, item.rule_id, [NewPayout(enterprise.pk, amount, application_id=app.pk)],  # type: ignore[arg-type]
                        None, actor)
        _app_event(app, ApplicationEvent.Kind.INSTANT_APPROVE, actor, frm=A.SUBMITTED, text=app.decision_reason,
                   amount_fen=amount, rule_version=item.rule.number)
        _tell(_enterprise_users(enterprise.pk), f"申报已核准：{item.name}",
              f"{app.number}，兑现金额 {fen_to_yuan(amount)} 元，待拨付", f"/policies/applications/{app.pk}/")  # type: ignore[arg-type]
        return app
    if lacking:
        raise ValidationFailed("缺少必需材料：" + "、".join(m.name for m in lacking),
                               "required materials missing: " + ", ".join(m.name for m in lacking), field="materials")
    app = _new_application(actor, item, enterprise, period, contact_name, contact_phone, statement)
    due = workdays.add(_today(), item.accept_days)
    app.accept_due, app.due_provisional = due.date, due.provisional
    app.save(update_fields=["accept_due", "due_provisional", "updated_at"])
    _save_materials(app, given, 0)
    facts = matching.enterprise_facts(enterprise.pk, matching.compiled_rule(item.rule).keys()) or {}
    _app_event(app, ApplicationEvent.Kind.SUBMIT, actor, materials=[m.name for m in given], accept_due=app.accept_due,
               rule_check=matching.compiled_rule(item.rule).one(facts).value, rule_version=item.rule.number)
    _tell(_staff(item.department_id), f"新申报待受理：{item.name}", f"{app.number} {enterprise.name}（{app.accept_due} 前受理）",
          f"/policies/applications/{app.pk}/")
    return app


def _lock_app(app: Application, *statuses: str, action: str, action_en: str) -> Application:
    locked = Application.objects.select_for_update(of=("self",)).select_related("item", "enterprise").get(pk=app.pk)
    if statuses and locked.status not in statuses:
        raise _wrong_state("申报", locked.get_status_display(), action, action_en)
    return locked


def _review_clock(app: Application) -> None:
    """The review due date from acceptance, the review limit and the correction pauses."""
    pauses = [clock.Pause(p.start, p.end) for p in app.pauses.all()]
    state = clock.compute(app.accepted_on, app.item.review_days, pauses)  # type: ignore[arg-type]
    app.review_due, app.due_provisional = state.due_date, state.provisional


@transaction.atomic
def application_accept(*, actor: User, application: Application) -> Application:
    """受理: the department takes the application; the review clock starts."""
    app = _lock_app(application, A.SUBMITTED, action="受理", action_en="accept")
    _require_department(actor, app.item, "policies.edit")
    app.status, app.accepted_on = A.REVIEWING, _today()
    _review_clock(app)
    app.save()
    _app_event(app, ApplicationEvent.Kind.ACCEPT, actor, frm=A.SUBMITTED, review_due=app.review_due,
               on_time=app.accept_due is None or _today() <= app.accept_due)
    _tell(_enterprise_users(app.enterprise_id), f"申报已受理：{app.item.name}", f"{app.number}，审核期限 {app.review_due}",
          f"/policies/applications/{app.pk}/")
    return app


@transaction.atomic
def application_not_accept(*, actor: User, application: Application, reason: str) -> Application:
    app = _lock_app(application, A.SUBMITTED, action="不予受理", action_en="refuse")
    _require_department(actor, app.item, "policies.edit")
    app.status, app.decided_at, app.decided_by = A.NOT_ACCEPTED, timezone.now(), actor
    app.decision_reason = _clean_text(reason, "reason", "不予受理理由", 2000)
    app.save()
    _app_event(app, ApplicationEvent.Kind.NOT_ACCEPT, actor, frm=A.SUBMITTED, text=app.decision_reason)
    _tell(_enterprise_users(app.enterprise_id), f"申报不予受理：{app.item.name}", app.decision_reason,
          f"/policies/applications/{app.pk}/")
    return app


@transaction.atomic
def application_request_correction(*, actor: User, application: Application, materials: Sequence[ItemMaterial],
                                   note: str) -> Application:
    """补正: one notice listing every material needed; the review clock stops until they arrive."""
    app = _lock_app(application, A.REVIEWING, action="要求补正", action_en="ask for corrections")
    _require_department(actor, app.item, "policies.edit")
    note = _clean_text(note, "note", "补正说明", 2000)
    names = []
    for m in materials:
        if m.item_id != app.item_id:
            raise ValidationFailed(f"材料 {m.name} 不属于该事项", "a material of another item", field="materials")
        names.append(m.name)
    ApplicationPause.objects.create(application=app, start=_today(), requested=names, note=note)
    app.status = A.CORRECTION
    _review_clock(app)
    app.save()
    _app_event(app, ApplicationEvent.Kind.CORRECTION_REQUEST, actor, frm=A.REVIEWING, text=note, materials=names)
    _tell(_enterprise_users(app.enterprise_id), f"申报需补正材料：{app.item.name}",
          f"{note}（{'、'.join(names)}）" if names else note, f"/policies/applications/{app.pk}/")
    return app


@transaction.atomic
def application_submit_correction(*, actor: User, application: Application, materials: Mapping[int, Any],
                                  statement: str = "") -> Application:
    """The enterprise brings the requested materials; the review clock runs again."""
    app = _lock_app(application, A.CORRECTION, action="提交补正", action_en="submit corrections")
    _require_own_enterprise(actor, app.enterprise_id)
    pause = app.pauses.filter(end__isnull=True).order_by("-start").first()
    assert pause is not None
    given = _materials_given(app.item, materials)
    lacking = [n for n in pause.requested if n not in {m.name for m in given}]
    if lacking:
        raise ValidationFailed("仍缺少补正材料：" + "、".join(lacking), "requested materials missing: " + ", ".join(lacking),
                               field="materials")
    if not given and not (statement or "").strip():
        raise ValidationFailed("请提交补正材料或说明", "bring the materials or an explanation", field="materials")
    round_ = app.pauses.count()
    _save_materials(app, given, round_)
    pause.end = _today()
    pause.save(update_fields=["end"])
    app.status = A.REVIEWING
    _review_clock(app)
    app.save()
    _app_event(app, ApplicationEvent.Kind.CORRECTION_SUBMIT, actor, frm=A.CORRECTION, text=(statement or "").strip()[:2000],
               materials=[m.name for m in given], review_due=app.review_due)
    _tell(_staff(app.item.department_id), f"补正材料已提交：{app.item.name}", app.number,
          f"/policies/applications/{app.pk}/")
    return app


@transaction.atomic
def application_approve(*, actor: User, application: Application, reason: str,
                        amount_fen: int | None = None) -> Application:
    """审核通过: the decision with its reasons, the amount (the formula on the current data; the reviewer
    may set a lower one, or the amount when the item has no formula), the payout created under the
    budget, payable when the public notice ends without an upheld objection."""
    app = _lock_app(application, A.REVIEWING, action="作出决定", action_en="decide")
    _require_department(actor, app.item, "policies.review")
    reason = _clean_text(reason, "reason", "决定理由", 2000)
    if credit.black_listed([app.enterprise_id]):
        raise Conflict("该企业已列入信用黑名单，依法不得享受惠企政策；请作出不予兑现的决定",
                       "the enterprise is on the credit black list and may not receive benefits; reject the application",
                       field="enterprise", code="black_listed")
    item = app.item
    rv = item.rule
    assert rv is not None
    computed = None
    amount_fn = matching.compiled_amount(rv)
    if amount_fn is not None:
        facts = matching.enterprise_facts(app.enterprise_id, amount_fn.keys()) or {}
        computed = amount_fn.value_one(facts)
    if amount_fen is None:
        amount_fen = computed
    elif computed is not None and amount_fen > computed:
        raise ValidationFailed(f"核定金额不能高于兑现标准计算的 {fen_to_yuan(computed)} 元",
                               "the amount cannot exceed the formula's", field="amount_fen")
    if amount_fen is None or amount_fen <= 0:
        raise ValidationFailed("须核定大于 0 的兑现金额", "a positive amount is required", field="amount_fen")
    day = _today()
    notice_end = workdays.add(day, item.notice_days)
    app.status, app.amount_fen, app.rule_version = A.NOTICE, int(amount_fen), rv
    app.decided_at, app.decided_by, app.decision_reason = timezone.now(), actor, reason
    app.notice_start, app.notice_end = day, notice_end.date
    app.due_provisional = app.due_provisional or notice_end.provisional
    app.save()
    _create_payouts(item, app.period, rv.pk, [NewPayout(app.enterprise_id, app.amount_fen, application_id=app.pk)],
                    workdays.add(notice_end.date, 1).date, actor)
    _app_event(app, ApplicationEvent.Kind.APPROVE, actor, frm=A.REVIEWING, text=reason, amount_fen=app.amount_fen,
               computed_fen=computed, notice_end=app.notice_end, rule_version=rv.number,
               on_time=app.review_due is None or day <= app.review_due)
    _tell(_enterprise_users(app.enterprise_id), f"申报审核通过，公示中：{item.name}",
          f"{app.number}，金额 {fen_to_yuan(app.amount_fen)} 元，公示至 {app.notice_end}", f"/policies/applications/{app.pk}/")
    return app


@transaction.atomic
def application_reject(*, actor: User, application: Application, reason: str) -> Application:
    app = _lock_app(application, A.REVIEWING, action="作出决定", action_en="decide")
    _require_department(actor, app.item, "policies.review")
    app.status, app.decided_at, app.decided_by = A.REJECTED, timezone.now(), actor
    app.decision_reason = _clean_text(reason, "reason", "不予批准理由", 2000)
    app.save()
    _app_event(app, ApplicationEvent.Kind.REJECT, actor, frm=A.REVIEWING, text=app.decision_reason,
               on_time=app.review_due is None or _today() <= app.review_due)
    _tell(_enterprise_users(app.enterprise_id), f"申报不予批准：{app.item.name}", app.decision_reason,
          f"/policies/applications/{app.pk}/")
    return app


@transaction.atomic
def application_withdraw(*, actor: User, application: Application) -> Application:
    app = _lock_app(application, A.SUBMITTED, A.REVIEWING, A.CORRECTION, action="撤回", action_en="withdraw")
    _require_own_enterprise(actor, app.enterprise_id)
    frm = app.status
    app.pauses.filter(end__isnull=True).update(end=_today())
    app.status = A.WITHDRAWN
    app.save()
    _app_event(app, ApplicationEvent.Kind.WITHDRAW, actor, frm=frm)
    return app


def application_recompute_provisional(year: int) -> int:
    """When a year's official calendar is entered: recompute the due dates of open applications that
    were computed on the provisional one."""
    n = 0
    for app in Application.objects.select_for_update(of=("self",)).select_related("item").filter(
            due_provisional=True, status__in=[A.SUBMITTED, A.REVIEWING, A.CORRECTION, A.NOTICE]):
        before = (app.accept_due, app.review_due, app.notice_end)
        provisional = False
        if app.status == A.SUBMITTED:
            due = workdays.add(timezone.localtime(app.submitted_at).date(), app.item.accept_days)
            app.accept_due, provisional = due.date, due.provisional
        elif app.status in (A.REVIEWING, A.CORRECTION):
            _review_clock(app)
            provisional = app.due_provisional
        elif app.notice_start:
            due = workdays.add(app.notice_start, app.item.notice_days)
            app.notice_end, provisional = due.date, due.provisional
            app.payouts.filter(status=P.PENDING, batch__isnull=True).update(
                payable_on=workdays.add(due.date, 1).date)
        app.due_provisional = provisional
        app.save(update_fields=["accept_due", "review_due", "notice_end", "due_provisional", "updated_at"])
        audit_record(actor=None, action="policy.application.recompute", obj=app, object_repr=app.number,
                     before=[str(d) for d in before], after={"year": year, "accept_due": app.accept_due,
                                                             "review_due": app.review_due, "notice_end": app.notice_end})
        n += 1
    return n


# --------------------------------------------------------------------------------------------- 免申即享 lists


def _lock_list(plist: PayoutList, *statuses: str, action: str, action_en: str) -> PayoutList:
    locked = PayoutList.objects.select_for_update(of=("self",)).select_related("item").get(pk=plist.pk)
    if statuses and locked.status not in statuses:
        raise _wrong_state("拟兑现名单", locked.get_status_display(), action, action_en)
    return locked


@transaction.atomic
def payout_list_propose(*, actor: User, item: BenefitItem, period: str | None = None) -> PayoutList:
    """拟兑现名单: the enterprises the item's current rule holds for (the stored matches, checked again on
    the current data), less those already paid or listed for the period, each with its amount from the
    formula.  Enterprises whose amount cannot be computed (missing data) or is zero are left out and
    counted in the event."""
    import numpy as np

    from .models import Match

    item = BenefitItem.objects.select_related("rule").get(pk=item.pk)
    require(actor, "policies.edit")
    _require_item_editor(actor, item)
    if item.mode != Mode.AUTO_GRANT:
        raise ValidationFailed("只有免申即享事项生成拟兑现名单", "lists are for auto-grant items", field="item")
    if not BenefitItem.objects.filter(matching.active_q(), pk=item.pk).exists():
        raise ValidationFailed("该事项当前不在兑现期", "the item is not in force", field="item")
    period = _period(item, period)
    rv = item.rule
    assert rv is not None
    taken = set(Payout.objects.filter(item=item, period=period, status__in=Payout.LIVE).values_list("enterprise_id", flat=True))
    taken |= set(PayoutListEntry.objects.filter(payout_list__item=item, payout_list__period=period, included=True)
                 .exclude(payout_list__status=L.CANCELLED).values_list("enterprise_id", flat=True))
    candidates = sorted(set(Match.objects.filter(item=item).values_list("enterprise_id", flat=True)) - taken)
    plist = PayoutList.objects.create(number=_number("MD"), item=item, period=period, rule_version=rv,
                                      created_by=actor)
    skipped_unknown = skipped_zero = not_eligible = 0
    if candidates:
        keys = matching.keys_of([rv], amounts=True)
        if len(candidates) <= 20_000:
            cols = R.load_columns(matching.reference_year(), candidates, keys=keys)
        else:  # many: one read of the whole registry beats thousands of filtered queries
            cols = R.load_columns(matching.reference_year(), keys=keys)
            cols = cols.subset(np.isin(cols.ids, np.asarray(candidates, dtype=np.int64)))
        eligible = matching.compiled_rule(rv)(cols).true
        not_eligible = int((~eligible).sum())
        sub = cols.subset(eligible)
        fen, known = R.amount(matching.compiled_amount(rv), sub)  # type: ignore[arg-type]
        skipped_unknown = int((~known).sum())
        skipped_zero = int((known & (fen <= 0)).sum())
        keep = known & (fen > 0)
        PayoutListEntry.objects.bulk_create(
            [PayoutListEntry(payout_list=plist, enterprise_id=int(e), amount_fen=int(f), rule_version=rv)
             for e, f in zip(sub.ids[keep], fen[keep])], batch_size=5000)
        total = int(np.sum(fen[keep], dtype=np.int64))
        count = int(keep.sum())
    else:
        total = count = 0
    _event(PolicyEvent.Kind.PROPOSE, actor, obj=plist, to=plist.status, item=item.code, period=period, count=count,
           total_fen=total, rule_version=rv.number, skipped_amount_unknown=skipped_unknown, skipped_zero=skipped_zero,
           no_longer_eligible=not_eligible)
    _tell(_staff(item.department_id, [Role.HEAD]), f"拟兑现名单待审核：{item.name}",
          f"{plist.number}，{count} 家，{fen_to_yuan(total)} 元", f"/policies/lists/{plist.pk}/")
    return plist


@transaction.atomic
def payout_list_exclude(*, actor: User, entry: PayoutListEntry, reason: str) -> PayoutListEntry:
    """Department review: take an enterprise off the proposed list, with the reason."""
    plist = _lock_list(entry.payout_list, L.PROPOSED, action="剔除企业", action_en="exclude")
    _require_department(actor, plist.item, "policies.review")
    entry = PayoutListEntry.objects.select_for_update().get(pk=entry.pk)
    if not entry.included:
        raise Conflict("该企业已被剔除", "already excluded", field="entry")
    entry.included, entry.excluded_by, entry.excluded_at = False, actor, timezone.now()
    entry.excluded_reason = _clean_text(reason, "reason", "剔除理由", 1000)
    entry.save()
    _event(PolicyEvent.Kind.EXCLUDE, actor, obj=plist, frm=plist.status, to=plist.status, text=entry.excluded_reason,
           enterprise=entry.enterprise_id, amount_fen=entry.amount_fen)
    return entry


@transaction.atomic
def payout_list_restore(*, actor: User, entry: PayoutListEntry) -> PayoutListEntry:
    plist = _lock_list(entry.payout_list, L.PROPOSED, action="恢复企业", action_en="restore")
    _require_department(actor, plist.item, "policies.review")
    entry = PayoutListEntry.objects.select_for_update().get(pk=entry.pk)
    if entry.included:
        raise Conflict("该企业在名单中", "already on the list", field="entry")
    reason = entry.excluded_reason
    entry.included, entry.excluded_reason, entry.excluded_by, entry.excluded_at = True, "", None, None
    entry.save()
    _event(PolicyEvent.Kind.RESTORE, actor, obj=plist, frm=plist.status, to=plist.status, enterprise=entry.enterprise_id,
           excluded_reason=reason)
    return entry


def _list_totals(plist: PayoutList) -> tuple[int, int]:
    agg = plist.entries.filter(included=True).aggregate(n=Count("id"), s=Sum("amount_fen"))
    return int(agg["n"] or 0), int(agg["s"] or 0)


@transaction.atomic
def payout_list_review_complete(*, actor: User, payout_list: PayoutList, note: str = "") -> PayoutList:
    plist = _lock_list(payout_list, L.PROPOSED, action="完成审核", action_en="complete the review")
    _require_department(actor, plist.item, "policies.review")
    plist.status, plist.reviewed_by, plist.reviewed_at = L.REVIEWED, actor, timezone.now()
    plist.save()
    count, total = _list_totals(plist)
    excluded = plist.entries.filter(included=False).count()
    _event(PolicyEvent.Kind.REVIEW, actor, obj=plist, frm=L.PROPOSED, to=plist.status, text=(note or "").strip()[:2000],
           count=count, total_fen=total, excluded=excluded)
    return plist


@transaction.atomic
def payout_list_publish(*, actor: User, payout_list: PayoutList) -> PayoutList:
    """公示: the reviewed list goes on public notice for the item's notice days; its payouts are created
    now, under the budget, payable the working day after the notice ends."""
    plist = _lock_list(payout_list, L.REVIEWED, action="公示", action_en="publish the notice")
    _require_item_editor(actor, plist.item)
    day = _today()
    end = workdays.add(day, plist.item.notice_days)
    plist.status, plist.notice_start, plist.notice_end, plist.notice_provisional = L.NOTICE, day, end.date, end.provisional
    plist.save()
    entries = list(plist.entries.filter(included=True).order_by("id"))
    # 联合惩戒: an enterprise black-listed since the proposal comes off the list before the notice
    barred = credit.black_listed(e.enterprise_id for e in entries)
    for e in [e for e in entries if e.enterprise_id in barred]:
        e.included, e.excluded_at, e.excluded_reason = False, timezone.now(), credit.EXCLUSION_REASON
        e.save(update_fields=["included", "excluded_at", "excluded_reason"])
        _event(PolicyEvent.Kind.EXCLUDE, actor, obj=plist, frm=L.REVIEWED, to=L.REVIEWED, text=e.excluded_reason,
               enterprise=e.enterprise_id, amount_fen=e.amount_fen)
    entries = [e for e in entries if e.enterprise_id not in barred]
    _create_payouts(plist.item, plist.period, plist.rule_version_id,
                    [NewPayout(e.enterprise_id, e.amount_fen, entry_id=e.pk) for e in entries],
                    workdays.add(end.date, 1).date, actor)
    count, total = len(entries), sum(e.amount_fen for e in entries)
    _event(PolicyEvent.Kind.NOTICE, actor, obj=plist, frm=L.REVIEWED, to=plist.status, notice_end=plist.notice_end,
           count=count, total_fen=total)
    users = list(User.objects.filter(role=Role.ENTERPRISE, is_active=True,
                                     enterprise_id__in=[e.enterprise_id for e in entries]))
    _tell(users, f"惠企政策兑现公示：{plist.item.name}", f"公示至 {plist.notice_end}，期满无异议后拨付",
          f"/policies/lists/{plist.pk}/")
    return plist


def _open_objections_q(prefix: str = "") -> Exists:
    return Exists(Objection.objects.filter(status=Objection.Status.OPEN).filter(
        Q(entry_id=OuterRef(f"{prefix}entry_id")) | Q(application_id=OuterRef(f"{prefix}application_id"))))


@transaction.atomic
def payout_list_finalize(*, actor: User | None, payout_list: PayoutList) -> PayoutList:
    """公示期满: no open objection left → final; its payouts can go into a batch."""
    plist = _lock_list(payout_list, L.NOTICE, action="结束公示", action_en="end the notice")
    if actor is not None:
        _require_item_editor(actor, plist.item)
    if plist.notice_end is None or _today() <= plist.notice_end:
        raise Conflict(f"公示期至 {plist.notice_end}，尚未届满", "the notice has not ended", field="notice_end")
    if Objection.objects.filter(entry__payout_list=plist, status=Objection.Status.OPEN).exists():
        raise Conflict("尚有未处理的公示异议", "objections are still open", field="objections")
    plist.status, plist.finalized_at = L.FINAL, timezone.now()
    plist.save()
    count, total = _list_totals(plist)
    _event(PolicyEvent.Kind.FINALIZE, actor, obj=plist, frm=L.NOTICE, to=plist.status, count=count, total_fen=total)
    return plist


@transaction.atomic
def payout_list_cancel(*, actor: User, payout_list: PayoutList, reason: str) -> PayoutList:
    plist = _lock_list(payout_list, L.PROPOSED, L.REVIEWED, action="作废", action_en="cancel")
    _require_item_editor(actor, plist.item)
    frm = plist.status
    plist.status = L.CANCELLED
    plist.save()
    _event(PolicyEvent.Kind.CANCEL, actor, obj=plist, frm=frm, to=plist.status,
           text=_clean_text(reason, "reason", "作废原因", 1000))
    return plist


# --------------------------------------------------------------------------------------------- objections


@transaction.atomic
def objection_file(*, actor: User | None, text: str, entry: PayoutListEntry | None = None,
                   application: Application | None = None, filer_name: str = "", filer_contact: str = "") -> Objection:
    """公示异议: anyone (signed in or not) objects to a listed enterprise or an approved application while
    its notice runs.  The payout concerned waits until the department decides."""
    if (entry is None) == (application is None):
        raise ValidationFailed("须指明异议对象", "name what the objection is about", field="entry")
    day = _today()
    if entry is not None:
        entry = PayoutListEntry.objects.get(pk=entry.pk)
        plist = _lock_list(entry.payout_list, L.NOTICE, action="提出异议", action_en="object")
        if plist.notice_end is None or day > plist.notice_end or not entry.included:
            raise Conflict("不在公示期内", "not on notice", field="entry")
        item, obj_event = plist.item, plist
    else:
        app = _lock_app(application, A.NOTICE, action="提出异议", action_en="object")  # type: ignore[arg-type]
        if app.notice_end is None or day > app.notice_end:
            raise Conflict("不在公示期内", "not on notice", field="application")
        item, obj_event = app.item, app
    if actor is None and not (filer_name or "").strip():
        raise ValidationFailed("请留下异议人姓名和联系方式", "leave your name and contact", field="filer_name")
    obj = Objection.objects.create(entry=entry, application=application, filed_by=actor,
                                   filer_name=(filer_name or (actor.display_name if actor else ""))[:50],
                                   filer_contact=(filer_contact or "")[:50],
                                   text=_clean_text(text, "text", "异议内容", 5000))
    if isinstance(obj_event, PayoutList):
        _event(PolicyEvent.Kind.OBJECTION, actor, obj=obj_event, frm=obj_event.status, to=obj_event.status,
               text=obj.text, objection=obj.pk, enterprise=entry.enterprise_id)  # type: ignore[union-attr]
    else:
        _app_event(obj_event, ApplicationEvent.Kind.OBJECTION, actor, frm=obj_event.status, text=obj.text,
                   objection=obj.pk)
    _tell(_staff(item.department_id, [Role.HEAD]), f"公示异议待处理：{item.name}", obj.text[:100],
          f"/policies/objections/{obj.pk}/")
    return obj


@transaction.atomic
def objection_decide(*, actor: User, objection: Objection, uphold: bool, reason: str) -> Objection:
    """The department decides an objection: upheld takes the enterprise off (its payout cancelled, an
    application revoked); dismissed lets the payout go ahead."""
    obj = Objection.objects.select_for_update(of=("self",)).select_related(
        "entry__payout_list__item", "application__item").get(pk=objection.pk)
    item = obj.entry.payout_list.item if obj.entry_id else obj.application.item  # type: ignore[union-attr]
    _require_department(actor, item, "policies.review")
    if obj.status != Objection.Status.OPEN:
        raise Conflict("该异议已处理", "already decided", field="status")
    reason = _clean_text(reason, "reason", "处理意见", 2000)
    obj.status = Objection.Status.UPHELD if uphold else Objection.Status.DISMISSED
    obj.decided_by, obj.decided_at, obj.decision_reason = actor, timezone.now(), reason
    obj.save()
    if obj.entry_id:
        plist = _lock_list(obj.entry.payout_list, action="处理异议", action_en="decide")  # type: ignore[union-attr]
        if uphold:
            entry = PayoutListEntry.objects.select_for_update().get(pk=obj.entry_id)
            entry.included, entry.excluded_by, entry.excluded_at = False, actor, timezone.now()
            entry.excluded_reason = f"公示异议成立：{reason}"
            entry.save()
            _cancel_payouts(list(Payout.objects.select_for_update().filter(entry=entry, status=P.PENDING)), actor,
                            entry.excluded_reason)
        _event(PolicyEvent.Kind.OBJECTION_DECIDE, actor, obj=plist, frm=plist.status, to=plist.status, text=reason,
               objection=obj.pk, upheld=uphold, enterprise=obj.entry.enterprise_id)  # type: ignore[union-attr]
    else:
        app = _lock_app(obj.application, action="处理异议", action_en="decide")  # type: ignore[arg-type]
        frm = app.status
        if uphold and app.status in (A.NOTICE, A.APPROVED):
            _cancel_payouts(list(Payout.objects.select_for_update().filter(application=app, status=P.PENDING)), actor,
                            f"公示异议成立：{reason}")
            app.status = A.REVOKED
            app.save()
        _app_event(app, ApplicationEvent.Kind.OBJECTION_DECIDE, actor, frm=frm, text=reason, objection=obj.pk,
                   upheld=uphold)
        if uphold:
            _tell(_enterprise_users(app.enterprise_id), f"公示异议成立，申报已撤销：{app.item.name}", reason,
                  f"/policies/applications/{app.pk}/")
    return obj


# --------------------------------------------------------------------------------------------- sweep


def policies_sweep(*, day: dt.date | None = None) -> dict[str, int]:
    """Daily: notices that ended without open objections — applications become approved, lists final.
    Each row is claimed under its lock and re-checked, so concurrent sweeps never act twice."""
    day = day or _today()
    counts = {"applications": 0, "lists": 0}
    for pk in Application.objects.filter(status=A.NOTICE, notice_end__lt=day).values_list("pk", flat=True):
        with transaction.atomic():
            app = Application.objects.select_for_update(of=("self",)).select_related("item").get(pk=pk)
            if app.status != A.NOTICE or app.objections.filter(status=Objection.Status.OPEN).exists():
                continue
            app.status = A.APPROVED
            app.save(update_fields=["status", "updated_at"])
            _app_event(app, ApplicationEvent.Kind.NOTICE_END, None, frm=A.NOTICE)
            counts["applications"] += 1
    for plist in PayoutList.objects.filter(status=L.NOTICE, notice_end__lt=day):
        try:
            payout_list_finalize(actor=None, payout_list=plist)
            counts["lists"] += 1
        except Conflict:
            continue
    return counts


# --------------------------------------------------------------------------------------------- batches and the bank


def payable_payouts(*, day: dt.date | None = None) -> Any:
    """Pending payouts that may be paid: not in a batch, the notice over, no open objection, and the
    enterprise has a payee account."""
    day = day or _today()
    return (Payout.objects.filter(status=P.PENDING, batch__isnull=True)
            .filter(Q(payable_on__isnull=True) | Q(payable_on__lte=day))
            .exclude(_open_objections_q())
            .filter(Exists(PayeeAccount.objects.filter(enterprise_id=OuterRef("enterprise_id")))))


@transaction.atomic
def payout_batch_create(*, actor: User | None, items: Sequence[BenefitItem] | None = None,
                        limit: int | None = None) -> PayoutBatch:
    """拨付批次: claims the payable payouts (one conditional UPDATE, so two batches never share a payout)
    and copies each enterprise's payee account onto its payout."""
    if actor is not None:
        require(actor, "policies.pay")
    qs = payable_payouts()
    if items:
        qs = qs.filter(item__in=list(items))
    ids = list(qs.order_by("id").values_list("pk", flat=True)[:limit] if limit else qs.order_by("id").values_list(
        "pk", flat=True))
    if not ids:
        raise ValidationFailed("没有可拨付的兑现（公示未满、有未决异议或缺收款账户的不能拨付）",
                               "nothing payable (notice running, objection open or payee account missing)",
                               field="payouts")
    batch = PayoutBatch.objects.create(number=_number("PC"), created_by=actor)
    claimed = Payout.objects.filter(pk__in=ids, status=P.PENDING, batch__isnull=True).update(batch=batch)
    if claimed == 0:
        raise Conflict("这些兑现已被其他批次编入", "another batch took these payouts", field="payouts")
    payouts = list(Payout.objects.filter(batch=batch).select_related("enterprise").order_by("id"))
    accounts = {a.enterprise_id: a for a in PayeeAccount.objects.filter(enterprise_id__in=[p.enterprise_id for p in payouts])}
    for p in payouts:
        acc = accounts[p.enterprise_id]
        p.payee_name, p.payee_account, p.payee_bank = acc.account_name, acc.account_no, acc.bank_name
    Payout.objects.bulk_update(payouts, ["payee_name", "payee_account", "payee_bank"], batch_size=2000)
    _payout_events(payouts, PayoutEvent.Kind.BATCH, actor, data=lambda p: {"batch": batch.number})
    _event(PolicyEvent.Kind.BATCH_CREATE, actor, obj=batch, to=batch.status, count=len(payouts),
           total_fen=sum(p.amount_fen for p in payouts))
    return batch


@transaction.atomic
def payout_batch_export(*, actor: User | None, batch: PayoutBatch) -> bytes:
    """The payment file for the bank / finance system (``payouts.export_csv``); the batch becomes
    exported.  Exporting again gives the same file."""
    from . import payouts as bankfile

    if actor is not None:
        require(actor, "policies.pay")
    batch = PayoutBatch.objects.select_for_update().get(pk=batch.pk)
    if batch.status == B.CLOSED:
        raise _wrong_state("拨付批次", batch.get_status_display(), "导出", "export")
    payouts = list(batch.payouts.select_related("enterprise", "item").order_by("id"))
    data = bankfile.export_csv(batch, payouts)
    digest = bankfile.sha256(data)
    if batch.status == B.OPEN:
        batch.status, batch.exported_at, batch.export_sha256 = B.EXPORTED, timezone.now(), digest
        batch.save()
        _payout_events(payouts, PayoutEvent.Kind.EXPORT, actor, data=lambda p: {"batch": batch.number})
        _event(PolicyEvent.Kind.BATCH_EXPORT, actor, obj=batch, frm=B.OPEN, to=batch.status, sha256=digest,
               count=len(payouts), total_fen=sum(p.amount_fen for p in payouts))
    return data


@dataclass
class ImportResult:
    rows: int
    paid: int
    failed: int
    unchanged: int
    batches_closed: list[str]


@transaction.atomic
def payout_confirmations_import(*, actor: User | None, data: bytes) -> ImportResult:
    """The bank's confirmations: each row names a payout, 成功 with the bank's reference or 失败 with the
    reason.  Every row is checked first; a file with any bad row changes nothing.  Rows already applied
    are skipped, so importing the same file twice changes nothing the second time.  A batch closes
    when none of its payouts is still pending."""
    from . import payouts as bankfile

    if actor is not None:
        require(actor, "policies.pay")
    rows = bankfile.parse_confirmations(data)
    numbers = [r.number for r in rows]
    found = {p.number: p for p in Payout.objects.select_for_update(of=("self",)).select_related("batch").filter(number__in=numbers)}
    errors: list[str] = []
    to_pay: list[tuple[Payout, bankfile.Confirmation]] = []
    to_fail: list[tuple[Payout, bankfile.Confirmation]] = []
    unchanged = 0
    seen: set[str] = set()
    for r in rows:
        p = found.get(r.number)
        where = f"第{r.line}行"
        if r.number in seen:
            errors.append(f"{where}：兑现编号 {r.number} 重复")
            continue
        seen.add(r.number)
        if p is None:
            errors.append(f"{where}：兑现编号 {r.number} 不存在")
            continue
        if p.batch is None or p.batch.status == B.OPEN:
            errors.append(f"{where}：{r.number} 不在已导出的批次中")
            continue
        if r.amount_fen is not None and r.amount_fen != p.amount_fen:
            errors.append(f"{where}：{r.number} 金额 {fen_to_yuan(r.amount_fen)} 与台账 {fen_to_yuan(p.amount_fen)} 不符")
            continue
        if p.status == P.PENDING:
            (to_pay if r.paid else to_fail).append((p, r))
        elif (p.status == P.PAID and r.paid and p.bank_reference == r.reference) or (
                p.status in (P.FAILED, P.RETRIED) and not r.paid):
            unchanged += 1
        else:
            errors.append(f"{where}：{r.number} 已为「{p.get_status_display()}」，与回执不符")
    if errors:
        raise ValidationFailed("回执文件有误，未导入任何记录：" + "；".join(errors[:20]),
                               f"{len(errors)} bad row(s); nothing imported", field="file")
    now = timezone.now()
    for p, r in to_pay:
        p.status, p.bank_reference, p.paid_at = P.PAID, r.reference, r.paid_at or now
    for p, r in to_fail:
        p.status, p.failure_reason = P.FAILED, r.reason[:200]
    Payout.objects.bulk_update([p for p, _r in to_pay + to_fail],
                               ["status", "bank_reference", "paid_at", "failure_reason"], batch_size=2000)
    _payout_events([p for p, _r in to_pay], PayoutEvent.Kind.PAID, actor, frm=P.PENDING,
                   data=lambda p: {"bank_reference": p.bank_reference})
    _payout_events([p for p, _r in to_fail], PayoutEvent.Kind.FAILED, actor, frm=P.PENDING,
                   data=lambda p: {"reason": p.failure_reason})
    closed = []
    for batch in PayoutBatch.objects.select_for_update().filter(
            pk__in={p.batch_id for p, _r in to_pay + to_fail}, status=B.EXPORTED).order_by("id"):
        if batch.payouts.filter(status=P.PENDING).exists():
            _event(PolicyEvent.Kind.BATCH_CONFIRM, actor, obj=batch, frm=batch.status, to=batch.status,
                   paid=sum(1 for p, _r in to_pay if p.batch_id == batch.pk),
                   failed=sum(1 for p, _r in to_fail if p.batch_id == batch.pk))
            continue
        batch.status, batch.closed_at = B.CLOSED, now
        batch.save()
        _event(PolicyEvent.Kind.BATCH_CLOSE, actor, obj=batch, frm=B.EXPORTED, to=batch.status,
               paid=batch.payouts.filter(status=P.PAID).count(),
               failed=batch.payouts.filter(status__in=[P.FAILED, P.RETRIED]).count())
        closed.append(batch.number)
    by_enterprise: dict[int, list[Payout]] = defaultdict(list)
    for p, _r in to_pay:
        by_enterprise[p.enterprise_id].append(p)
    if by_enterprise:
        users = defaultdict(list)
        for u in User.objects.filter(role=Role.ENTERPRISE, is_active=True, enterprise_id__in=list(by_enterprise)):
            users[u.enterprise_id].append(u)
        for ent, ps in by_enterprise.items():
            _tell(users.get(ent, []), "惠企资金已拨付",
                  "；".join(f"{p.number} {fen_to_yuan(p.amount_fen)} 元" for p in ps), "/policies/mine/")
    return ImportResult(len(rows), len(to_pay), len(to_fail), unchanged, closed)


@transaction.atomic
def payout_retry(*, actor: User | None, payouts: Sequence[Payout]) -> list[Payout]:
    """Failed payouts paid again: each failed row turns ``retried`` and a new pending row takes its
    place (same enterprise, item, period, amount and rule version), under the budget again."""
    if actor is not None:
        require(actor, "policies.pay")
    locked = list(Payout.objects.select_for_update().filter(pk__in=[p.pk for p in payouts]).order_by("id"))
    if len(locked) != len({p.pk for p in payouts}):
        raise ValidationFailed("兑现记录不存在", "unknown payout", field="payouts")
    for p in locked:
        if p.status != P.FAILED:
            raise Conflict(f"兑现 {p.number} 为「{p.get_status_display()}」，只有拨付失败的可以重拨",
                           "only failed payouts can be retried", field="payouts")
    for p in locked:
        p.status = P.RETRIED
    Payout.objects.bulk_update(locked, ["status"])
    _payout_events(locked, PayoutEvent.Kind.RETRY, actor, frm=P.FAILED)
    created: list[Payout] = []
    groups: dict[tuple[int, str, int], list[Payout]] = defaultdict(list)
    for p in locked:
        groups[(p.item_id, p.period, p.rule_version_id)].append(p)
    for (item_id, period, rv_id), ps in groups.items():
        item = BenefitItem.objects.get(pk=item_id)
        created += _create_payouts(item, period, rv_id, [
            NewPayout(p.enterprise_id, p.amount_fen, entry_id=p.entry_id, application_id=p.application_id,
                      retry_of_id=p.pk) for p in ps], None, actor)
    return created

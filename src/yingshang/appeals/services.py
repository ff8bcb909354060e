"""Every state change of an appeal: one function, one transaction, permission first, an
``AppealEvent`` row and an audit record written in the same transaction."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections import defaultdict
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from yingshang.core import workdays
from yingshang.core.audit import Entry, audit_record, audit_record_many
from yingshang.core.db import copy_rows
from yingshang.core.errors import Conflict, DomainError, NotPermitted, ValidationFailed
from yingshang.core.models import Department, Role, User
from yingshang.core.permissions import require
from yingshang.core.services import notify
from yingshang.enterprises.models import Enterprise

from . import stats
from .models import Appeal, AppealAssist, AppealEvent, Category, Channel, Extension, Meeting, SupervisionOrder

S = Appeal.Status
OPEN_STATUSES = [S.DISPATCHED, S.HANDLING]


def _today() -> dt.date:
    return timezone.localdate()


def _event(appeal: Appeal, kind: str, actor: User | None, *, frm: str = "", text: str = "",
           internal: bool = False, department: Department | None = None, at: dt.datetime | None = None,
           **data: Any) -> AppealEvent:
    ev = AppealEvent.objects.create(
        appeal=appeal, kind=kind, from_status=frm, to_status=appeal.status, actor=actor, at=at or timezone.now(),
        text=text, internal=internal,
        department_id=department.pk if department else (actor.department_id if actor else None),
        data={k: (str(v) if isinstance(v, (dt.date, dt.datetime)) else v) for k, v in data.items()},
    )
    stats.apply(appeal, ev)
    # the audit record last: it locks the chain's head until commit, so the less follows it the better
    audit_record(actor=actor, action=f"appeal.{kind}", obj=appeal, object_repr=appeal.number,
                 after={"status": appeal.status, "from": frm, **ev.data})
    return ev


def _wrong_state(appeal: Appeal, action: str) -> Conflict:
    return Conflict(f"诉求当前状态为「{appeal.get_status_display()}」，不能{action}",
                    f"the appeal is {appeal.status}; cannot {action}", field="status")


def _lock(appeal: Appeal, *statuses: str, action: str = "") -> Appeal:
    """Re-read the appeal under a row lock; with ``statuses``, refuse any other state."""
    locked = Appeal.objects.select_for_update().get(pk=appeal.pk)
    if statuses and locked.status not in statuses:
        raise _wrong_state(locked, action)
    return locked


def _require_lead(actor: User, appeal: Appeal) -> None:
    require(actor, "appeals.handle")
    if actor.department_id is None or actor.department_id != appeal.lead_department_id:
        raise NotPermitted("只有主办部门可以办理该诉求", "only the lead department handles this appeal")


def _clean_text(value: str, field: str, label: str, max_len: int = 5000, required: bool = True) -> str:
    value = (value or "").strip()
    if required and not value:
        raise ValidationFailed(f"{label}不能为空", f"{field} is required", field=field)
    if len(value) > max_len:
        raise ValidationFailed(f"{label}超过 {max_len} 字", f"{field} longer than {max_len} characters", field=field)
    return value


# ------------------------------------------------------------------------------------------- categories

CATEGORY_FIELDS = ("name", "parent", "resolve_days", "resolve_days_urgent", "default_department", "keywords", "active")


def _category_check(cat: Category) -> None:
    cat.name = (cat.name or "").strip()
    if not cat.name or len(cat.name) > 50:
        raise ValidationFailed("分类名称不能为空且不超过 50 字", "a name of 1–50 characters is required", field="name")
    for field, label in (("resolve_days", "一般诉求办结时限"), ("resolve_days_urgent", "急难愁盼办结时限")):
        value = getattr(cat, field)
        if not isinstance(value, int) or not 1 <= value <= 60:
            raise ValidationFailed(f"{label}应为 1–60 个工作日", f"{field} must be 1–60 working days", field=field)
    if cat.resolve_days_urgent > cat.resolve_days:
        raise ValidationFailed("急难愁盼诉求的时限不能长于一般诉求", "the urgent limit cannot exceed the normal one",
                               field="resolve_days_urgent")
    node = cat.parent
    while node is not None:  # no cycles in the tree
        if node.pk == cat.pk:
            raise ValidationFailed("上级分类不能是它自己或它的下级", "a category cannot sit under itself", field="parent")
        node = node.parent
    words = [w.strip() for w in (cat.keywords or "").replace("，", ",").split(",") if w.strip()]
    cat.keywords = ",".join(dict.fromkeys(words))


@transaction.atomic
def category_create(*, actor: User, code: str, name: str, resolve_days: int, resolve_days_urgent: int,
                    parent: Category | None = None, default_department: Department | None = None,
                    keywords: str = "") -> Category:
    """The office adds a category (its working-day limits and the keywords the rule-based
    suggestion uses)."""
    require(actor, "appeals.configure")
    code = (code or "").strip()
    if not code or len(code) > 20 or not code.replace("-", "").isalnum():
        raise ValidationFailed("分类代码应为 1–20 位字母或数字", "the code must be 1–20 letters or digits", field="code")
    if Category.objects.filter(code=code).exists():
        raise Conflict(f"分类代码 {code} 已存在", f"category {code} exists", field="code")
    cat = Category(code=code, name=name, parent=parent, resolve_days=resolve_days,
                   resolve_days_urgent=resolve_days_urgent, default_department=default_department, keywords=keywords)
    _category_check(cat)
    cat.save()
    audit_record(actor=actor, action="appeal_category.create", obj=cat,
                 after={f: str(getattr(cat, f)) for f in CATEGORY_FIELDS})
    return cat


@transaction.atomic
def category_update(*, actor: User, category: Category, **changes: Any) -> Category:
    """Change a category; limits apply to appeals dispatched afterwards (running clocks keep theirs)."""
    require(actor, "appeals.configure")
    unknown = set(changes) - set(CATEGORY_FIELDS)
    if unknown:
        raise ValidationFailed(f"不能修改 {', '.join(sorted(unknown))}", "unknown fields", field=sorted(unknown)[0])
    cat = Category.objects.select_for_update().get(pk=category.pk)
    before = {f: str(getattr(cat, f)) for f in CATEGORY_FIELDS}
    for field, value in changes.items():
        setattr(cat, field, value)
    _category_check(cat)
    cat.save()
    audit_record(actor=actor, action="appeal_category.update", obj=cat, before=before,
                 after={f: str(getattr(cat, f)) for f in CATEGORY_FIELDS})
    return cat


# ------------------------------------------------------------------------------------------- intake


def _prepare(*, actor: User, enterprise: Enterprise, category: Category, title: str, content: str, channel: str,
             contact_name: str, contact_phone: str, urgency: str, show_name: bool, caller: str,
             meeting: Meeting | None, external_system: str, external_id: str) -> Appeal:
    """Check one submission and build its unsaved appeal (no queries)."""
    if actor.role == Role.ENTERPRISE:
        require(actor, "appeals.submit_own")
        if actor.enterprise_id != enterprise.pk:
            raise NotPermitted("只能为本企业提交诉求", "you can only raise appeals for your own enterprise",
                               field="enterprise")
        channel = Channel.PORTAL
    else:
        require(actor, "appeals.file")
        if channel == Channel.PORTAL:
            raise ValidationFailed("工作人员代录请选择实际渠道", "choose the channel the appeal came through",
                                   field="channel")
    if channel not in Channel.values:
        raise ValidationFailed(f"未知渠道 {channel}", f"unknown channel {channel}", field="channel")
    if urgency not in Appeal.Urgency.values:
        raise ValidationFailed("紧急程度无效", "invalid urgency", field="urgency")
    if channel == Channel.MEETING and meeting is None:
        raise ValidationFailed("座谈会议渠道须关联会议记录", "a meeting appeal needs its meeting", field="meeting")
    if not category.active:
        raise ValidationFailed("该分类已停用", "this category is no longer in use", field="category")
    if enterprise.status != Enterprise.Status.ACTIVE:
        raise ValidationFailed("该市场主体已注销", "the enterprise is closed", field="enterprise")
    external_system, external_id = (external_system or "").strip(), (external_id or "").strip()
    if len(external_system) > 30 or len(external_id) > 64:
        raise ValidationFailed("外部系统或外部编号过长", "external system/id too long", field="external_id")
    return Appeal(
        enterprise=enterprise, category=category, channel=channel, urgency=urgency, show_name=show_name,
        title=_clean_text(title, "title", "标题", 200), content=_clean_text(content, "content", "诉求内容"),
        contact_name=_clean_text(contact_name, "contact_name", "联系人", 50),
        contact_phone=_clean_text(contact_phone, "contact_phone", "联系电话", 20),
        caller=(caller or "").strip()[:50], meeting=meeting, external_system=external_system,
        external_id=external_id, filed_by=actor,
        # a unique placeholder until the row has its id: a shared one would make concurrent submissions
        # wait on each other in the unique index
        number=f"tmp{uuid.uuid4().hex[:17]}",
    )


def _same_push(appeal: Appeal, existing: Appeal | None) -> Appeal | None:
    """The appeal an earlier push with the same external id created, if any."""
    if existing is None:
        return None
    if existing.enterprise_id != appeal.enterprise_id:
        raise Conflict("该外部编号已用于另一企业的诉求", "this external id belongs to another enterprise's appeal",
                       field="external_id")
    existing.repeated = True  # the same push again: the caller answers 200, not 201
    return existing


def _number(day: dt.date, pk: int) -> str:
    return f"SQ{day:%Y%m%d}{pk:06d}"


@transaction.atomic
def appeal_submit(
    *, actor: User, enterprise: Enterprise, category: Category, title: str, content: str, channel: str,
    contact_name: str, contact_phone: str, urgency: str = Appeal.Urgency.NORMAL, show_name: bool = False,
    caller: str = "", meeting: Meeting | None = None, external_system: str = "", external_id: str = "",
    attachments: list[Any] | None = None,
) -> Appeal:
    """An enterprise raises an appeal on the portal; the office files one for a caller (hotline,
    liaison group, visit, meeting); another system pushes one through the API with its external id
    (the same id twice gives the same appeal)."""
    appeal = _prepare(actor=actor, enterprise=enterprise, category=category, title=title, content=content,
                      channel=channel, contact_name=contact_name, contact_phone=contact_phone, urgency=urgency,
                      show_name=show_name, caller=caller, meeting=meeting, external_system=external_system,
                      external_id=external_id)
    if appeal.external_id:
        existing = _same_push(appeal, Appeal.objects.filter(external_system=appeal.external_system,
                                                            external_id=appeal.external_id).first())
        if existing:
            return existing
    try:
        with transaction.atomic():
            appeal.save()
    except IntegrityError:  # the same external id pushed twice at the same moment
        existing = appeal.external_id and _same_push(appeal, Appeal.objects.filter(
            external_system=appeal.external_system, external_id=appeal.external_id).first())
        if existing:
            return existing
        raise
    appeal.number = _number(timezone.localdate(), appeal.pk)
    appeal.save(update_fields=["number"])
    if attachments:
        appeal.attachments.set(attachments)
    # in-app messages are rows like any other: written in the same transaction (before the event, whose
    # audit record holds the chain's lock until commit)
    notify(recipients=list(User.objects.filter(role=Role.DISPATCHER, is_active=True)),
           title=f"新诉求待派单：{appeal.title}", body=f"{appeal.number} {enterprise.name}", url=f"/appeals/{appeal.pk}/")
    _event(appeal, AppealEvent.Kind.SUBMIT, actor, channel=appeal.channel, caller=appeal.caller)
    appeal.repeated = False
    return appeal


@dataclass
class BatchResult:
    """One outcome per submitted item, in order: the appeal (new or an earlier push with the same
    external id) or the error that refused that item."""
    appeals: list[Appeal | None]
    errors: list[DomainError | None]

    @property
    def created(self) -> int:
        return sum(1 for a in self.appeals if a is not None and not a.repeated)


def appeal_submit_many(*, actor: User, items: list[dict[str, Any]]) -> BatchResult:
    """Several appeals in one go — a hotline platform pushing its tickets in batches.

    Each item has the arguments of ``appeal_submit`` (enterprise and category objects resolved by
    the caller).  Items are checked one by one: a refused item is reported with its error and the
    others are still taken; an external id seen before gives back the earlier appeal.  The valid
    items are written with one statement per table (appeals, events, audit records, figure rows)
    and the dispatchers get one message for the batch."""
    n = len(items)
    result = BatchResult(appeals=[None] * n, errors=[None] * n)
    fresh: list[tuple[int, Appeal]] = []
    for i, item in enumerate(items):
        try:
            fresh.append((i, _prepare(actor=actor, **item)))
        except DomainError as exc:
            result.errors[i] = exc
    keyed = {(a.external_system, a.external_id) for _i, a in fresh if a.external_id}
    earlier: dict[tuple[str, str], Appeal] = {}
    if keyed:
        # one exact (system, id) lookup per key, as a UNION: an OR of pairs lets the planner use only the
        # system column of the unique index and filter the rest
        parts = [Appeal.objects.filter(external_system=system, external_id=ext).order_by()
                 for system, ext in sorted(keyed)]
        found = parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
        earlier = {(a.external_system, a.external_id): a for a in found}
    todo: list[tuple[int, Appeal]] = []
    seen: dict[tuple[str, str], int] = {}  # external id → index of its first item in this batch
    items_by_index = dict(fresh)
    for i, a in fresh:
        key = (a.external_system, a.external_id)
        try:
            if a.external_id and key in earlier:
                result.appeals[i] = _same_push(a, earlier[key])
                continue
            if a.external_id and key in seen:  # twice in the same batch: one appeal
                first = items_by_index[seen[key]]
                if first.enterprise_id != a.enterprise_id:
                    raise Conflict("该外部编号已用于另一企业的诉求",
                                   "this external id belongs to another enterprise's appeal", field="external_id")
                continue
        except DomainError as exc:
            result.errors[i] = exc
            continue
        if a.external_id:
            seen[key] = i
        todo.append((i, a))
    if todo:
        try:
            with transaction.atomic():
                _insert_many(actor, [a for _i, a in todo])
        except IntegrityError:  # another push took an external id meanwhile: fall back to one by one
            for i, a in todo:
                try:
                    result.appeals[i] = appeal_submit(
                        actor=actor, enterprise=a.enterprise, category=a.category, title=a.title,
                        content=a.content, channel=a.channel, contact_name=a.contact_name,
                        contact_phone=a.contact_phone, urgency=a.urgency, show_name=a.show_name, caller=a.caller,
                        meeting=a.meeting, external_system=a.external_system, external_id=a.external_id)
                except DomainError as exc:
                    result.errors[i] = exc
            todo = []
        for i, a in todo:
            a.repeated = False
            result.appeals[i] = a
    for i, item in enumerate(items):  # the second of two identical pushes in one batch
        if result.appeals[i] is None and result.errors[i] is None:
            first = seen[((item.get("external_system") or "").strip(), (item.get("external_id") or "").strip())]
            if result.appeals[first] is None:
                result.errors[i] = result.errors[first]
            else:
                result.appeals[i] = Appeal.objects.get(pk=result.appeals[first].pk)  # type: ignore[union-attr]
                result.appeals[i].repeated = True  # type: ignore[union-attr]
    return result


def _insert_many(actor: User, appeals: list[Appeal]) -> None:
    """Write new appeals with their submit events, audit records, figure rows and one message."""
    now, today = timezone.now(), timezone.localdate()
    Appeal.objects.bulk_create(appeals)
    if any(a.pk is None for a in appeals):  # a database without RETURNING for bulk inserts
        raise RuntimeError("bulk insert did not return primary keys")
    for a in appeals:
        a.number = _number(today, a.pk)
    Appeal.objects.bulk_update(appeals, ["number"], batch_size=500)
    events = AppealEvent.objects.bulk_create([
        AppealEvent(appeal=a, kind=AppealEvent.Kind.SUBMIT, from_status="", to_status=a.status, actor=actor, at=now,
                    department_id=actor.department_id, data={"channel": a.channel, "caller": a.caller})
        for a in appeals])
    stats.create_many(list(zip(appeals, events, strict=True)))
    title = (f"新诉求待派单：{appeals[0].title}" if len(appeals) == 1
             else f"{len(appeals)} 件新诉求待派单（{appeals[0].get_channel_display()}等渠道）")
    notify(recipients=list(User.objects.filter(role=Role.DISPATCHER, is_active=True)), title=title,
           body="、".join(a.number for a in appeals[:20]), url="/appeals/?status=submitted")
    audit_record_many(actor=actor, entries=[  # last: it holds the chain's lock until commit
        Entry(f"appeal.{AppealEvent.Kind.SUBMIT}", Appeal._meta.label, str(a.pk), a.number, None,
              {"status": a.status, "from": "", **ev.data}) for a, ev in zip(appeals, events, strict=True)])


def _notify_later(users: list[User], title: str, appeal: Appeal) -> None:
    with transaction.atomic():
        notify(recipients=users, title=title, body=f"{appeal.number} {appeal.enterprise.name}",
               url=f"/appeals/{appeal.pk}/")


@transaction.atomic
def meeting_record(*, actor: User, kind: str, title: str, held_on: dt.date, host: str = "") -> Meeting:
    require(actor, "appeals.file")
    if kind not in Meeting.Kind.values:
        raise ValidationFailed("会议类型无效", "invalid meeting kind", field="kind")
    m = Meeting.objects.create(kind=kind, title=_clean_text(title, "title", "会议名称", 200), held_on=held_on,
                               host=host[:100], recorded_by=actor)
    audit_record(actor=actor, action="meeting.record", obj=m, object_repr=m.title, after={"kind": kind})
    return m


# ------------------------------------------------------------------------------------------- dispatch


def _deadlines(appeal: Appeal, start: dt.date) -> None:
    sign = workdays.add(start, settings.APPEAL_SIGN_DAYS)
    contact = workdays.add(start, 0 if appeal.urgency == Appeal.Urgency.URGENT else settings.APPEAL_CONTACT_DAYS)
    resolve = workdays.add(start, appeal.resolve_days)
    appeal.sign_due, appeal.contact_due, appeal.resolve_due = sign.date, contact.date, resolve.date
    appeal.due_provisional = sign.provisional or contact.provisional or resolve.provisional


@transaction.atomic
def appeal_dispatch(*, actor: User, appeal: Appeal, lead: Department, assists: list[Department] | None = None,
                    leader: User | None = None, commissioner: User | None = None) -> Appeal:
    """1 + 1 + N: a responsible leader, a service commissioner, one lead department and any
    assisting departments.  Starts the sign-for, contact and resolution clocks.  A leader or
    commissioner not given defaults to the enterprise's liaison pairing (包联), when it has one."""
    from yingshang.liaison.selectors import pairing_for

    require(actor, "appeals.dispatch")
    appeal = _lock(appeal, S.SUBMITTED, S.RETURNED, action="派单")
    assists = [d for d in (assists or []) if d.pk != lead.pk]
    pairing = pairing_for(enterprise=appeal.enterprise_id) if leader is None or commissioner is None else None
    paired = []
    if pairing is not None:
        if leader is None and pairing.leader is not None:
            leader, paired = pairing.leader, [*paired, "leader"]
        if commissioner is None and pairing.commissioner is not None:
            commissioner, paired = pairing.commissioner, [*paired, "commissioner"]
    if leader is not None and leader.role != Role.LEADER:
        raise ValidationFailed("责任领导须为县领导账号", "the responsible leader must be a leader", field="leader")
    frm = appeal.status
    appeal.lead_department = lead
    appeal.responsible_leader = leader
    appeal.commissioner = commissioner
    appeal.handler = None
    appeal.status = S.DISPATCHED
    appeal.dispatched_at = timezone.now()
    appeal.resolve_days = (appeal.category.resolve_days_urgent if appeal.urgency == Appeal.Urgency.URGENT
                           else appeal.category.resolve_days)
    appeal.clock_start = _today()
    _deadlines(appeal, appeal.clock_start)
    appeal.version = F("version") + 1
    appeal.save()
    appeal.refresh_from_db()
    AppealAssist.objects.filter(appeal=appeal).exclude(department__in=assists).delete()
    for d in assists:
        AppealAssist.objects.get_or_create(appeal=appeal, department=d)
    _event(appeal, AppealEvent.Kind.DISPATCH, actor, frm=frm, lead=lead.name, lead_id=lead.pk,
           assists=[d.name for d in assists], assist_ids=[d.pk for d in assists],
           sign_due=appeal.sign_due, resolve_due=appeal.resolve_due, provisional=appeal.due_provisional,
           leader_id=leader.pk if leader else None, commissioner_id=commissioner.pk if commissioner else None,
           from_pairing=paired)
    staff = list(User.objects.filter(department__in=[lead, *assists], role__in=[Role.HANDLER, Role.HEAD],
                                     is_active=True))
    transaction.on_commit(lambda: _notify_later(staff, f"新派诉求：{appeal.title}（{appeal.sign_due} 前签收）", appeal))
    return appeal


@transaction.atomic
def appeal_return(*, actor: User, appeal: Appeal, reason: str) -> Appeal:
    """The lead department returns a mis-dispatched appeal, with a reason, within the return limit."""
    _require_lead(actor, appeal)
    appeal = _lock(appeal, S.DISPATCHED, action="退回")
    reason = _clean_text(reason, "reason", "退回理由", 1000)
    limit = workdays.add(timezone.localtime(appeal.dispatched_at).date(), settings.APPEAL_RETURN_DAYS).date
    if _today() > limit:
        raise Conflict(f"已超过退回时限（{limit}），请签收办理或申请协调",
                       f"the return limit ({limit}) has passed", field="status")
    frm = appeal.status
    dept = appeal.lead_department
    appeal.status = S.RETURNED
    appeal.lead_department = None
    appeal.return_count += 1
    appeal.sign_due = appeal.contact_due = appeal.resolve_due = None
    appeal.save()
    _event(appeal, AppealEvent.Kind.RETURN, actor, frm=frm, text=reason, department=dept)
    return appeal


@transaction.atomic
def appeal_sign(*, actor: User, appeal: Appeal) -> Appeal:
    """Sign for an appeal.  A conditional update: when two handlers sign at once, one wins and the
    other is told who signed."""
    _require_lead(actor, appeal)
    now = timezone.now()
    won = Appeal.objects.filter(pk=appeal.pk, status=S.DISPATCHED, lead_department=actor.department_id).update(
        status=S.HANDLING, handler=actor, signed_at=now, version=F("version") + 1, updated_at=now)
    appeal = Appeal.objects.select_related("handler").get(pk=appeal.pk)
    if not won:
        if appeal.status == S.HANDLING and appeal.handler:
            raise Conflict(f"该诉求已由 {appeal.handler.display_name} 签收", "already signed by a colleague",
                           field="status")
        raise _wrong_state(appeal, "签收")
    _event(appeal, AppealEvent.Kind.SIGN, actor, frm=S.DISPATCHED, on_time=_today() <= appeal.sign_due)
    return appeal


@transaction.atomic
def appeal_contact(*, actor: User, appeal: Appeal, note: str) -> Appeal:
    _require_lead(actor, appeal)
    appeal = _lock(appeal, S.HANDLING, action="登记联系")
    note = _clean_text(note, "note", "联系情况", 2000)
    first = appeal.contacted_at is None
    if first:
        appeal.contacted_at = timezone.now()
        appeal.save(update_fields=["contacted_at", "updated_at"])
    _event(appeal, AppealEvent.Kind.CONTACT, actor, frm=appeal.status, text=note, first=first,
           on_time=_today() <= appeal.contact_due if first else None)
    return appeal


@transaction.atomic
def appeal_assist_opinion(*, actor: User, appeal: Appeal, text: str) -> AppealAssist:
    require(actor, "appeals.handle")
    row = AppealAssist.objects.select_for_update().filter(appeal=appeal, department_id=actor.department_id).first()
    if row is None:
        raise NotPermitted("本部门不是该诉求的协办部门", "your department does not assist on this appeal")
    appeal = _lock(appeal, S.DISPATCHED, S.HANDLING, action="提交协办意见")
    row.opinion = _clean_text(text, "text", "协办意见", 5000)
    row.opinion_at, row.opinion_by = timezone.now(), actor
    row.save()
    _event(appeal, AppealEvent.Kind.ASSIST_OPINION, actor, frm=appeal.status, text=row.opinion, internal=True)
    return row


# ------------------------------------------------------------------------------------------- extensions


@transaction.atomic
def appeal_extension_request(*, actor: User, appeal: Appeal, days: int, reason: str) -> Extension:
    _require_lead(actor, appeal)
    appeal = _lock(appeal, S.HANDLING, action="申请延期")
    if not 1 <= days <= settings.APPEAL_EXTENSION_MAX_DAYS:
        raise ValidationFailed(f"延期天数须为 1–{settings.APPEAL_EXTENSION_MAX_DAYS} 个工作日",
                               f"extension must be 1-{settings.APPEAL_EXTENSION_MAX_DAYS} working days", field="days")
    if appeal.resolve_due and _today() > appeal.resolve_due:
        raise Conflict("已超过办结期限，不能再申请延期", "the deadline has passed: no extension can be asked",
                       field="status")
    if appeal.extensions.filter(status=Extension.Status.PENDING).exists():
        raise Conflict("已有待审批的延期申请", "an extension request is already pending", field="status")
    ext = Extension.objects.create(appeal=appeal, days=days, reason=_clean_text(reason, "reason", "延期理由", 2000),
                                   requested_by=actor)
    _event(appeal, AppealEvent.Kind.EXTENSION_REQUEST, actor, frm=appeal.status, text=ext.reason, days=days,
           internal=True)
    return ext


@transaction.atomic
def appeal_extension_decide(*, actor: User, extension: Extension, approve: bool, note: str = "") -> Extension:
    require(actor, "appeals.approve_extension")
    ext = Extension.objects.select_for_update().get(pk=extension.pk)
    appeal = _lock(ext.appeal)
    if actor.role == Role.HEAD and actor.department_id != appeal.lead_department_id:
        raise NotPermitted("只能审批本部门的延期申请", "only the lead department's head decides")
    if ext.status != Extension.Status.PENDING:
        raise Conflict("该延期申请已处理", "this request was already decided", field="status")
    if appeal.status != S.HANDLING:
        raise _wrong_state(appeal, "审批延期")
    ext.status = Extension.Status.APPROVED if approve else Extension.Status.REJECTED
    ext.decided_by, ext.decided_at, ext.decision_note = actor, timezone.now(), note.strip()[:2000]
    ext.save()
    old_due = appeal.resolve_due
    if approve:
        appeal.resolve_days += ext.days
        due = workdays.add(appeal.resolve_due, ext.days)
        appeal.resolve_due = due.date
        appeal.due_provisional = appeal.due_provisional or due.provisional
        appeal.save(update_fields=["resolve_days", "resolve_due", "due_provisional", "updated_at"])
    _event(appeal, AppealEvent.Kind.EXTENSION_DECISION, actor, frm=appeal.status, text=ext.decision_note,
           approved=approve, days=ext.days, old_due=old_due, new_due=appeal.resolve_due, internal=True)
    return ext


# ------------------------------------------------------------------------------------------- answer


@transaction.atomic
def appeal_reply(*, actor: User, appeal: Appeal, result: str, reply: str, explanation: str = "",
                 attachments: list[Any] | None = None) -> Appeal:
    """The lead department answers: 已解决 / 部分解决 / 无法解决 (the last two explained), with any
    documents (the reply event carries them; the enterprise sees them in its timeline)."""
    _require_lead(actor, appeal)
    appeal = _lock(appeal, S.HANDLING, action="答复")
    if result not in Appeal.Result.values:
        raise ValidationFailed("办理结果应为 已解决/部分解决/无法解决", "result must be resolved/partial/unresolved",
                               field="result")
    explanation = (explanation or "").strip()
    if result != Appeal.Result.RESOLVED and not explanation:
        raise ValidationFailed("部分解决或无法解决须说明法律依据和已做工作",
                               "partial or unresolved needs the legal basis and what else was done", field="explanation")
    frm = appeal.status
    appeal.result, appeal.reply, appeal.explanation = result, _clean_text(reply, "reply", "答复内容"), explanation
    appeal.status = S.REPLIED
    appeal.replied_at = timezone.now()
    appeal.rate_due = workdays.add(_today(), settings.APPEAL_RATE_DAYS).date
    appeal.save()
    on_time = appeal.resolve_due is None or _today() <= appeal.resolve_due
    ev = _event(appeal, AppealEvent.Kind.REPLY, actor, frm=frm, text=appeal.reply, result=result, on_time=on_time,
                attachments=len(attachments or []))
    if attachments:
        ev.attachments.set(attachments)
    for dup in appeal.merged.all():  # merged appeals share one answer
        dup.result, dup.reply, dup.explanation, dup.replied_at = appeal.result, appeal.reply, explanation, appeal.replied_at
        dup.save(update_fields=["result", "reply", "explanation", "replied_at", "updated_at"])
        dup_ev = _event(dup, AppealEvent.Kind.REPLY, actor, frm=dup.status, text=appeal.reply, result=result,
                        merged_into=appeal.number)
        if attachments:
            dup_ev.attachments.set(attachments)
    users = list(User.objects.filter(enterprise=appeal.enterprise, is_active=True))
    transaction.on_commit(lambda: _notify_later(users, f"您的诉求已答复，请评价：{appeal.title}", appeal))
    return appeal


@transaction.atomic
def appeal_rate(*, actor: User, appeal: Appeal, rating: str, comment: str = "") -> Appeal:
    """The enterprise confirms and rates.  不满意 goes to the office's review, which may reopen the
    appeal once."""
    if actor.role != Role.ENTERPRISE or actor.enterprise_id != appeal.enterprise_id:
        raise NotPermitted("只有提出诉求的企业可以评价", "only the enterprise that raised it can rate")
    appeal = _lock(appeal, S.REPLIED, action="评价")
    if rating not in (Appeal.Rating.SATISFIED, Appeal.Rating.BASIC, Appeal.Rating.UNSATISFIED):
        raise ValidationFailed("评价应为 满意/基本满意/不满意", "rating must be satisfied/basic/unsatisfied", field="rating")
    frm = appeal.status
    appeal.rating, appeal.rating_comment, appeal.rated_at = rating, comment.strip()[:2000], timezone.now()
    if rating == Appeal.Rating.UNSATISFIED and appeal.reopen_count == 0:
        appeal.status = S.REVIEW
    else:
        appeal.status = S.CLOSED
        appeal.closed_at = timezone.now()
    appeal.save()
    _event(appeal, AppealEvent.Kind.RATE, actor, frm=frm, text=appeal.rating_comment, rating=rating)
    return appeal


@transaction.atomic
def appeal_review(*, actor: User, appeal: Appeal, reopen: bool, note: str) -> Appeal:
    """The office reviews an unsatisfied rating: reopen for re-handling (once) or close."""
    require(actor, "appeals.dispatch")
    appeal = _lock(appeal, S.REVIEW, action="复核")
    note = _clean_text(note, "note", "复核意见", 2000)
    frm = appeal.status
    if reopen:
        appeal.status = S.HANDLING
        appeal.reopen_count += 1
        # the earlier answer and rating stay in the timeline (events); the appeal starts afresh
        appeal.result = appeal.reply = appeal.explanation = appeal.rating = appeal.rating_comment = ""
        appeal.rated_at = appeal.replied_at = appeal.rate_due = None
        appeal.clock_start = _today()
        due = workdays.add(appeal.clock_start, appeal.resolve_days)
        appeal.resolve_due, appeal.due_provisional = due.date, due.provisional
        appeal.overdue_at = appeal.escalated_at = None
        kind = AppealEvent.Kind.REOPEN
    else:
        appeal.status = S.CLOSED
        appeal.closed_at = timezone.now()
        kind = AppealEvent.Kind.REVIEW_CLOSE
    appeal.save()
    _event(appeal, kind, actor, frm=frm, text=note, resolve_due=appeal.resolve_due)
    return appeal


# ------------------------------------------------------------------------------------------- oversight


@transaction.atomic
def appeal_supervise(*, actor: User, appeal: Appeal, instruction: str, days: int) -> SupervisionOrder:
    require(actor, "appeals.supervise")
    appeal = _lock(appeal, S.DISPATCHED, S.HANDLING, S.RETURNED, S.SUBMITTED, action="督办")
    if not 0 <= days <= 30:
        raise ValidationFailed("督办期限须为 0–30 个工作日", "the order's limit must be 0-30 working days", field="days")
    order = SupervisionOrder.objects.create(appeal=appeal, issued_by=actor, due=workdays.add(_today(), days).date,
                                            instruction=_clean_text(instruction, "instruction", "督办要求", 2000))
    _event(appeal, AppealEvent.Kind.SUPERVISE, actor, frm=appeal.status, text=order.instruction, due=order.due,
           internal=True)
    staff = list(User.objects.filter(department=appeal.lead_department, is_active=True)) if appeal.lead_department else []
    transaction.on_commit(lambda: _notify_later(staff, f"领导督办：{appeal.title}（{order.due} 前）", appeal))
    return order


@transaction.atomic
def appeal_follow_up(*, actor: User, appeal: Appeal, text: str) -> AppealEvent:
    """回访 by the office after closure."""
    require(actor, "appeals.dispatch")
    if appeal.status not in (S.CLOSED, S.REPLIED):
        raise _wrong_state(appeal, "回访")
    return _event(appeal, AppealEvent.Kind.FOLLOW_UP, actor, frm=appeal.status,
                  text=_clean_text(text, "text", "回访情况", 2000))


@transaction.atomic
def appeal_merge(*, actor: User, duplicate: Appeal, into: Appeal) -> Appeal:
    """Merge a duplicate into another appeal of the same enterprise; they share one answer."""
    require(actor, "appeals.dispatch")
    duplicate = _lock(duplicate)
    into = _lock(into)
    if duplicate.pk == into.pk or duplicate.enterprise_id != into.enterprise_id:
        raise ValidationFailed("只能合并同一企业的不同诉求", "only another appeal of the same enterprise can be merged",
                               field="into")
    if duplicate.status not in (S.SUBMITTED, S.RETURNED) or into.status in (S.MERGED, S.CLOSED):
        raise _wrong_state(duplicate, "合并")
    frm = duplicate.status
    duplicate.status, duplicate.merged_into = S.MERGED, into
    duplicate.save()
    _event(duplicate, AppealEvent.Kind.MERGE, actor, frm=frm, into=into.number)
    return duplicate


SWEEP_BATCH = 2000
_CLAIMED = ("id", "number", "title", "status", "lead_department_id", "handler_id", "responsible_leader_id",
            "resolve_due")


def _claim(where: str, params: list[Any], set_sql: str, set_params: list[Any], batch: int,
           order: str) -> list[dict[str, Any]]:
    """Claim up to ``batch`` appeals matching ``where`` with one ``UPDATE … RETURNING``: rows another
    sweep holds are skipped (SKIP LOCKED on PostgreSQL; SQLite serialises writers), and the update
    itself re-checks ``where``, so no appeal is ever acted on twice."""
    table = connection.ops.quote_name(Appeal._meta.db_table)
    lock = " FOR UPDATE SKIP LOCKED" if connection.features.has_select_for_update_skip_locked else ""
    # the row lock re-checks ``where`` on the current row version (PostgreSQL), so the outer UPDATE
    # needs only the ids; SQLite has one writer at a time
    sql = (f"UPDATE {table} SET {set_sql} WHERE id IN "
           f"(SELECT id FROM {table} WHERE {where} ORDER BY {order} LIMIT %s{lock}) RETURNING {', '.join(_CLAIMED)}")
    with connection.cursor() as cur:
        cur.execute(sql, [*set_params, *params, batch])
        rows = [dict(zip(_CLAIMED, r, strict=True)) for r in cur.fetchall()]
    for r in rows:  # SQLite returns dates as text
        if isinstance(r["resolve_due"], str):
            r["resolve_due"] = dt.date.fromisoformat(r["resolve_due"])
    return sorted(rows, key=lambda r: r["id"])


def _sweep_events(rows: list[dict[str, Any]], kind: str, now: dt.datetime, *, frm: str | None = None,
                  internal: bool = False, data: Any = None) -> list[SimpleNamespace]:
    """The events of one sweep step (one per appeal, written with COPY/executemany) and one audit
    record for the step, naming every appeal it touched."""
    # light records, not model instances: a step can write tens of thousands
    events = [SimpleNamespace(appeal_id=r["id"], kind=kind, from_status=frm or r["status"], to_status=r["status"],
                              at=now, data=data(r) if data else {}) for r in rows]
    at = connection.ops.adapt_datetimefield_value(now)
    copy_rows(AppealEvent, ["appeal_id", "kind", "from_status", "to_status", "at", "text", "internal", "data"],
              [(e.appeal_id, e.kind, e.from_status, e.to_status, at, "", internal, json.dumps(e.data)) for e in events])
    audit_record(actor=None, action=f"appeal.{kind}", object_type=Appeal._meta.label, object_id="sweep",
                 object_repr=f"{len(rows)} 件诉求", after={"appeals": [r["number"] for r in rows]})
    return events


def _notify_digest(per_person: dict[int, list[dict[str, Any]]], one: str, many: str, url: str) -> None:
    """One message per person per sweep step: the appeal itself when there is one, else a count."""
    people = User.objects.in_bulk(list(per_person))
    for pk, rows in per_person.items():
        person = people.get(pk)
        if person is None:
            continue
        if len(rows) == 1:
            r = rows[0]
            title, body, link = f"{one}：{r['title']}", r["number"], f"/appeals/{r['id']}/"
        else:
            title, body, link = many.format(n=len(rows)), "、".join(r["number"] for r in rows[:20]), url
        transaction.on_commit(lambda p=person, t=title, b=body, u=link: notify(recipients=[p], title=t, body=b, url=u))


def appeal_sweep(*, today: dt.date | None = None, batch: int = SWEEP_BATCH) -> dict[str, int]:
    """Mark overdue appeals, escalate those overdue for long, close unrated replies.

    Set-based: each step claims a batch of rows with one UPDATE (rows another sweep holds are
    skipped), writes their events in bulk and one audit record naming them, and every person
    concerned gets one message per step, not one per appeal.  Several workers may run it at once
    and no appeal is acted on twice."""
    # a sweep run "as of" a given day (catching up, demo history) records that day, not the wall clock
    now = timezone.now() if today is None else timezone.make_aware(dt.datetime.combine(today, dt.time(0, 30)))
    today = today or _today()
    counts = {"overdue": 0, "escalated": 0, "closed_unrated": 0}
    heads: dict[int, list[int]] = defaultdict(list)
    handlers: dict[int, list[int]] = defaultdict(list)
    for pk, role, dept in User.objects.filter(role__in=[Role.HEAD, Role.HANDLER], is_active=True,
                                              department__isnull=False).values_list("pk", "role", "department_id"):
        (heads if role == Role.HEAD else handlers)[dept].append(pk)
    open_sql = "status IN (%s, %s)"
    open_params: list[Any] = list(OPEN_STATUSES)

    def escalation_due(dates: Any) -> list[dt.date]:
        """Due dates overdue by more than APPEAL_ESCALATE_DAYS working days, judged once per date."""
        return sorted(d for d in set(dates) if d and workdays.between(d, today)[0] > settings.APPEAL_ESCALATE_DAYS)

    office = list(User.objects.filter(role__in=[Role.DISPATCHER, Role.LEADER], is_active=True).values_list("pk", flat=True))
    # appeals found overdue long after their due date (a backlog) are marked and escalated in one update
    late_now = escalation_due(Appeal.objects.filter(status__in=OPEN_STATUSES, resolve_due__lt=today,
                                                    overdue_at__isnull=True)
                              .values_list("resolve_due", flat=True).distinct().order_by())
    late_sql = (f"CASE WHEN resolve_due IN ({', '.join(['%s'] * len(late_now))}) THEN %s ELSE escalated_at END"
                if late_now else "escalated_at")
    late_params: list[Any] = [*late_now, now] if late_now else []
    while True:  # overdue
        with transaction.atomic():
            rows = _claim(f"{open_sql} AND resolve_due < %s AND overdue_at IS NULL", [*open_params, today],
                          f"overdue_at = %s, escalated_at = {late_sql}", [now, *late_params], batch,
                          "status, resolve_due")
            if not rows:
                break
            per_person: dict[int, list[dict[str, Any]]] = defaultdict(list)
            for r in rows:
                people = [u for u in (r["handler_id"], r["responsible_leader_id"]) if u]
                people += heads[r["lead_department_id"]] + ([] if r["handler_id"] else handlers[r["lead_department_id"]])
                for p in dict.fromkeys(people):
                    per_person[p].append(r)
            _sweep_events(rows, AppealEvent.Kind.OVERDUE, now, internal=True,
                          data=lambda r: {"resolve_due": str(r["resolve_due"])})
            _notify_digest(per_person, "诉求已超期", "您有 {n} 件诉求已超期", "/appeals/?overdue=1")
            counts["overdue"] += len(rows)
            escalated = [r for r in rows if r["resolve_due"] in late_now]
            if escalated:
                _sweep_events(escalated, AppealEvent.Kind.ESCALATE, now, internal=True)
                _notify_digest({p: escalated for p in office}, "超期诉求升级督办", "{n} 件超期诉求升级督办",
                               "/appeals/?overdue=1")
                counts["escalated"] += len(escalated)

    # escalate: overdue by more than APPEAL_ESCALATE_DAYS working days, judged once per due date
    late = escalation_due(Appeal.objects.filter(status__in=OPEN_STATUSES, overdue_at__isnull=False,
                                                escalated_at__isnull=True)
                          .values_list("resolve_due", flat=True).distinct().order_by())
    for i in range(0, len(late), 500):
        dates = late[i:i + 500]
        marks = ", ".join(["%s"] * len(dates))
        while True:
            with transaction.atomic():
                rows = _claim(f"{open_sql} AND overdue_at IS NOT NULL AND escalated_at IS NULL "
                              f"AND resolve_due IN ({marks})", [*open_params, *dates], "escalated_at = %s", [now],
                              batch, "status, resolve_due")
                if not rows:
                    break
                _sweep_events(rows, AppealEvent.Kind.ESCALATE, now, internal=True)
                _notify_digest({p: rows for p in office}, "超期诉求升级督办", "{n} 件超期诉求升级督办",
                               "/appeals/?overdue=1")
                counts["escalated"] += len(rows)

    while True:  # no rating within the limit: closed as unrated
        with transaction.atomic():
            rows = _claim("status = %s AND rate_due < %s", [S.REPLIED, today],
                          "status = %s, rating = %s, closed_at = %s", [S.CLOSED, Appeal.Rating.UNRATED, now], batch,
                          "rate_due")
            if not rows:
                break
            events = _sweep_events(rows, AppealEvent.Kind.CLOSE_UNRATED, now, frm=S.REPLIED)
            stats.apply_many([(r["id"], ev) for r, ev in zip(rows, events, strict=True)])
            counts["closed_unrated"] += len(rows)
    return counts


def appeal_recompute_provisional(year: int) -> int:
    """Called when a year's official calendar is entered: recompute every open appeal's deadlines
    that were computed on the provisional calendar — sign-for and contact from the dispatch date,
    resolution from when its clock (re)started, approved extensions included."""
    n = 0
    for appeal in Appeal.objects.select_for_update().filter(due_provisional=True, status__in=OPEN_STATUSES):
        if appeal.dispatched_at is None or appeal.clock_start is None:
            continue
        before = (appeal.sign_due, appeal.contact_due, appeal.resolve_due)
        _deadlines(appeal, timezone.localtime(appeal.dispatched_at).date())
        resolve = workdays.add(appeal.clock_start, appeal.resolve_days)
        appeal.resolve_due = resolve.date
        appeal.due_provisional = appeal.due_provisional or resolve.provisional
        appeal.save(update_fields=["sign_due", "contact_due", "resolve_due", "due_provisional", "updated_at"])
        _event(appeal, AppealEvent.Kind.RECOMPUTE, None, frm=appeal.status, year=year,
               before=[str(d) for d in before], internal=True, resolve_due=appeal.resolve_due)
        n += 1
    return n

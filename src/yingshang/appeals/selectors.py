"""Reads of appeals, scoped: the office and leaders see all; a department sees the appeals it
leads or assists on; an enterprise only its own, never internal notes."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from yingshang.core import workdays
from yingshang.core.errors import NotFound, NotPermitted, ValidationFailed
from yingshang.core.models import Attachment, Role, User
from yingshang.core.permissions import can
from yingshang.core.selectors import Todo

from .models import Appeal, AppealEvent

S = Appeal.Status


def appeal_list(*, actor: User, status: str = "", q: str = "", department: str = "", category: str = "",
                channel: str = "", overdue: str = "") -> QuerySet[Appeal]:
    if can(actor, "appeals.view_all"):
        qs = Appeal.objects.all()
    elif actor.role == Role.ENTERPRISE and actor.enterprise_id:
        qs = Appeal.objects.filter(enterprise_id=actor.enterprise_id)
    elif can(actor, "appeals.handle") and actor.department_id:
        qs = Appeal.objects.filter(Q(lead_department_id=actor.department_id) | Q(assists__department_id=actor.department_id)).distinct()
    else:
        raise NotPermitted("您无权查看诉求", "you may not view appeals")
    if status:
        qs = qs.filter(status=status)
    if q:
        qs = qs.filter(Q(title__contains=q) | Q(number=q.strip().upper()) | Q(enterprise__name__contains=q))
    for name, value in (("department", department), ("category", category)):
        if value and not str(value).isdigit():
            raise ValidationFailed(f"筛选条件 {name} 无效", f"invalid filter {name}", field=name)
    if department:
        qs = qs.filter(lead_department_id=department)
    if category:
        qs = qs.filter(category_id=category)
    if channel:
        qs = qs.filter(channel=channel)
    if overdue == "1":
        qs = qs.filter(status__in=[S.DISPATCHED, S.HANDLING], resolve_due__lt=timezone.localdate())
    return qs.select_related("enterprise", "category", "lead_department", "handler").order_by("-created_at", "-id")


def appeal_get(*, actor: User, pk: int) -> Appeal:
    # few joins: an 8-table join costs PostgreSQL more to plan (ms) than the extra lookups of the
    # people on the appeal (each a primary-key read of a small table) cost to run
    appeal = Appeal.objects.select_related("enterprise", "category", "lead_department").filter(pk=pk).first()
    if appeal is None:
        raise NotFound("诉求不存在", "no such appeal")
    if can(actor, "appeals.view_all"):
        return appeal
    if actor.role == Role.ENTERPRISE:
        if actor.enterprise_id == appeal.enterprise_id:
            return appeal
        raise NotPermitted("只能查看本企业的诉求", "you can only see your own enterprise's appeals")
    if can(actor, "appeals.handle") and actor.department_id and (
        appeal.lead_department_id == actor.department_id
        or appeal.assists.filter(department_id=actor.department_id).exists()
        or appeal.events.filter(kind=AppealEvent.Kind.RETURN, department_id=actor.department_id).exists()
    ):
        return appeal
    raise NotPermitted("该诉求不属于本部门", "this appeal is not your department's")


def appeal_timeline(*, actor: User, appeal: Appeal) -> QuerySet[AppealEvent]:
    qs = appeal.events.select_related("actor", "department").prefetch_related("attachments").order_by("at", "id")
    if actor.role == Role.ENTERPRISE:
        qs = qs.filter(internal=False)
    return qs


def warning_level(appeal: Appeal, today: dt.date | None = None) -> str:
    """green / yellow (≤ APPEAL_WARN_DAYS working days left) / red (overdue) for open appeals."""
    if appeal.status not in (S.DISPATCHED, S.HANDLING) or appeal.resolve_due is None:
        return ""
    today = today or timezone.localdate()
    if today > appeal.resolve_due:
        return "red"
    left, _ = workdays.between(today, appeal.resolve_due)
    return "yellow" if left <= settings.APPEAL_WARN_DAYS else "green"


def appeal_todos(user: User) -> list[Todo]:
    """The home page's appeal to-dos for a user; each count equals the rows behind its link."""
    from django.utils.translation import gettext as _

    if not (can(user, "appeals.view_all") or can(user, "appeals.handle") or user.role == Role.ENTERPRISE):
        return []
    qs = appeal_list(actor=user)
    today = timezone.localdate()
    overdue = qs.filter(status__in=[S.DISPATCHED, S.HANDLING], resolve_due__lt=today).count()
    items: list[Todo] = []

    def by_status(label: str, status: str, urgent: bool = False) -> None:
        items.append(Todo(label, qs.filter(status=status).count(), f"/appeals/?status={status}", urgent))

    if user.role == Role.DISPATCHER:
        by_status(_("诉求待派单"), S.SUBMITTED)
        by_status(_("退回待重派"), S.RETURNED, True)
        by_status(_("不满意待复核"), S.REVIEW, True)
    elif user.role in (Role.HANDLER, Role.HEAD):
        mine = appeal_list(actor=user).filter(lead_department_id=user.department_id)
        dept = f"&department={user.department_id}"
        items.append(Todo(_("诉求待签收"), mine.filter(status=S.DISPATCHED).count(),
                          f"/appeals/?status={S.DISPATCHED}{dept}", True))
        items.append(Todo(_("诉求办理中"), mine.filter(status=S.HANDLING).count(), f"/appeals/?status={S.HANDLING}{dept}"))
    elif user.role == Role.ENTERPRISE:
        by_status(_("答复待评价"), S.REPLIED, True)
        by_status(_("诉求办理中"), S.HANDLING)
        return items
    items.append(Todo(_("超期诉求"), overdue, "/appeals/?overdue=1", True))
    return items


def appeal_attachment(*, actor: User, appeal_pk: int, attachment_pk: int) -> Attachment:
    """A file of an appeal the actor may see: one submitted with it, or one on an event of its
    timeline that the actor sees (an enterprise never gets files of internal events)."""
    appeal = appeal_get(actor=actor, pk=appeal_pk)
    att = appeal.attachments.filter(pk=attachment_pk).first()
    if att is None:
        events = appeal_timeline(actor=actor, appeal=appeal)
        att = Attachment.objects.filter(pk=attachment_pk, pk__in=AppealEvent.attachments.through.objects.filter(
            appealevent__in=events.values("pk")).values("attachment_id")).first()
    if att is None:
        raise NotFound("附件不存在", "no such attachment")
    return att

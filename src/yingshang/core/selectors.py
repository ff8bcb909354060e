"""Reads of the core app, scoped by the actor's role and department."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet
from django.urls import reverse
from django.utils.translation import gettext as _

from . import workdays
from .errors import NotFound, NotPermitted
from .models import AuditRecord, CalendarYear, Department, Notification, Region, Role, User
from .permissions import can, require


def navigation_for(user: User) -> dict[str, object]:
    items: list[tuple[str, str]] = [(_("首页"), reverse("core:home"))]
    if can(user, "appeals.view_all") or can(user, "appeals.handle") or user.role == Role.ENTERPRISE:
        items.append((_("诉求"), reverse("appeals:list")))
    if can(user, "enterprises.view_all"):
        items.append((_("市场主体"), reverse("enterprises:list")))
    if can(user, "enterprises.import"):
        items.append((_("导入"), reverse("enterprises:import")))
    if user.role == Role.ENTERPRISE and user.enterprise_id:
        items.append((_("本企业"), reverse("enterprises:detail", args=[user.enterprise_id])))
    if can(user, "org.view"):
        items.append((_("部门"), reverse("core:departments")))
    if can(user, "calendar.edit") or user.role in {Role.HEAD, Role.LEADER}:
        items.append((_("工作日历"), reverse("core:calendar")))
    if can(user, "audit.read"):
        items.append((_("审计日志"), reverse("core:audit")))
    if can(user, "accounts.manage"):
        items.append((_("账号管理"), reverse("core:users")))
    unread = Notification.objects.filter(recipient=user, read_at__isnull=True).count()
    return {"nav_items": items, "unread_count": unread, "can_view_credit": can(user, "credit.view")}


@dataclass(frozen=True)
class Todo:
    """One line of a home page's to-do list: what to do, how many, where."""

    label: str
    count: int
    url: str
    urgent: bool = False


# Modules register a function returning the to-dos of a user (in their AppConfig.ready), so the
# home pages show real work without core depending on the modules.
_todo_sources: list[Callable[[User], list[Todo]]] = []


def register_todos(fn: Callable[[User], list[Todo]]) -> Callable[[User], list[Todo]]:
    _todo_sources.append(fn)
    return fn


def todos_for(user: User) -> list[Todo]:
    return [t for fn in _todo_sources for t in fn(user)]


def department_list(*, actor: User) -> QuerySet[Department]:
    require(actor, "org.view")
    return Department.objects.select_related("region", "parent").annotate(staff=Count("users")).order_by("code")


def department_get(*, actor: User, pk: int) -> Department:
    require(actor, "org.view")
    dept = Department.objects.select_related("region").filter(pk=pk).first()
    if dept is None:
        raise NotFound("部门不存在", "no such department")
    return dept


def department_members(*, actor: User, department: Department) -> QuerySet[User]:
    """Staff of a department: the dispatcher and security admin see any department's staff; a
    department's own people see their own; nobody else."""
    if actor.role in {Role.DISPATCHER, Role.SECURITY} or (
        actor.department_id == department.pk and actor.role in {Role.HANDLER, Role.HEAD, Role.INSPECTOR}
    ):
        return User.objects.filter(department=department).order_by("username")
    raise NotPermitted("只能查看本部门人员", "you can only see your own department's staff")


def region_list(*, level: str | None = None) -> QuerySet[Region]:
    qs = Region.objects.all()
    if level:
        qs = qs.filter(level=level)
    return qs


def audit_list(*, actor: User, q: str = "", action: str = "") -> QuerySet[AuditRecord]:
    require(actor, "audit.read")
    qs = AuditRecord.objects.order_by("-seq")
    if q:
        qs = qs.filter(Q(object_repr__icontains=q) | Q(actor_repr__icontains=q) | Q(object_id=q))
    if action:
        qs = qs.filter(action=action)
    return qs


def user_list(*, actor: User, q: str = "") -> QuerySet[User]:
    require(actor, "accounts.manage")
    qs = User.objects.select_related("department", "enterprise").order_by("role", "username")
    if q:
        qs = qs.filter(Q(username__icontains=q) | Q(full_name__icontains=q))
    return qs


def calendar_years() -> QuerySet[CalendarYear]:
    return CalendarYear.objects.annotate(n=Count("days")).order_by("year")


def calendar_year_detail(year: int) -> tuple[CalendarYear, list]:  # type: ignore[type-arg]
    cy = workdays.ensure_year(year)
    return cy, list(cy.days.order_by("date"))


def notifications_for(*, actor: User) -> QuerySet[Notification]:
    return Notification.objects.filter(recipient=actor)

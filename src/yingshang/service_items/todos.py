"""The home page's service to-dos, and the named case filters (``stage``) behind their links.

Every to-do counts the rows of the very list its link opens: the count is taken from the same
scoped selector with the same filter the list page applies, so the two can never disagree."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from yingshang.core.models import Role, User
from yingshang.core.permissions import can
from yingshang.core.selectors import Todo

from . import clock, selectors
from .models import (
    ENDED_STATUSES,
    OPEN_STATUSES,
    PAUSED_STATUSES,
    Case,
    CaseEvent,
    CaseExtension,
    CaseMaterial,
    Rating,
    Rectification,
)

S = Case.Status

# the named filters of the case list, beyond status / colour / department
STAGES: dict[str, object] = {
    "paused": gettext_lazy("计时暂停（补正中或特别程序）"),
    "corrected": gettext_lazy("补正材料已收齐，待继续办理"),
    "extension_pending": gettext_lazy("延期待审批"),
    "tolerated": gettext_lazy("容缺材料待补齐"),
    "to_rate": gettext_lazy("已办结待评价"),
}
# rectification tasks still with the department (not answered, not under appeal, not voided)
RECT_PENDING = [
    Rectification.Status.OPEN,
    Rectification.Status.VERIFIED,
    Rectification.Status.RECTIFIED,
    Rectification.Status.EXPLAINED,
]


def case_stage(qs: QuerySet[Case], stage: str) -> QuerySet[Case]:
    """Narrow a (scoped) case list to one of ``STAGES``; an unknown stage leaves it unchanged."""
    if stage == "paused":
        return qs.filter(status__in=PAUSED_STATUSES)
    if stage == "corrected":
        # running again, and the last thing a person did on it was to hand in the last correction
        last = CaseEvent.objects.filter(case=OuterRef("pk"), actor__isnull=False).order_by("-at", "-id")
        return (
            qs.filter(status=S.ACCEPTED)
            .annotate(last_kind=Subquery(last.values("kind")[:1]))
            .filter(last_kind=CaseEvent.Kind.CORRECTION_SUBMIT)
        )
    if stage == "extension_pending":
        return qs.filter(
            Exists(CaseExtension.objects.filter(case=OuterRef("pk"), status=CaseExtension.Status.PENDING))
        )
    if stage == "tolerated":
        return qs.filter(
            Q(status__in=[*OPEN_STATUSES, S.DECIDED]),
            Exists(CaseMaterial.objects.filter(case=OuterRef("pk"), status=CaseMaterial.Status.TOLERATED)),
        )
    if stage == "to_rate":
        return qs.filter(status__in=ENDED_STATUSES).filter(
            ~Exists(Rating.objects.filter(case=OuterRef("pk")))
        )
    return qs


def rectification_filter(
    qs: QuerySet[Rectification], *, state: str = "", contest: str = ""
) -> QuerySet[Rectification]:
    """``state=pending``: still with the department; ``contest=pending``: a malicious-rating contest
    waits for the office."""
    if state == "pending":
        qs = qs.filter(status__in=RECT_PENDING)
    if contest:
        qs = qs.filter(rating__contest_status=contest)
    return qs


def case_todos(user: User) -> list[Todo]:
    """The service to-dos of a user's home page (registered in ``ServiceItemsConfig.ready``)."""
    handles = can(user, "services.handle") and bool(user.department_id)
    office = can(user, "services.decide_contest")
    enterprise = user.role == Role.ENTERPRISE and bool(user.enterprise_id)
    if not (handles or office or enterprise or can(user, "services.view_all")):
        return []
    cases = selectors.case_list(actor=user)
    out: list[Todo] = []
    if enterprise:
        out.append(
            Todo(
                _("办件待补正"),
                cases.filter(status=S.CORRECTING).count(),
                f"/services/cases/?status={S.CORRECTING}",
                True,
            )
        )
        out.append(
            Todo(
                _("容缺材料待补齐"),
                case_stage(cases, "tolerated").count(),
                "/services/cases/?stage=tolerated",
                True,
            )
        )
        out.append(
            Todo(_("办件待评价"), case_stage(cases, "to_rate").count(), "/services/cases/?stage=to_rate")
        )
        return out
    if handles:
        out.append(
            Todo(
                _("办件待受理"),
                cases.filter(status=S.SUBMITTED).count(),
                f"/services/cases/?status={S.SUBMITTED}",
                True,
            )
        )
        out.append(
            Todo(
                _("补正材料已收齐待办理"),
                case_stage(cases, "corrected").count(),
                "/services/cases/?stage=corrected",
                True,
            )
        )
        if can(user, "services.approve_extension"):
            out.append(
                Todo(
                    _("办件延期待审批"),
                    case_stage(cases, "extension_pending").count(),
                    "/services/cases/?stage=extension_pending",
                    True,
                )
            )
        out.append(
            Todo(
                _("办件待送达"),
                cases.filter(status=S.DECIDED).count(),
                f"/services/cases/?status={S.DECIDED}",
            )
        )
    overdue = selectors.case_list(actor=user, colour=clock.OVERDUE).count()
    out.append(Todo(_("超期办件"), overdue, f"/services/cases/?colour={clock.OVERDUE}", True))
    if handles:
        rects = rectification_filter(selectors.rectification_list(actor=user), state="pending")
        out.append(Todo(_("差评待核实整改"), rects.count(), "/services/rectifications/?state=pending", True))
        pushes = selectors.supervision_pending(actor=user).filter(department_id=user.department_id)
        out.append(Todo(_("审管互动待认领"), pushes.count(), "/services/pushes/?mine=1"))
    if office:
        rects = selectors.rectification_list(actor=user)
        out.append(
            Todo(
                _("恶意差评申诉待认定"),
                rectification_filter(rects, contest=Rating.Contest.PENDING).count(),
                f"/services/rectifications/?contest={Rating.Contest.PENDING}",
                True,
            )
        )
        out.append(
            Todo(
                _("差评整改申诉待处理"),
                rects.filter(status=Rectification.Status.APPEALED).count(),
                f"/services/rectifications/?status={Rectification.Status.APPEALED}",
                True,
            )
        )
    return out

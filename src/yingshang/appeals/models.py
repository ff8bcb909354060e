"""企业诉求直通车: appeals from every channel, handled in the 1+1+N shape, closed with a rated answer.

Every state change is one service function that writes an ``AppealEvent``; the events are the audit
trail of an appeal and the source of every figure."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Category(models.Model):
    """Configurable tree of appeal categories, each with its resolution limits in working days."""

    code = models.CharField(_("代码"), max_length=20, unique=True)
    name = models.CharField(_("名称"), max_length=50)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    resolve_days = models.PositiveSmallIntegerField(_("一般诉求办结时限（工作日）"), default=10)
    resolve_days_urgent = models.PositiveSmallIntegerField(_("急难愁盼办结时限（工作日）"), default=3)
    default_department = models.ForeignKey("core.Department", null=True, blank=True, on_delete=models.SET_NULL,
                                           related_name="+")
    keywords = models.TextField(_("关键词（逗号分隔）"), blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("诉求分类")

    def __str__(self) -> str:
        return self.name


class Channel(models.TextChoices):
    PORTAL = "portal", _("企业端")
    HOTLINE = "hotline", _("营商服务专线")
    LIAISON_GROUP = "liaison_group", _("企业联络群")
    VISIT = "visit", _("访企问需")
    MEETING = "meeting", _("座谈会议")
    HOTLINE_12345 = "12345", _("12345热线")
    OTHER = "other", _("其他系统")


class Meeting(models.Model):
    """局长面对面 / 政企圆桌会议: one meeting record can produce several appeals."""

    class Kind(models.TextChoices):
        DIRECTOR = "director", _("局长面对面")
        ROUNDTABLE = "roundtable", _("政企圆桌会议")
        OTHER = "other", _("其他座谈")

    kind = models.CharField(max_length=12, choices=Kind.choices)
    title = models.CharField(max_length=200)
    held_on = models.DateField()
    host = models.CharField(max_length=100, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)


class Appeal(models.Model):
    class Status(models.TextChoices):
        SUBMITTED = "submitted", _("待派单")
        DISPATCHED = "dispatched", _("待签收")
        RETURNED = "returned", _("退回待重派")
        HANDLING = "handling", _("办理中")
        REPLIED = "replied", _("待企业评价")
        REVIEW = "review", _("不满意待复核")
        CLOSED = "closed", _("已办结")
        MERGED = "merged", _("已合并")

    class Urgency(models.TextChoices):
        NORMAL = "normal", _("一般")
        URGENT = "urgent", _("急难愁盼")

    class Result(models.TextChoices):
        RESOLVED = "resolved", _("已解决")
        PARTIAL = "partial", _("部分解决")
        UNRESOLVED = "unresolved", _("无法解决")

    class Rating(models.TextChoices):
        SATISFIED = "satisfied", _("满意")
        BASIC = "basic", _("基本满意")
        UNSATISFIED = "unsatisfied", _("不满意")
        UNRATED = "unrated", _("未评价")

    number = models.CharField(_("诉求编号"), max_length=20, unique=True)
    enterprise = models.ForeignKey("enterprises.Enterprise", on_delete=models.PROTECT, related_name="appeals")
    contact_name = models.CharField(_("联系人"), max_length=50)
    contact_phone = models.CharField(_("联系电话"), max_length=20)
    channel = models.CharField(_("渠道"), max_length=16, choices=Channel.choices)
    caller = models.CharField(_("来电/反映人"), max_length=50, blank=True)
    meeting = models.ForeignKey(Meeting, null=True, blank=True, on_delete=models.PROTECT, related_name="appeals")
    external_system = models.CharField(max_length=30, blank=True)
    external_id = models.CharField(max_length=64, blank=True)
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="appeals")
    title = models.CharField(_("标题"), max_length=200)
    content = models.TextField(_("诉求内容"))
    urgency = models.CharField(_("紧急程度"), max_length=8, choices=Urgency.choices, default=Urgency.NORMAL)
    show_name = models.BooleanField(_("同意公开企业名称"), default=False)
    attachments = models.ManyToManyField("core.Attachment", blank=True, related_name="+")
    # people never filtered on carry no index: each index costs every handling and sweep UPDATE
    filed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+",
                                 db_index=False)
    status = models.CharField(_("状态"), max_length=12, choices=Status.choices, default=Status.SUBMITTED,
                              db_index=True)
    # 1 + 1 + N
    responsible_leader = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                           related_name="+", db_index=False)
    commissioner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+", db_index=False)
    lead_department = models.ForeignKey("core.Department", null=True, blank=True, on_delete=models.PROTECT,
                                        related_name="lead_appeals")
    handler = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                related_name="+")
    # deadlines (dates: the whole day counts) — computed in working days by services
    dispatched_at = models.DateTimeField(null=True, blank=True)
    sign_due = models.DateField(null=True, blank=True)
    signed_at = models.DateTimeField(null=True, blank=True)
    contact_due = models.DateField(null=True, blank=True)
    contacted_at = models.DateTimeField(null=True, blank=True)
    clock_start = models.DateField(null=True, blank=True, help_text="day the resolution clock (re)started")
    resolve_days = models.PositiveSmallIntegerField(default=0, help_text="limit incl. approved extensions")
    resolve_due = models.DateField(null=True, blank=True, db_index=True)
    due_provisional = models.BooleanField(default=False)
    replied_at = models.DateTimeField(null=True, blank=True)
    rate_due = models.DateField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    overdue_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    # answer and rating
    result = models.CharField(_("办理结果"), max_length=12, choices=Result.choices, blank=True)
    reply = models.TextField(_("答复内容"), blank=True)
    explanation = models.TextField(_("说明（法律依据、已做工作）"), blank=True)
    rating = models.CharField(_("企业评价"), max_length=12, choices=Rating.choices, blank=True)
    rating_comment = models.TextField(blank=True)
    rated_at = models.DateTimeField(null=True, blank=True)
    reopen_count = models.PositiveSmallIntegerField(default=0)
    return_count = models.PositiveSmallIntegerField(default=0)
    merged_into = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="merged")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("诉求")
        constraints = [
            models.UniqueConstraint(fields=["external_system", "external_id"], condition=~Q(external_id=""),
                                    name="appeal_external_id_once"),
            models.CheckConstraint(name="appeal_reply_explained",
                                   condition=Q(result="") | Q(result="resolved") | ~Q(explanation="")),
        ]
        indexes = [
            models.Index(fields=["status", "resolve_due"]), models.Index(fields=["lead_department", "status"]),
            # the sweep's last step reads only these rows; its first two go through (status, resolve_due) and
            # change no indexed column, so their updates can stay on the page (HOT, see migration 0009)
            models.Index(fields=["rate_due"], condition=Q(status="replied"), name="appeal_sweep_unrated"),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"


class AppealAssist(models.Model):
    """An assisting department (协办) and its opinion to the lead."""

    appeal = models.ForeignKey(Appeal, on_delete=models.CASCADE, related_name="assists")
    department = models.ForeignKey("core.Department", on_delete=models.PROTECT, related_name="assist_appeals")
    opinion = models.TextField(blank=True)
    opinion_at = models.DateTimeField(null=True, blank=True)
    opinion_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["appeal", "department"], name="one_assist_row_per_department")]


class Extension(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("待审批")
        APPROVED = "approved", _("已批准")
        REJECTED = "rejected", _("已驳回")

    appeal = models.ForeignKey(Appeal, on_delete=models.CASCADE, related_name="extensions")
    days = models.PositiveSmallIntegerField()
    reason = models.TextField()
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)


class SupervisionOrder(models.Model):
    """督办: a leader's order with its own deadline."""

    appeal = models.ForeignKey(Appeal, on_delete=models.CASCADE, related_name="supervisions")
    issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    issued_at = models.DateTimeField(auto_now_add=True)
    instruction = models.TextField()
    due = models.DateField()
    answered_at = models.DateTimeField(null=True, blank=True)


class AppealEvent(models.Model):
    """One step in an appeal's life: the timeline, and the rows every figure is computed from."""

    class Kind(models.TextChoices):
        SUBMIT = "submit", _("提交")
        DISPATCH = "dispatch", _("派单")
        RETURN = "return", _("退回")
        SIGN = "sign", _("签收")
        CONTACT = "contact", _("联系企业")
        ASSIST_OPINION = "assist_opinion", _("协办意见")
        EXTENSION_REQUEST = "extension_request", _("申请延期")
        EXTENSION_DECISION = "extension_decision", _("延期审批")
        REPLY = "reply", _("答复")
        RATE = "rate", _("企业评价")
        REOPEN = "reopen", _("重新办理")
        REVIEW_CLOSE = "review_close", _("复核办结")
        CLOSE_UNRATED = "close_unrated", _("超期未评价办结")
        OVERDUE = "overdue", _("超期")
        ESCALATE = "escalate", _("升级督办")
        SUPERVISE = "supervise", _("领导督办")
        FOLLOW_UP = "follow_up", _("回访")
        MERGE = "merge", _("合并")
        NOTE = "note", _("内部备注")
        RECOMPUTE = "recompute", _("期限重算")

    appeal = models.ForeignKey(Appeal, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=Kind.choices, db_index=True)
    from_status = models.CharField(max_length=12, blank=True)
    to_status = models.CharField(max_length=12, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="+")
    department = models.ForeignKey("core.Department", null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    at = models.DateTimeField(db_index=True)
    text = models.TextField(blank=True)
    internal = models.BooleanField(default=False, help_text=_("内部信息，企业不可见"))
    data = models.JSONField(default=dict, blank=True)
    attachments = models.ManyToManyField("core.Attachment", blank=True, related_name="+")

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["appeal", "at"]), models.Index(fields=["kind", "at"])]


class AppealStat(models.Model):
    """One row per appeal: what its event rows say, folded for the figures (``stats.py``).

    Written in the same transaction as each event (``stats.apply``) and rebuildable from the events
    alone (``yingshang appeals rebuild-stats``).  Every measure but returns happens at most once in
    an appeal's life (a return before signing is the only step that can repeat), so each is a day
    column here and a figure over any period is a plain filtered count over this narrow table."""

    appeal = models.OneToOneField(Appeal, primary_key=True, on_delete=models.CASCADE, related_name="stat")
    department = models.ForeignKey("core.Department", null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+", help_text="current lead department")
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="+")
    channel = models.CharField(max_length=16)
    township = models.ForeignKey("core.Region", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                 help_text="the enterprise's township when the appeal was submitted")
    merged = models.BooleanField(default=False)
    received_on = models.DateField()
    signed_in_time_on = models.DateField(null=True, blank=True)
    contacted_in_time_on = models.DateField(null=True, blank=True)
    closed_on = models.DateField(null=True, blank=True)
    reopened_on = models.DateField(null=True, blank=True)
    late_reply = models.BooleanField(default=False)
    last_result = models.CharField(max_length=12, blank=True)
    closed_on_time = models.BooleanField(default=False)
    resolved = models.BooleanField(default=False)
    satisfied = models.BooleanField(default=False)
    rated = models.BooleanField(default=False)
    unrated = models.BooleanField(default=False)
    close_workdays = models.PositiveIntegerField(null=True, blank=True)
    last_on = models.DateField(null=True, blank=True, help_text="the latest of the day columns above")

    class Meta:
        indexes = [models.Index(fields=["received_on"]), models.Index(fields=["closed_on"]),
                   models.Index(fields=["department", "received_on"])]

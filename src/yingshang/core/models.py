"""Organisation and platform: regions, departments, parks, users and roles, the working-day
calendar, the audit trail, notifications, attachments and API tokens."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Region(models.Model):
    """A GB/T 2260 administrative area, extended to the 12-digit statistical code for
    townships/streets (6+3) and villages/communities (6+3+3)."""

    class Level(models.TextChoices):
        PROVINCE = "province", _("省")
        PREFECTURE = "prefecture", _("市")
        COUNTY = "county", _("县区")
        TOWNSHIP = "township", _("乡镇街道")
        VILLAGE = "village", _("村社区")

    code = models.CharField(_("区划代码"), max_length=12, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    level = models.CharField(_("层级"), max_length=12, choices=Level.choices)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")

    class Meta:
        ordering = ["code"]
        verbose_name = _("行政区划")

    def __str__(self) -> str:
        return self.name


class Department(models.Model):
    code = models.CharField(_("部门代码"), max_length=32, unique=True)
    name = models.CharField(_("部门名称"), max_length=100)
    short_name = models.CharField(_("简称"), max_length=20, blank=True)
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="departments")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    is_office = models.BooleanField(_("营商办"), default=False, help_text=_("县营商环境办公室"))

    class Meta:
        ordering = ["code"]
        verbose_name = _("部门")

    def __str__(self) -> str:
        return self.name


class Park(models.Model):
    name = models.CharField(_("园区名称"), max_length=100, unique=True)
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="parks")
    level = models.CharField(_("园区级别"), max_length=20, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("园区")

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    DISPATCHER = "dispatcher", _("营商办调度员")
    HANDLER = "handler", _("部门经办人")
    HEAD = "head", _("部门负责人")
    LEADER = "leader", _("县领导")
    INSPECTOR = "inspector", _("执法人员")
    ENTERPRISE = "enterprise", _("企业用户")
    AUDITOR = "auditor", _("审计员")
    SECURITY = "security", _("安全管理员")


class User(AbstractUser):
    """A person using the platform.  Government roles are bound to a department; an enterprise
    user to exactly one market entity."""

    role = models.CharField(_("角色"), max_length=16, choices=Role.choices)
    full_name = models.CharField(_("姓名"), max_length=50, blank=True)
    phone = models.CharField(_("手机号"), max_length=20, blank=True)
    department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.PROTECT, related_name="users"
    )
    enterprise = models.ForeignKey(
        "enterprises.Enterprise", null=True, blank=True, on_delete=models.PROTECT, related_name="users"
    )
    failed_logins = models.PositiveIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)
    is_demo = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("用户")
        constraints = [
            models.CheckConstraint(
                name="user_enterprise_role_binding",
                condition=(Q(role="enterprise", enterprise__isnull=False, department__isnull=True))
                | (~Q(role="enterprise") & Q(enterprise__isnull=True)),
            ),
        ]

    def __str__(self) -> str:
        return self.full_name or self.username

    @property
    def display_name(self) -> str:
        return self.full_name or self.username


class CalendarYear(models.Model):
    """Which years the calendar knows and how: the official arrangement (entered by an
    administrator or taken from chinesecalendar) or a provisional one derived from the holiday law."""

    class Status(models.TextChoices):
        OFFICIAL = "official", _("官方安排")
        PROVISIONAL = "provisional", _("临时推算")

    year = models.PositiveIntegerField(unique=True)
    status = models.CharField(max_length=12, choices=Status.choices)
    source = models.CharField(max_length=100)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["year"]


class CalendarDay(models.Model):
    """One day that differs from the plain Monday–Friday rule: a statutory holiday (or a weekday
    off in its block) or a 调休 make-up working day on a weekend."""

    class Kind(models.TextChoices):
        HOLIDAY = "holiday", _("放假")
        WORKDAY = "workday", _("调休上班")

    date = models.DateField(unique=True)
    year = models.ForeignKey(CalendarYear, on_delete=models.CASCADE, related_name="days")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    name = models.CharField(max_length=50, blank=True)

    class Meta:
        ordering = ["date"]


class AuditRecord(models.Model):
    """Append-only audit trail.  Each record's hash covers its content and the previous hash, so
    editing or deleting any record breaks the chain (``yingshang audit verify``)."""

    seq = models.PositiveBigIntegerField(unique=True)
    at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    actor_repr = models.CharField(max_length=150)
    action = models.CharField(max_length=64, db_index=True)
    object_type = models.CharField(max_length=64)
    object_id = models.CharField(max_length=64, db_index=True)
    object_repr = models.CharField(max_length=200)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["seq"]
        indexes = [models.Index(fields=["object_type", "object_id"])]


class AuditHead(models.Model):
    """Single row holding the chain's tip; locked for update while appending so that concurrent
    writers (several processes) serialise on it."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    seq = models.PositiveBigIntegerField(default=0)
    hash = models.CharField(max_length=64, default="0" * 64)


class PeriodicRun(models.Model):
    """When each periodic job (``core/periodic.py``) last ran, so several schedulers share the work."""

    name = models.CharField(max_length=60, unique=True)
    last_started = models.DateTimeField(null=True, blank=True)
    last_finished = models.DateTimeField(null=True, blank=True)
    last_seconds = models.FloatField(null=True, blank=True)
    last_result = models.CharField(max_length=500, blank=True)


class OutboundSms(models.Model):
    """A text message to a phone number that has no account (an applicant's rating link).  ``key``
    names what it is for, so the same message is never queued or sent twice."""

    key = models.CharField(max_length=100, unique=True)
    phone = models.CharField(max_length=20)
    text = models.CharField(max_length=500)
    result = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)


class Notification(models.Model):
    recipient = models.ForeignKey(User, on_delete=models.CASCADE, related_name="notifications")
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    url = models.CharField(max_length=300, blank=True)
    channels = models.JSONField(default=list)
    delivered = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["recipient", "read_at"])]


class Attachment(models.Model):
    file = models.FileField(upload_to="attachments/%Y/%m/")
    original_name = models.CharField(max_length=255)
    kind = models.CharField(max_length=10)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(User, null=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)


class ApiToken(models.Model):
    """A token for system-to-system API use; only its SHA-256 digest is stored."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    digest = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=8)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

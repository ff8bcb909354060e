"""政务服务事项: the item catalogue, bundles (一件事) on two life-event trees, cases (办件) with their
promised working-day clock, supervision pushes (审管互动) and 好差评 with rectification.

Every state change of a case is one service function that writes a ``CaseEvent``; the events are
the timeline of a case and the source of its figures.  The clock is stored on the case row
(``due_date``, ``paused_since``) so that monitoring is grouped counts over indexed columns."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

# 行政许可法 art. 42: a single department decides within 20 working days, extendable by 10 with the
# head's approval; unified / joint / concentrated handling (统一、联合、集中办理) within 45, extendable
# by 15.  A 即办件 is decided on the spot and is never extended.
EXTENSION_CAP_SINGLE = 10
EXTENSION_CAP_JOINT = 15


class ItemType(models.TextChoices):
    LICENSING = "01", _("行政许可")
    PENALTY = "02", _("行政处罚")
    COERCION = "03", _("行政强制")
    LEVY = "04", _("行政征收")
    BENEFIT = "05", _("行政给付")
    INSPECTION = "06", _("行政检查")
    CONFIRMATION = "07", _("行政确认")
    REWARD = "08", _("行政奖励")
    RULING = "09", _("行政裁决")
    OTHER_POWER = "10", _("其他行政权力")
    PUBLIC_SERVICE = "20", _("公共服务")


class ServiceItem(models.Model):
    """One item of the catalogue (事项).  即办件: promised limit 0; 承诺件: 0 < promised ≤ legal."""

    code = models.CharField(_("事项编码"), max_length=64, unique=True)
    name = models.CharField(_("事项名称"), max_length=200)
    item_type = models.CharField(_("事项类型"), max_length=2, choices=ItemType.choices)
    department = models.ForeignKey("core.Department", on_delete=models.PROTECT, related_name="service_items",
                                   verbose_name=_("实施部门"))
    level_county = models.BooleanField(_("县级办理"), default=True)
    level_township = models.BooleanField(_("乡镇（街道）办理"), default=False)
    level_village = models.BooleanField(_("村（社区）办理"), default=False)
    legal_basis = models.TextField(_("设定依据"), blank=True)
    legal_days = models.PositiveSmallIntegerField(_("法定办结时限（工作日）"))
    promised_days = models.PositiveSmallIntegerField(_("承诺办结时限（工作日）"))
    is_instant = models.BooleanField(_("即办件"), default=False)
    joint_handling = models.BooleanField(_("联合办理"), default=False,
                                         help_text=_("统一、联合、集中办理：延期上限 15 个工作日，否则 10 个"))
    conditions = models.TextField(_("受理条件"), blank=True)
    fees = models.TextField(_("收费标准"), blank=True)
    online = models.BooleanField(_("可网上办理"), default=False)
    window = models.CharField(_("办理窗口"), max_length=200, blank=True)
    hours = models.CharField(_("办理时间"), max_length=200, blank=True)
    notify_commit = models.BooleanField(_("告知承诺制"), default=False)
    supervising_department = models.ForeignKey(
        "core.Department", null=True, blank=True, on_delete=models.PROTECT, related_name="supervised_items",
        verbose_name=_("监管部门（审管互动）"))
    active = models.BooleanField(_("在用"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("政务服务事项")
        constraints = [
            models.CheckConstraint(name="item_promised_within_legal", condition=Q(promised_days__lte=F("legal_days"))),
            models.CheckConstraint(name="item_instant_iff_promised_zero",
                                   condition=Q(is_instant=True, promised_days=0)
                                   | Q(is_instant=False, promised_days__gt=0)),
            models.CheckConstraint(name="item_has_a_level",
                                   condition=Q(level_county=True) | Q(level_township=True) | Q(level_village=True)),
        ]
        indexes = [models.Index(fields=["department", "active"])]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def extension_cap(self) -> int:
        if self.is_instant:
            return 0
        return EXTENSION_CAP_JOINT if self.joint_handling else EXTENSION_CAP_SINGLE

    @property
    def levels(self) -> list[str]:
        return [name for name, on in (("county", self.level_county), ("township", self.level_township),
                                      ("village", self.level_village)) if on]


class MaterialForm(models.TextChoices):
    ORIGINAL = "original", _("原件")
    COPY = "copy", _("复印件")
    BOTH = "both", _("原件及复印件")


class Material(models.Model):
    item = models.ForeignKey(ServiceItem, on_delete=models.CASCADE, related_name="materials")
    name = models.CharField(_("材料名称"), max_length=200)
    form = models.CharField(_("材料形式"), max_length=8, choices=MaterialForm.choices, default=MaterialForm.ORIGINAL)
    copies = models.PositiveSmallIntegerField(_("份数"), default=1)
    tolerance_allowed = models.BooleanField(_("可容缺"), default=False)
    template = models.ForeignKey("core.Attachment", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+", verbose_name=_("样表/模板"))
    note = models.CharField(_("说明"), max_length=500, blank=True)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["item", "order", "id"]
        verbose_name = _("申请材料")
        constraints = [
            models.UniqueConstraint(fields=["item", "name"], name="material_name_once_per_item"),
            models.CheckConstraint(name="material_copies_positive", condition=Q(copies__gte=1)),
        ]

    def __str__(self) -> str:
        return self.name


class Bundle(models.Model):
    """一件事: several items handled as one application with one merged material list.

    The combined promised limit is set by the office and must lie between the longest promised
    limit of its items (an item is never promised faster inside a bundle than on its own) and the
    sum of their promised limits (handling them in parallel is never slower than one after
    another).  Bundles are handled jointly: an extension is capped at 15 working days."""

    code = models.CharField(_("编码"), max_length=64, unique=True)
    name = models.CharField(_("名称"), max_length=200)
    description = models.TextField(_("说明"), blank=True)
    lead_department = models.ForeignKey("core.Department", on_delete=models.PROTECT, related_name="lead_bundles",
                                        verbose_name=_("牵头部门"))
    items = models.ManyToManyField(ServiceItem, through="BundleItem", related_name="bundles")
    promised_days = models.PositiveSmallIntegerField(_("承诺办结时限（工作日）"))
    window = models.CharField(_("办理窗口"), max_length=200, blank=True)
    active = models.BooleanField(_("在用"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("一件事")

    def __str__(self) -> str:
        return self.name

    @property
    def extension_cap(self) -> int:
        return 0 if self.promised_days == 0 else EXTENSION_CAP_JOINT


class BundleItem(models.Model):
    bundle = models.ForeignKey(Bundle, on_delete=models.CASCADE, related_name="bundle_items")
    item = models.ForeignKey(ServiceItem, on_delete=models.PROTECT, related_name="+")
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["bundle", "order", "id"]
        constraints = [models.UniqueConstraint(fields=["bundle", "item"], name="bundle_item_once")]


class TreeNode(models.Model):
    """A branch of one of the two life-event trees; its leaves are bundles and items."""

    class Tree(models.TextChoices):
        ENTERPRISE = "enterprise", _("企业全生命周期")
        PERSONAL = "personal", _("个人全生命周期")

    tree = models.CharField(_("所属树"), max_length=12, choices=Tree.choices)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    name = models.CharField(_("名称"), max_length=100)
    order = models.PositiveSmallIntegerField(default=0)
    bundles = models.ManyToManyField(Bundle, blank=True, related_name="tree_nodes")
    items = models.ManyToManyField(ServiceItem, blank=True, related_name="tree_nodes")

    class Meta:
        ordering = ["tree", "order", "id"]
        verbose_name = _("主题分类")
        indexes = [models.Index(fields=["tree", "parent", "order"])]

    def __str__(self) -> str:
        return self.name


class Case(models.Model):
    """办件.  Statuses::

        submitted ─accept→ accepted ─decide→ decided ─deliver→ delivered (办结)
            └─reject→ rejected (不予受理)
        accepted ─request correction→ correcting ─material arrives→ accepted   (clock stopped)
        accepted ─special procedure→  special    ─procedure ends→  accepted   (clock stopped)
    """

    class Status(models.TextChoices):
        SUBMITTED = "submitted", _("待受理")
        REJECTED = "rejected", _("不予受理")
        ACCEPTED = "accepted", _("办理中")
        CORRECTING = "correcting", _("补正中")
        SPECIAL = "special", _("特别程序")
        DECIDED = "decided", _("已决定待送达")
        DELIVERED = "delivered", _("已办结")

    class Channel(models.TextChoices):
        ONLINE = "online", _("网上申请")
        WINDOW = "window", _("窗口申请")

    class Decision(models.TextChoices):
        APPROVED = "approved", _("准予")
        REFUSED = "refused", _("不予准予")

    class Delivery(models.TextChoices):
        WINDOW = "window", _("窗口领取")
        POST = "post", _("邮寄送达")
        ELECTRONIC = "electronic", _("电子证照")

    number = models.CharField(_("办件编号"), max_length=24, unique=True)
    item = models.ForeignKey(ServiceItem, null=True, blank=True, on_delete=models.PROTECT, related_name="cases")
    bundle = models.ForeignKey(Bundle, null=True, blank=True, on_delete=models.PROTECT, related_name="cases")
    applicant_enterprise = models.ForeignKey("enterprises.Enterprise", null=True, blank=True,
                                             on_delete=models.PROTECT, related_name="service_cases")
    applicant_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                       related_name="+")
    applicant_name = models.CharField(_("申请人"), max_length=100)
    applicant_phone = models.CharField(_("联系电话"), max_length=20)
    channel = models.CharField(_("申请方式"), max_length=8, choices=Channel.choices)
    department = models.ForeignKey("core.Department", on_delete=models.PROTECT, related_name="service_cases")
    window = models.CharField(_("受理窗口"), max_length=200, blank=True)
    filed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    handler = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                related_name="+")
    status = models.CharField(_("状态"), max_length=12, choices=Status.choices, default=Status.SUBMITTED)
    submitted_at = models.DateTimeField()
    # the clock (clock.py): dates, in working days
    accepted_on = models.DateField(null=True, blank=True)
    promised_days = models.PositiveSmallIntegerField(default=0)
    extension_days = models.PositiveSmallIntegerField(default=0)
    paused_days = models.PositiveSmallIntegerField(default=0, help_text="working days not counted (closed pauses)")
    paused_since = models.DateField(null=True, blank=True)
    due_date = models.DateField(null=True, blank=True)
    due_provisional = models.BooleanField(default=False)
    correction_rounds = models.PositiveSmallIntegerField(default=0)
    # the end
    finished_on = models.DateField(null=True, blank=True)
    on_time = models.BooleanField(null=True, blank=True)
    used_days = models.PositiveSmallIntegerField(null=True, blank=True)
    decision = models.CharField(_("办理结果"), max_length=10, choices=Decision.choices, blank=True)
    reason = models.TextField(_("理由"), blank=True, help_text=_("不予受理或不予准予的理由"))
    decided_at = models.DateTimeField(null=True, blank=True)
    delivery_method = models.CharField(_("送达方式"), max_length=12, choices=Delivery.choices, blank=True)
    delivery_note = models.CharField(_("送达说明"), max_length=500, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    # the sweep claims each notice once per due date
    warned_at = models.DateTimeField(null=True, blank=True)
    due_notified_at = models.DateTimeField(null=True, blank=True)
    overdue_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-submitted_at", "-id"]
        verbose_name = _("办件")
        constraints = [
            models.CheckConstraint(name="case_item_xor_bundle",
                                   condition=Q(item__isnull=False, bundle__isnull=True)
                                   | Q(item__isnull=True, bundle__isnull=False)),
            models.CheckConstraint(name="case_refusal_has_reason",
                                   condition=~Q(decision="refused") | ~Q(reason="")),
        ]
        indexes = [
            models.Index(fields=["status", "due_date"], name="case_status_due"),
            models.Index(fields=["department", "status"], name="case_department_status"),
            models.Index(fields=["applicant_enterprise", "status"], name="case_enterprise_status"),
            models.Index(fields=["finished_on"], name="case_finished_on"),
            # the monitor's grouped counts read only these columns of the open cases: an index-only scan
            models.Index(fields=["department", "window", "status", "due_date"], name="case_open_monitor",
                         condition=Q(status__in=["accepted", "correcting", "special"])),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def subject(self) -> ServiceItem | Bundle:
        return self.item if self.item_id else self.bundle  # type: ignore[return-value]

    @property
    def limit_days(self) -> int:
        return self.promised_days + self.extension_days


OPEN_STATUSES = [Case.Status.ACCEPTED, Case.Status.CORRECTING, Case.Status.SPECIAL]
PAUSED_STATUSES = [Case.Status.CORRECTING, Case.Status.SPECIAL]
ENDED_STATUSES = [Case.Status.DELIVERED, Case.Status.REJECTED]


class CaseMaterial(models.Model):
    """One material of a case, copied from the catalogue at application (the catalogue may change
    later); a bundle's shared material appears once."""

    class Status(models.TextChoices):
        PROVIDED = "provided", _("已提交")
        MISSING = "missing", _("缺少")
        TOLERATED = "tolerated", _("容缺后补")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="materials")
    material = models.ForeignKey(Material, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    name = models.CharField(max_length=200)
    form = models.CharField(max_length=8, choices=MaterialForm.choices, default=MaterialForm.ORIGINAL)
    copies = models.PositiveSmallIntegerField(default=1)
    tolerance_allowed = models.BooleanField(default=False)
    order = models.PositiveSmallIntegerField(default=0)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.MISSING)
    attachment = models.ForeignKey("core.Attachment", null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    due_date = models.DateField(_("容缺补齐期限"), null=True, blank=True)
    provided_at = models.DateTimeField(null=True, blank=True)
    checked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    overdue_notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["case", "order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["case", "name"], name="case_material_once"),
            models.CheckConstraint(name="case_material_tolerated_allowed_with_due",
                                   condition=~Q(status="tolerated")
                                   | Q(tolerance_allowed=True, due_date__isnull=False)),
        ]
        indexes = [models.Index(fields=["status", "due_date"], name="case_material_status_due")]

    def __str__(self) -> str:
        return self.name


class Correction(models.Model):
    """补正: one notice listing every missing item at once (一次性告知); the clock stops from the
    notice until the last item arrives."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="corrections")
    round = models.PositiveSmallIntegerField()
    items = models.JSONField(default=list, help_text="[{case_material, name, reason}]")
    note = models.TextField(blank=True)
    requested_on = models.DateField()
    requested_at = models.DateTimeField()
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    completed_on = models.DateField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    completed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+")

    class Meta:
        ordering = ["case", "round"]
        constraints = [models.UniqueConstraint(fields=["case", "round"], name="correction_round_once")]


class CaseExtension(models.Model):
    """延期: asked before the due date, approved by the head of the handling department, capped by
    the legal rule of the item (10 working days; joint handling 15), once per case."""

    class Status(models.TextChoices):
        PENDING = "pending", _("待审批")
        APPROVED = "approved", _("已批准")
        REJECTED = "rejected", _("已驳回")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="extensions")
    days = models.PositiveSmallIntegerField()
    reason = models.TextField()
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["case"], condition=Q(status__in=["pending", "approved"]),
                                    name="one_live_extension_per_case"),
            models.CheckConstraint(name="extension_days_positive", condition=Q(days__gte=1)),
        ]


class SpecialProcedure(models.Model):
    """特别程序 (听证、检验检测、现场勘验、专家评审): not counted in the time limit."""

    class Kind(models.TextChoices):
        HEARING = "hearing", _("听证")
        TESTING = "testing", _("检验检测")
        INSPECTION = "inspection", _("现场勘验")
        EXPERT = "expert", _("专家评审")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="special_procedures")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    note = models.TextField(blank=True)
    expected_days = models.PositiveSmallIntegerField(null=True, blank=True)
    start_on = models.DateField()
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    end_on = models.DateField(null=True, blank=True)
    ended_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="+")
    result = models.TextField(blank=True)

    class Meta:
        ordering = ["case", "start_on", "id"]


class SupervisionPush(models.Model):
    """审管互动: an approval pushed to the department that supervises the item afterwards."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="pushes")
    item = models.ForeignKey(ServiceItem, on_delete=models.PROTECT, related_name="+")
    department = models.ForeignKey("core.Department", on_delete=models.PROTECT, related_name="supervision_pushes")
    pushed_at = models.DateTimeField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                        related_name="+")
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["pushed_at", "id"]
        constraints = [models.UniqueConstraint(fields=["case", "item"], name="push_once_per_case_item")]
        indexes = [models.Index(fields=["department", "acknowledged_at"], name="push_department_ack")]


class CaseEvent(models.Model):
    """One step in a case's life: the timeline, and the rows its figures are computed from."""

    class Kind(models.TextChoices):
        APPLY = "apply", _("申请")
        MATERIAL = "material", _("提交材料")
        ACCEPT = "accept", _("受理")
        REJECT = "reject", _("不予受理")
        CORRECTION_REQUEST = "correction_request", _("一次性告知补正")
        CORRECTION_SUBMIT = "correction_submit", _("提交补正材料")
        EXTENSION_REQUEST = "extension_request", _("申请延期")
        EXTENSION_DECISION = "extension_decision", _("延期审批")
        SPECIAL_START = "special_start", _("启动特别程序")
        SPECIAL_END = "special_end", _("特别程序结束")
        DECIDE = "decide", _("作出决定")
        DELIVER = "deliver", _("送达")
        PUSH = "push", _("推送监管部门")
        PUSH_ACK = "push_ack", _("监管部门认领")
        WARN = "warn", _("临期预警")
        DUE = "due", _("今日到期")
        OVERDUE = "overdue", _("超期")
        TOLERANCE_OVERDUE = "tolerance_overdue", _("容缺材料逾期未补")
        RATE = "rate", _("评价")
        RECT_VERIFY = "rect_verify", _("差评核实")
        RECT_RESOLVE = "rect_resolve", _("差评整改")
        RECT_ANSWER = "rect_answer", _("差评回复")
        RECT_APPEAL = "rect_appeal", _("评价人申诉")
        RECT_APPEAL_DECISION = "rect_appeal_decision", _("申诉处理")
        CONTEST = "contest", _("恶意差评申诉")
        CONTEST_DECISION = "contest_decision", _("恶意差评认定")
        RECOMPUTE = "recompute", _("期限重算")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=24, choices=Kind.choices)
    from_status = models.CharField(max_length=12, blank=True)
    to_status = models.CharField(max_length=12, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="+")
    department = models.ForeignKey("core.Department", null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    at = models.DateTimeField()
    text = models.TextField(blank=True)
    internal = models.BooleanField(default=False, help_text=_("内部信息，申请人不可见"))
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["case", "at"], name="case_event_case_at"),
                   models.Index(fields=["kind", "at"], name="case_event_kind_at")]


class Rating(models.Model):
    """好差评: one rating per case per channel (一次一评); 不满意 and 非常不满意 are 差评."""

    class Level(models.IntegerChoices):
        VERY_SATISFIED = 5, _("非常满意")
        SATISFIED = 4, _("满意")
        BASIC = 3, _("基本满意")
        UNSATISFIED = 2, _("不满意")
        VERY_UNSATISFIED = 1, _("非常不满意")

    class Channel(models.TextChoices):
        CASE_PAGE = "case_page", _("办件页面")
        SMS = "sms", _("短信链接")
        QR = "qr", _("二维码办事指南")
        WINDOW = "window", _("窗口评价器")

    class Aspect(models.TextChoices):
        ATTITUDE = "attitude", _("服务态度")
        EFFICIENCY = "efficiency", _("办事效率")
        MATERIALS = "materials", _("材料要求")
        PROCESS = "process", _("办事流程")
        GUIDANCE = "guidance", _("告知指导")
        FEES = "fees", _("收费")
        FACILITIES = "facilities", _("环境设施")
        OTHER = "other", _("其他")

    class Contest(models.TextChoices):
        NONE = "", _("无")
        PENDING = "pending", _("恶意差评申诉中")
        UPHELD = "upheld", _("认定恶意差评（已撤销）")
        REJECTED = "rejected", _("申诉不成立")

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="ratings")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    level = models.PositiveSmallIntegerField(choices=Level.choices)
    is_bad = models.BooleanField(default=False)
    comment = models.TextField(blank=True)
    bad_aspects = models.JSONField(default=list, blank=True)
    rater = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="+")
    rater_name = models.CharField(max_length=100)
    rated_at = models.DateTimeField()
    voided = models.BooleanField(default=False, help_text=_("经认定为恶意差评，不计入统计"))
    contest_status = models.CharField(max_length=10, choices=Contest.choices, blank=True, default="")
    contest_reason = models.TextField(blank=True)
    contested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+")
    contested_at = models.DateTimeField(null=True, blank=True)
    contest_decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                           on_delete=models.PROTECT, related_name="+")
    contest_decided_at = models.DateTimeField(null=True, blank=True)
    contest_note = models.TextField(blank=True)

    class Meta:
        ordering = ["-rated_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["case", "channel"], name="one_rating_per_case_channel"),
            models.CheckConstraint(name="rating_level_1_to_5", condition=Q(level__gte=1, level__lte=5)),
            models.CheckConstraint(name="rating_bad_iff_level_le_2",
                                   condition=Q(is_bad=True, level__lte=2) | Q(is_bad=False, level__gte=3)),
            models.CheckConstraint(name="rating_voided_only_when_upheld",
                                   condition=Q(voided=False) | Q(contest_status="upheld")),
        ]
        indexes = [models.Index(fields=["rated_at"], name="rating_rated_at")]


class Rectification(models.Model):
    """差评整改: verify (call the rater) → rectify or explain → answer the rater, within the local
    limit in working days (setting ``SERVICE_RECTIFY_DAYS``, default 5)."""

    class Status(models.TextChoices):
        OPEN = "open", _("待核实")
        VERIFIED = "verified", _("已核实待整改")
        RECTIFIED = "rectified", _("已整改待回复")
        EXPLAINED = "explained", _("已说明待回复")
        ANSWERED = "answered", _("已回复")
        APPEALED = "appealed", _("评价人申诉中")
        VOIDED = "voided", _("恶意差评已撤销")

    rating = models.OneToOneField(Rating, on_delete=models.PROTECT, related_name="rectification")
    department = models.ForeignKey("core.Department", on_delete=models.PROTECT, related_name="service_rectifications")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    due_date = models.DateField()
    due_provisional = models.BooleanField(default=False)
    created_at = models.DateTimeField()
    verify_note = models.TextField(blank=True)
    rater_reached = models.BooleanField(null=True, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    verified_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    resolution = models.TextField(blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    answer = models.TextField(blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    answered_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    answered_on_time = models.BooleanField(null=True, blank=True, help_text="the first answer was within the limit")
    appeal_reason = models.TextField(blank=True)
    appealed_at = models.DateTimeField(null=True, blank=True)
    appeal_reopened = models.BooleanField(null=True, blank=True)
    appeal_note = models.TextField(blank=True)
    appeal_decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                          on_delete=models.PROTECT, related_name="+")
    appeal_decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["due_date", "id"]
        indexes = [models.Index(fields=["status", "due_date"], name="rectification_status_due"),
                   models.Index(fields=["department", "status"], name="rectification_dept_status")]

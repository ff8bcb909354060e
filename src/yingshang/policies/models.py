"""惠企政策 三张清单 and cash-out (兑现).

* :class:`PolicyDocument` 政策文件 (draft → published → expired) holds :class:`BenefitItem` 兑现事项, each
  in one mode — 免申即享 ``auto_grant``, 即申即享 ``instant``, 依申报 ``apply_review`` — with its
  department, window, materials, budget, period and working-day limits.
* An item's eligibility rule and amount formula live in immutable :class:`RuleVersion` rows; the item
  points to its current version, and every match, application, list entry and payout records the
  version it used.
* :class:`Match` holds the (item, enterprise) pairs whose rule holds, written by the matching engine
  (``matching.py``) with only the changes of each run.
* Cash-out: a :class:`PayoutList` (免申即享: proposed → reviewed → public notice → final) or an
  :class:`Application` (即申即享 / 依申报) ends in :class:`Payout` rows of the ledger, paid in
  :class:`PayoutBatch` es through a bank file.

Money is integer fen (``*_fen``, BigInteger) everywhere; never floats.  Status fields change only
through ``services.py``; each transition writes an event row (``PolicyEvent``, ``ApplicationEvent``,
``PayoutEvent``) and an audit record."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

CODE_RE = r"^[A-Za-z0-9_\-]{1,40}$"  # an item code is also a rule parameter: payouts.item.<code>


class PolicyDocument(models.Model):
    """政策文件."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("草稿")
        PUBLISHED = "published", _("已发布")
        EXPIRED = "expired", _("已失效")

    title = models.CharField(_("文件标题"), max_length=200)
    issuer = models.CharField(_("发文机关"), max_length=100)
    number = models.CharField(_("文号"), max_length=60, blank=True, help_text=_("如 X府发〔2023〕12号"))
    issued_on = models.DateField(_("印发日期"), null=True, blank=True)
    effective_on = models.DateField(_("施行日期"), null=True, blank=True)
    expires_on = models.DateField(_("有效期至"), null=True, blank=True)
    text = models.TextField(_("全文"), blank=True)
    interpretation = models.TextField(_("政策解读"), blank=True)
    topics = models.JSONField(_("主题"), default=list, blank=True)
    industries = models.JSONField(_("适用行业"), default=list, blank=True,
                                  help_text=_("GB/T 4754-2017 门类或大类代码，如 C、C39"))
    attachments = models.ManyToManyField("core.Attachment", blank=True, related_name="+")
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    published_at = models.DateTimeField(null=True, blank=True)
    expired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-issued_on", "-id"]
        verbose_name = _("政策文件")
        constraints = [
            models.UniqueConstraint(fields=["number"], condition=~Q(number=""), name="policy_document_number_once"),
            models.CheckConstraint(name="policy_document_dates_ordered",
                                   condition=Q(expires_on__isnull=True) | Q(effective_on__isnull=True)
                                   | Q(expires_on__gte=models.F("effective_on"))),
        ]
        indexes = [models.Index(fields=["status", "expires_on"])]

    def __str__(self) -> str:
        return f"{self.title}（{self.number}）" if self.number else self.title


class BenefitItem(models.Model):
    """兑现事项: one benefit under a document."""

    class Mode(models.TextChoices):
        AUTO_GRANT = "auto_grant", _("免申即享")
        INSTANT = "instant", _("即申即享")
        APPLY_REVIEW = "apply_review", _("依申报")

    class Status(models.TextChoices):
        DRAFT = "draft", _("草稿")
        PUBLISHED = "published", _("已发布")
        STOPPED = "stopped", _("已停止")

    class Period(models.TextChoices):
        ONCE = "once", _("一次性")
        YEAR = "year", _("每年一次")
        HALF = "half", _("每半年一次")
        QUARTER = "quarter", _("每季度一次")
        MONTH = "month", _("每月一次")

    document = models.ForeignKey(PolicyDocument, on_delete=models.PROTECT, related_name="items")
    code = models.CharField(_("事项编码"), max_length=40, unique=True)
    name = models.CharField(_("事项名称"), max_length=200)
    mode = models.CharField(_("兑现方式"), max_length=12, choices=Mode.choices)
    department = models.ForeignKey("core.Department", on_delete=models.PROTECT, related_name="benefit_items",
                                   verbose_name=_("责任部门"))
    summary = models.TextField(_("兑现标准说明"), blank=True)
    window_start = models.DateField(_("申报开始"), null=True, blank=True)
    window_end = models.DateField(_("申报截止"), null=True, blank=True)
    budget_fen = models.BigIntegerField(_("预算（分）"), null=True, blank=True, help_text=_("空：不设上限"))
    period_kind = models.CharField(_("兑现周期"), max_length=8, choices=Period.choices, default=Period.YEAR)
    accept_days = models.PositiveSmallIntegerField(_("受理时限（工作日）"), default=3)
    review_days = models.PositiveSmallIntegerField(_("审核时限（工作日）"), default=10)
    notice_days = models.PositiveSmallIntegerField(_("公示期（工作日）"), default=5)
    rule = models.ForeignKey("RuleVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                             verbose_name=_("当前规则版本"))
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    published_at = models.DateTimeField(null=True, blank=True)
    stopped_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("兑现事项")
        constraints = [
            models.CheckConstraint(name="benefit_item_budget_not_negative",
                                   condition=Q(budget_fen__isnull=True) | Q(budget_fen__gte=0)),
            models.CheckConstraint(name="benefit_item_window_ordered",
                                   condition=Q(window_start__isnull=True) | Q(window_end__isnull=True)
                                   | Q(window_end__gte=models.F("window_start"))),
        ]
        indexes = [models.Index(fields=["status", "mode"]), models.Index(fields=["department", "status"])]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class ItemMaterial(models.Model):
    """A material an application must (or may) bring."""

    item = models.ForeignKey(BenefitItem, on_delete=models.CASCADE, related_name="materials")
    name = models.CharField(_("材料名称"), max_length=100)
    required = models.BooleanField(_("必需"), default=True)
    note = models.CharField(_("说明"), max_length=300, blank=True)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return self.name


class RuleVersion(models.Model):
    """One version of an item's eligibility rule and amount formula (JsonLogic, see ``rules``).
    Immutable: services only ever add versions; the item points to its current one."""

    item = models.ForeignKey(BenefitItem, on_delete=models.PROTECT, related_name="rule_versions")
    number = models.PositiveIntegerField(_("版本号"))
    rule = models.JSONField(_("资格规则"))
    amount = models.JSONField(_("金额公式（万元）"), null=True, blank=True)
    note = models.CharField(_("修改说明"), max_length=300, blank=True)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["item", "-number"]
        constraints = [models.UniqueConstraint(fields=["item", "number"], name="rule_version_number_once")]

    def __str__(self) -> str:
        return f"{self.item_id} v{self.number}"


class Match(models.Model):
    """An enterprise for which an item's current rule holds (满足), written by the matching engine.

    Derived data, rewritten by set operations at registry scale, so the table is as narrow as it can
    be: the composite primary key (item, enterprise) is its only index and there are no database
    foreign-key checks.  Reads by item use the key's prefix; reads by enterprise must name the items
    (``item_id IN (…)``, as ``selectors`` do), which the same index answers with one probe per item."""

    pk = models.CompositePrimaryKey("item", "enterprise")
    item = models.ForeignKey(BenefitItem, on_delete=models.CASCADE, related_name="+", db_index=False,
                             db_constraint=False)
    enterprise = models.ForeignKey("enterprises.Enterprise", on_delete=models.CASCADE, related_name="+",
                                   db_index=False, db_constraint=False)
    rule_version = models.ForeignKey(RuleVersion, on_delete=models.DO_NOTHING, related_name="+", db_index=False,
                                     db_constraint=False)
    matched_at = models.DateTimeField()

    class Meta:
        verbose_name = _("匹配结果")


class MatchNotice(models.Model):
    """精准推送: an enterprise was told that it qualifies for an item — once, ever."""

    enterprise = models.ForeignKey("enterprises.Enterprise", on_delete=models.CASCADE, related_name="+")
    item = models.ForeignKey(BenefitItem, on_delete=models.CASCADE, related_name="+")
    notified_at = models.DateTimeField()
    # the enterprise opened 我的政策 or the item's page after the push (政策知晓)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["enterprise", "item"], name="match_notice_once")]
        indexes = [models.Index(fields=["notified_at"])]


class MatchRun(models.Model):
    """One run of the matching engine and what it wrote."""

    class Scope(models.TextChoices):
        ALL = "all", _("全部")
        ITEMS = "items", _("指定事项")
        ENTERPRISES = "enterprises", _("指定主体")

    scope = models.CharField(max_length=12, choices=Scope.choices)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    reference_year = models.PositiveIntegerField()
    items = models.PositiveIntegerField(default=0)
    enterprises = models.PositiveIntegerField(default=0)
    pairs = models.PositiveBigIntegerField(default=0)
    inserted = models.PositiveBigIntegerField(default=0)
    deleted = models.PositiveBigIntegerField(default=0)
    updated = models.PositiveBigIntegerField(default=0)
    notified = models.PositiveIntegerField(default=0)
    seconds = models.FloatField(default=0)

    class Meta:
        ordering = ["-started_at", "-id"]


class PayeeAccount(models.Model):
    """The account an enterprise receives benefits on (收款账户)."""

    enterprise = models.OneToOneField("enterprises.Enterprise", on_delete=models.CASCADE, related_name="payee_account")
    account_name = models.CharField(_("户名"), max_length=200)
    account_no = models.CharField(_("账号"), max_length=40)
    bank_name = models.CharField(_("开户行"), max_length=100)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)


# --------------------------------------------------------------------------------------- applications


class Application(models.Model):
    """申报 (即申即享 / 依申报)."""

    class Status(models.TextChoices):
        SUBMITTED = "submitted", _("待受理")
        REVIEWING = "reviewing", _("审核中")
        CORRECTION = "correction", _("补正中")
        NOTICE = "notice", _("公示中")
        APPROVED = "approved", _("已批准")
        REJECTED = "rejected", _("不予批准")
        NOT_ACCEPTED = "not_accepted", _("不予受理")
        WITHDRAWN = "withdrawn", _("已撤回")
        REVOKED = "revoked", _("公示异议成立已撤销")

    number = models.CharField(_("申报编号"), max_length=24, unique=True)
    item = models.ForeignKey(BenefitItem, on_delete=models.PROTECT, related_name="applications")
    enterprise = models.ForeignKey("enterprises.Enterprise", on_delete=models.PROTECT, related_name="policy_applications")
    period = models.CharField(_("兑现周期"), max_length=10)
    applicant = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    contact_name = models.CharField(_("联系人"), max_length=50)
    contact_phone = models.CharField(_("联系电话"), max_length=20)
    statement = models.TextField(_("申报说明"), blank=True)
    status = models.CharField(_("状态"), max_length=12, choices=Status.choices, default=Status.SUBMITTED)
    rule_version = models.ForeignKey(RuleVersion, on_delete=models.PROTECT, related_name="+")
    amount_fen = models.BigIntegerField(_("核定金额（分）"), null=True, blank=True)
    submitted_at = models.DateTimeField()
    accept_due = models.DateField(null=True, blank=True)
    accepted_on = models.DateField(null=True, blank=True)
    review_due = models.DateField(null=True, blank=True, help_text=_("审核期限；补正期间为恢复计时时的最早期限"))
    due_provisional = models.BooleanField(default=False)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    decision_reason = models.TextField(_("决定理由"), blank=True)
    notice_start = models.DateField(null=True, blank=True)
    notice_end = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    LIVE = ("submitted", "reviewing", "correction", "notice", "approved")

    class Meta:
        ordering = ["-submitted_at", "-id"]
        verbose_name = _("申报")
        constraints = [
            models.UniqueConstraint(fields=["enterprise", "item", "period"], condition=Q(status__in=[
                "submitted", "reviewing", "correction", "notice", "approved"]), name="one_live_application_per_period"),
            models.CheckConstraint(name="application_amount_positive",
                                   condition=Q(amount_fen__isnull=True) | Q(amount_fen__gt=0)),
        ]
        indexes = [models.Index(fields=["item", "status"]), models.Index(fields=["status", "review_due"]),
                   models.Index(fields=["status", "accept_due"]), models.Index(fields=["enterprise", "status"])]

    def __str__(self) -> str:
        return self.number


class ApplicationMaterial(models.Model):
    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="materials")
    material = models.ForeignKey(ItemMaterial, on_delete=models.PROTECT, related_name="+")
    attachment = models.ForeignKey("core.Attachment", on_delete=models.PROTECT, related_name="+")
    round = models.PositiveSmallIntegerField(default=0, help_text=_("0：首次提交；n：第 n 次补正"))
    uploaded_at = models.DateTimeField()

    class Meta:
        ordering = ["material__order", "material_id", "round", "id"]


class ApplicationPause(models.Model):
    """The review clock stopped for a correction (补正): from ``start`` to ``end`` (None: still stopped)."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="pauses")
    start = models.DateField()
    end = models.DateField(null=True, blank=True)
    requested = models.JSONField(default=list, help_text=_("要求补正的材料（名称）"))
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["start", "id"]


class ApplicationEvent(models.Model):
    class Kind(models.TextChoices):
        SUBMIT = "submit", _("提交申报")
        INSTANT_APPROVE = "instant_approve", _("即申即享自动核准")
        ACCEPT = "accept", _("受理")
        NOT_ACCEPT = "not_accept", _("不予受理")
        CORRECTION_REQUEST = "correction_request", _("要求补正")
        CORRECTION_SUBMIT = "correction_submit", _("补正提交")
        APPROVE = "approve", _("审核通过（公示）")
        REJECT = "reject", _("不予批准")
        OBJECTION = "objection", _("公示异议")
        OBJECTION_DECIDE = "objection_decide", _("异议处理")
        NOTICE_END = "notice_end", _("公示期满")
        REVOKE = "revoke", _("撤销")
        WITHDRAW = "withdraw", _("撤回")

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    from_status = models.CharField(max_length=12, blank=True)
    to_status = models.CharField(max_length=12, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="+")
    department = models.ForeignKey("core.Department", null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    at = models.DateTimeField()
    text = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["application", "at"]), models.Index(fields=["kind", "at"])]


# --------------------------------------------------------------------------------------- 免申即享 lists


class PayoutList(models.Model):
    """拟兑现名单 of a 免申即享 item for one period: proposed from the matches → department review →
    public notice (objections) → final (payouts created)."""

    class Status(models.TextChoices):
        PROPOSED = "proposed", _("待部门审核")
        REVIEWED = "reviewed", _("审核完成待公示")
        NOTICE = "notice", _("公示中")
        FINAL = "final", _("已生成兑现")
        CANCELLED = "cancelled", _("已作废")

    number = models.CharField(_("名单编号"), max_length=24, unique=True)
    item = models.ForeignKey(BenefitItem, on_delete=models.PROTECT, related_name="payout_lists")
    period = models.CharField(_("兑现周期"), max_length=10)
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.PROPOSED)
    rule_version = models.ForeignKey(RuleVersion, on_delete=models.PROTECT, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    reviewed_at = models.DateTimeField(null=True, blank=True)
    notice_start = models.DateField(null=True, blank=True)
    notice_end = models.DateField(null=True, blank=True)
    notice_provisional = models.BooleanField(default=False)
    finalized_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("拟兑现名单")
        indexes = [models.Index(fields=["item", "period"]), models.Index(fields=["status", "notice_end"])]

    def __str__(self) -> str:
        return self.number


class PayoutListEntry(models.Model):
    payout_list = models.ForeignKey(PayoutList, on_delete=models.CASCADE, related_name="entries")
    enterprise = models.ForeignKey("enterprises.Enterprise", on_delete=models.PROTECT, related_name="+")
    amount_fen = models.BigIntegerField()
    rule_version = models.ForeignKey(RuleVersion, on_delete=models.PROTECT, related_name="+")
    included = models.BooleanField(default=True)
    excluded_reason = models.TextField(blank=True)
    excluded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    excluded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["payout_list", "id"]
        constraints = [
            models.UniqueConstraint(fields=["payout_list", "enterprise"], name="one_entry_per_enterprise"),
            models.CheckConstraint(name="entry_amount_positive", condition=Q(amount_fen__gt=0)),
            models.CheckConstraint(name="entry_exclusion_has_reason", condition=Q(included=True) | ~Q(excluded_reason="")),
        ]


class Objection(models.Model):
    """公示异议 against an entry of a list in notice or an application in notice."""

    class Status(models.TextChoices):
        OPEN = "open", _("待处理")
        UPHELD = "upheld", _("异议成立")
        DISMISSED = "dismissed", _("异议不成立")

    entry = models.ForeignKey(PayoutListEntry, null=True, blank=True, on_delete=models.CASCADE, related_name="objections")
    application = models.ForeignKey(Application, null=True, blank=True, on_delete=models.CASCADE,
                                    related_name="objections")
    filed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="+")
    filer_name = models.CharField(_("异议人"), max_length=50, blank=True)
    filer_contact = models.CharField(_("联系方式"), max_length=50, blank=True)
    text = models.TextField(_("异议内容"))
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [models.CheckConstraint(
            name="objection_has_one_subject",
            condition=(Q(entry__isnull=False) & Q(application__isnull=True))
            | (Q(entry__isnull=True) & Q(application__isnull=False)))]


# --------------------------------------------------------------------------------------- the ledger


class PayoutBatch(models.Model):
    """拨付批次: pending payouts sent to the bank in one payment file; closed when every payout in it is
    confirmed paid or failed."""

    class Status(models.TextChoices):
        OPEN = "open", _("待导出")
        EXPORTED = "exported", _("已导出待回执")
        CLOSED = "closed", _("已完成")

    number = models.CharField(_("批次号"), max_length=24, unique=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+", help_text=_("空：系统（命令行、定时任务）"))
    created_at = models.DateTimeField(auto_now_add=True)
    exported_at = models.DateTimeField(null=True, blank=True)
    export_sha256 = models.CharField(max_length=64, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("拨付批次")

    def __str__(self) -> str:
        return self.number


class Payout(models.Model):
    """One payout of the ledger (兑现台账).

    Never two live payouts — pending or paid — for one enterprise, item and period (the partial unique
    constraint below): a failed payout is retried by a new row (``retry_of``), and the failed row turns
    ``retried``, so the history of attempts stays while two successful payouts can never coexist."""

    class Status(models.TextChoices):
        PENDING = "pending", _("待拨付")
        PAID = "paid", _("已拨付")
        FAILED = "failed", _("拨付失败")
        RETRIED = "retried", _("失败已重拨")
        CANCELLED = "cancelled", _("已撤销")

    LIVE = ("pending", "paid")

    number = models.CharField(_("兑现编号"), max_length=24, unique=True)
    item = models.ForeignKey(BenefitItem, on_delete=models.PROTECT, related_name="payouts")
    enterprise = models.ForeignKey("enterprises.Enterprise", on_delete=models.PROTECT, related_name="payouts")
    period = models.CharField(_("兑现周期"), max_length=10)
    amount_fen = models.BigIntegerField(_("金额（分）"))
    rule_version = models.ForeignKey(RuleVersion, on_delete=models.PROTECT, related_name="+")
    entry = models.ForeignKey(PayoutListEntry, null=True, blank=True, on_delete=models.PROTECT, related_name="payouts")
    application = models.ForeignKey(Application, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="payouts")
    retry_of = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT, related_name="retry")
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.PENDING)
    payable_on = models.DateField(_("可拨付日期"), null=True, blank=True)
    batch = models.ForeignKey(PayoutBatch, null=True, blank=True, on_delete=models.PROTECT, related_name="payouts")
    payee_name = models.CharField(_("收款户名"), max_length=200, blank=True)
    payee_account = models.CharField(_("收款账号"), max_length=40, blank=True)
    payee_bank = models.CharField(_("开户行"), max_length=100, blank=True)
    bank_reference = models.CharField(_("银行流水号"), max_length=64, blank=True)
    failure_reason = models.CharField(_("失败原因"), max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    paid_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("兑现")
        constraints = [
            models.UniqueConstraint(fields=["enterprise", "item", "period"], condition=Q(status__in=["pending", "paid"]),
                                    name="one_live_payout_per_enterprise_item_period"),
            models.CheckConstraint(name="payout_amount_positive", condition=Q(amount_fen__gt=0)),
            models.CheckConstraint(name="payout_paid_has_reference", condition=~Q(status="paid") | ~Q(bank_reference="")),
        ]
        indexes = [models.Index(fields=["item", "status"]), models.Index(fields=["batch", "status"]),
                   models.Index(fields=["status", "payable_on"]), models.Index(fields=["enterprise", "status"])]

    def __str__(self) -> str:
        return self.number


class PayoutEvent(models.Model):
    class Kind(models.TextChoices):
        CREATE = "create", _("生成待拨付")
        BATCH = "batch", _("编入批次")
        EXPORT = "export", _("导出支付文件")
        PAID = "paid", _("拨付成功")
        FAILED = "failed", _("拨付失败")
        RETRY = "retry", _("重新拨付")
        CANCEL = "cancel", _("撤销")

    payout = models.ForeignKey(Payout, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    from_status = models.CharField(max_length=10, blank=True)
    to_status = models.CharField(max_length=10, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="+")
    at = models.DateTimeField()
    text = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["payout", "at"]), models.Index(fields=["kind", "at"])]


class PolicyEvent(models.Model):
    """Transitions of documents, items (rule versions included), payout lists and batches."""

    class Kind(models.TextChoices):
        CREATE = "create", _("创建")
        UPDATE = "update", _("修改")
        PUBLISH = "publish", _("发布")
        EXPIRE = "expire", _("失效")
        STOP = "stop", _("停止")
        RULE = "rule", _("规则新版本")
        PROPOSE = "propose", _("生成拟兑现名单")
        EXCLUDE = "exclude", _("剔除")
        RESTORE = "restore", _("恢复")
        REVIEW = "review", _("部门审核完成")
        NOTICE = "notice", _("公示")
        OBJECTION = "objection", _("公示异议")
        OBJECTION_DECIDE = "objection_decide", _("异议处理")
        FINALIZE = "finalize", _("生成兑现")
        CANCEL = "cancel", _("作废")
        BATCH_CREATE = "batch_create", _("生成批次")
        BATCH_EXPORT = "batch_export", _("导出支付文件")
        BATCH_CONFIRM = "batch_confirm", _("导入回执")
        BATCH_CLOSE = "batch_close", _("批次完成")

    document = models.ForeignKey(PolicyDocument, null=True, blank=True, on_delete=models.CASCADE, related_name="events")
    item = models.ForeignKey(BenefitItem, null=True, blank=True, on_delete=models.CASCADE, related_name="events")
    payout_list = models.ForeignKey(PayoutList, null=True, blank=True, on_delete=models.CASCADE, related_name="events")
    batch = models.ForeignKey(PayoutBatch, null=True, blank=True, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    from_status = models.CharField(max_length=12, blank=True)
    to_status = models.CharField(max_length=12, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="+")
    at = models.DateTimeField()
    text = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]

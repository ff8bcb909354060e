"""The market-entity registry (市场主体库)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

MONEY = {"max_digits": 20, "decimal_places": 6}  # 万元 to the fen


class Enterprise(models.Model):
    class Kind(models.TextChoices):
        COMPANY = "company", _("企业")
        INDIVIDUAL = "individual", _("个体工商户")
        COOPERATIVE = "cooperative", _("农民专业合作社")

    class Status(models.TextChoices):
        ACTIVE = "active", _("存续")
        CLOSED = "closed", _("注销")

    class Size(models.TextChoices):
        LARGE = "大型", _("大型")
        MEDIUM = "中型", _("中型")
        SMALL = "小型", _("小型")
        MICRO = "微型", _("微型")

    uscc = models.CharField(_("统一社会信用代码"), max_length=18, unique=True)
    name = models.CharField(_("名称"), max_length=200, db_index=True)
    kind = models.CharField(_("主体类型"), max_length=12, choices=Kind.choices)
    status = models.CharField(_("登记状态"), max_length=8, choices=Status.choices, default=Status.ACTIVE)
    legal_rep = models.CharField(_("法定代表人/经营者"), max_length=50, blank=True)
    legal_rep_id_number = models.CharField(_("法定代表人证件号"), max_length=18, blank=True)
    registered_on = models.DateField(_("成立日期"), null=True, blank=True)
    registered_capital_wan = models.DecimalField(_("注册资本（万元）"), null=True, blank=True, **MONEY)
    industry_code = models.CharField(_("行业代码"), max_length=4, db_index=True)
    region = models.ForeignKey("core.Region", on_delete=models.PROTECT, related_name="enterprises",
                               verbose_name=_("所属乡镇"))
    park = models.ForeignKey("core.Park", null=True, blank=True, on_delete=models.PROTECT, related_name="enterprises",
                             verbose_name=_("所属园区"))
    address = models.CharField(_("住所"), max_length=200, blank=True)
    contact_name = models.CharField(_("联系人"), max_length=50, blank=True)
    contact_phone = models.CharField(_("联系电话"), max_length=20, blank=True)
    is_high_tech = models.BooleanField(_("高新技术企业"), default=False)
    is_specialized = models.BooleanField(_("专精特新"), default=False)
    has_construction_qualification = models.BooleanField(_("有建筑业资质"), default=False)
    # Derived from the latest yearly figures by services; never typed in.
    size_class = models.CharField(_("企业规模"), max_length=4, choices=Size.choices, blank=True, db_index=True)
    above_designated = models.BooleanField(_("四上/规上"), default=False, db_index=True)
    figures_year = models.PositiveIntegerField(_("规模依据年度"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("市场主体")
        indexes = [models.Index(fields=["region", "kind"]), models.Index(fields=["park"])]

    def __str__(self) -> str:
        return self.name


class YearFigure(models.Model):
    """An enterprise's figures for one statistical year (money in 万元)."""

    enterprise = models.ForeignKey(Enterprise, on_delete=models.CASCADE, related_name="figures")
    year = models.PositiveIntegerField(_("年度"))
    employees = models.PositiveIntegerField(_("从业人员"), null=True, blank=True)
    revenue_wan = models.DecimalField(_("营业收入（万元）"), null=True, blank=True, **MONEY)
    assets_wan = models.DecimalField(_("资产总额（万元）"), null=True, blank=True, **MONEY)
    taxes_wan = models.DecimalField(_("纳税额（万元）"), null=True, blank=True, **MONEY)
    rd_wan = models.DecimalField(_("研发投入（万元）"), null=True, blank=True, **MONEY)
    unemployment_insurance_wan = models.DecimalField(_("失业保险费（万元）"), null=True, blank=True, **MONEY)
    layoffs = models.PositiveIntegerField(_("裁员人数"), null=True, blank=True)

    class Meta:
        ordering = ["enterprise", "-year"]
        constraints = [models.UniqueConstraint(fields=["enterprise", "year"], name="one_figure_row_per_year")]


class ImportJob(models.Model):
    class Status(models.TextChoices):
        RUNNING = "running", _("导入中")
        DONE = "done", _("已完成")
        FAILED = "failed", _("失败")

    file_name = models.CharField(max_length=255)
    file_sha256 = models.CharField(max_length=64)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.RUNNING)
    actor = models.ForeignKey("core.User", null=True, on_delete=models.PROTECT, related_name="+")
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    rows_total = models.PositiveIntegerField(default=0)
    rows_created = models.PositiveIntegerField(default=0)
    rows_updated = models.PositiveIntegerField(default=0)
    rows_unchanged = models.PositiveIntegerField(default=0)
    rows_rejected = models.PositiveIntegerField(default=0)
    message = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]


class ImportRowError(models.Model):
    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="errors")
    row = models.PositiveIntegerField()
    field = models.CharField(max_length=50)
    value = models.CharField(max_length=200, blank=True)
    reason = models.CharField(max_length=300)

    class Meta:
        ordering = ["row", "id"]

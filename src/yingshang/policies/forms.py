"""Forms of the policy pages: they turn posted text into typed values (dates, whole numbers, money in
integer fen); every rule of the domain is the services' to check."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from yingshang.core.models import Department

from .models import BenefitItem

_SPLIT = re.compile(r"[\s,，、;；]+")


def split_words(text: str) -> list[str]:
    """``工业，奖补 科技`` → ["工业", "奖补", "科技"]."""
    return [w for w in _SPLIT.split(text or "") if w]


def wan_to_fen(text: str) -> int | None:
    """万元 with at most 6 decimals (one fen) → integer fen, exact; None for blank; ValueError otherwise."""
    raw = (text or "").replace(",", "").replace("，", "").strip()
    if not raw:
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise ValueError(raw) from None
    fen = value * 1_000_000
    if not value.is_finite() or fen != fen.to_integral_value():
        raise ValueError(raw)
    return int(fen)


def fen_to_wan_text(fen: int | None) -> str:
    if fen is None:
        return ""
    whole, rest = divmod(int(fen), 1_000_000)
    frac = f"{rest:06d}".rstrip("0")
    return f"{whole}" + (f".{frac}" if frac else "")


class DocumentForm(forms.Form):
    title = forms.CharField(label=_("文件标题"), max_length=200)
    issuer = forms.CharField(label=_("发文机关"), max_length=100)
    number = forms.CharField(label=_("文号"), max_length=60, required=False,
                             help_text=_("如 瑞府发〔2026〕3号；方括号会自动改为六角括号"))
    issued_on = forms.DateField(label=_("印发日期"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    effective_on = forms.DateField(label=_("施行日期"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    expires_on = forms.DateField(label=_("有效期至"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    topics = forms.CharField(label=_("主题"), max_length=300, required=False, help_text=_("用逗号或空格分隔，如：工业 奖补"))
    industries = forms.CharField(label=_("适用行业"), max_length=300, required=False,
                                 help_text=_("GB/T 4754-2017 门类或大类代码，如 C、I65；空：不限"))
    interpretation = forms.CharField(label=_("政策解读"), required=False, widget=forms.Textarea(attrs={"rows": 5}))
    text = forms.CharField(label=_("全文"), required=False, widget=forms.Textarea(attrs={"rows": 10}))

    def values(self) -> dict[str, Any]:
        d = dict(self.cleaned_data)
        d["topics"] = split_words(d["topics"])
        d["industries"] = [w.upper() for w in split_words(d["industries"])]
        return d


class ItemForm(forms.Form):
    code = forms.CharField(label=_("事项编码"), max_length=40, help_text=_("字母、数字、- 或 _，如 GX-JS-01；规则中可引用"))
    name = forms.CharField(label=_("事项名称"), max_length=200)
    mode = forms.ChoiceField(label=_("兑现方式"), choices=BenefitItem.Mode.choices)
    department = forms.ModelChoiceField(label=_("责任部门"), queryset=Department.objects.none(), empty_label=None)
    period_kind = forms.ChoiceField(label=_("兑现周期"), choices=BenefitItem.Period.choices,
                                    initial=BenefitItem.Period.YEAR)
    budget_wan = forms.CharField(label=_("预算（万元）"), required=False, max_length=30, help_text=_("空：不设上限"))
    window_start = forms.DateField(label=_("申报开始"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    window_end = forms.DateField(label=_("申报截止"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    accept_days = forms.IntegerField(label=_("受理时限（工作日）"), min_value=0, max_value=60, initial=3)
    review_days = forms.IntegerField(label=_("审核时限（工作日）"), min_value=0, max_value=60, initial=10)
    notice_days = forms.IntegerField(label=_("公示期（工作日）"), min_value=1, max_value=60, initial=5)
    summary = forms.CharField(label=_("兑现标准说明"), required=False, widget=forms.Textarea(attrs={"rows": 4}),
                              help_text=_("写给企业看的兑现标准，如：按上年失业保险费的 60% 返还，最高 50 万元"))

    def __init__(self, *args: Any, departments: Any = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = departments if departments is not None else Department.objects.order_by("code")

    def clean_budget_wan(self) -> int | None:
        try:
            return wan_to_fen(self.cleaned_data.get("budget_wan", ""))
        except ValueError:
            raise forms.ValidationError(_("预算应为金额（万元），最多 6 位小数")) from None

    def values(self) -> dict[str, Any]:
        d = dict(self.cleaned_data)
        d["budget_fen"] = d.pop("budget_wan")
        return d


def materials_from_post(post: Any) -> list[dict[str, Any]]:
    """The material rows of the item form: ``mat_name_<i>``, ``mat_id_<i>``, ``mat_required_<i>``,
    ``mat_note_<i>``; rows without a name are dropped."""
    try:
        count = min(int(post.get("mat_count", "0")), 100)
    except ValueError:
        count = 0
    out = []
    for i in range(count):
        name = (post.get(f"mat_name_{i}") or "").strip()
        if not name:
            continue
        mid = (post.get(f"mat_id_{i}") or "").strip()
        out.append({"id": int(mid) if mid.isdigit() else None, "name": name,
                    "required": post.get(f"mat_required_{i}") == "1", "note": (post.get(f"mat_note_{i}") or "").strip()})
    return out

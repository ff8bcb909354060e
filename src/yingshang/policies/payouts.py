"""The payout ledger's outside world and its arithmetic: the payment file for the bank / finance
system, the bank's confirmation file, and totals that reconcile with the rows.

Payment file (``export_csv``): CSV, UTF-8 with a byte-order mark (opens in Excel as is), CRLF lines,
one header row then one row per payout::

    序号,兑现编号,收款户名,收款账号,开户行,金额（元）,统一社会信用代码,事项编码,兑现周期,摘要

Amounts are yuan with exactly two decimals, written from integer fen (never through floats).

Confirmation file (``parse_confirmations``): CSV in UTF-8 or GB18030 (what bank systems export),
columns found by their heading, in any order:

* ``兑现编号`` (required) — the payout's number from the payment file;
* ``结果`` (required) — 成功 / 失败 (also 已支付, 支付成功, 支付失败, 退票, S / F, paid / failed);
* ``银行流水号`` — required for a successful payment;
* ``失败原因``, ``金额（元）`` (checked against the ledger when present), ``支付时间``.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db.models import Count, Q, Sum
from django.utils import timezone

from yingshang.core.errors import ValidationFailed

from .models import Application, BenefitItem, Payout, PayoutBatch, PayoutList, PayoutListEntry

EXPORT_HEADER = ["序号", "兑现编号", "收款户名", "收款账号", "开户行", "金额（元）", "统一社会信用代码", "事项编码", "兑现周期", "摘要"]


def yuan(fen: int) -> str:
    """Integer fen as yuan with two decimals (exact)."""
    fen = int(fen)
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"


def parse_yuan(text: str) -> int:
    """Yuan with at most two decimals → integer fen (exact); ValueError otherwise."""
    raw = (text or "").replace(",", "").replace("，", "").strip()
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise ValueError(f"金额 {text!r} 无效") from None
    fen = value * 100
    if fen != fen.to_integral_value():
        raise ValueError(f"金额 {text!r} 超过两位小数")
    return int(fen)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def export_csv(batch: PayoutBatch, payouts: list[Payout]) -> bytes:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(EXPORT_HEADER)
    for i, p in enumerate(payouts, start=1):
        w.writerow([i, p.number, p.payee_name, p.payee_account, p.payee_bank, yuan(p.amount_fen), p.enterprise.uscc,
                    p.item.code, p.period, f"惠企政策兑现 {p.item.name}"[:60]])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def export_total_fen(data: bytes) -> tuple[int, int]:
    """(rows, total fen) of a payment file — what the bank will see."""
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))[1:]
    return len(rows), sum(parse_yuan(r[5]) for r in rows)


_PAID = {"成功", "支付成功", "已支付", "已到账", "s", "success", "paid", "1", "y"}
_FAILED = {"失败", "支付失败", "退票", "退回", "f", "fail", "failed", "0", "n"}
_HEADINGS = {
    "number": ["兑现编号", "业务编号", "业务参考号", "number"],
    "result": ["结果", "支付结果", "处理结果", "状态", "result", "status"],
    "reference": ["银行流水号", "流水号", "交易流水号", "reference"],
    "reason": ["失败原因", "备注", "reason"],
    "amount": ["金额（元）", "金额(元)", "金额", "amount"],
    "paid_at": ["支付时间", "到账时间", "交易时间", "paid_at"],
}


@dataclass
class Confirmation:
    line: int
    number: str
    paid: bool
    reference: str
    reason: str
    amount_fen: int | None
    paid_at: dt.datetime | None


def _decode(data: bytes) -> str:
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    raise ValidationFailed("回执文件编码无法识别（应为 UTF-8 或 GBK）", "the file is neither UTF-8 nor GBK", field="file")


def _when(text: str) -> dt.datetime | None:
    text = (text or "").strip()
    if not text:
        return None
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y/%m/%d %H:%M:%S", "%Y%m%d%H%M%S", "%Y-%m-%d", "%Y%m%d"):
        try:
            return timezone.make_aware(dt.datetime.strptime(text, fmt))
        except ValueError:
            continue
    raise ValueError(f"时间 {text!r} 无效")


def parse_confirmations(data: bytes) -> list[Confirmation]:
    """Every row of a confirmation file, or ValidationFailed listing every bad row (nothing partial)."""
    reader = list(csv.reader(io.StringIO(_decode(data))))
    if not reader:
        raise ValidationFailed("回执文件为空", "the file is empty", field="file")
    header = [h.strip() for h in reader[0]]
    col: dict[str, int] = {}
    for key, names in _HEADINGS.items():
        for name in names:
            if name in header:
                col[key] = header.index(name)
                break
    if "number" not in col or "result" not in col:
        raise ValidationFailed("回执文件须有「兑现编号」和「结果」两列", "the file needs the columns 兑现编号 and 结果",
                               field="file")
    out: list[Confirmation] = []
    errors: list[str] = []

    def cell(row: list[str], key: str) -> str:
        i = col.get(key)
        return row[i].strip() if i is not None and i < len(row) else ""

    for line, row in enumerate(reader[1:], start=2):
        if not "".join(row).strip():
            continue
        number, result = cell(row, "number"), cell(row, "result").lower()
        if not number:
            errors.append(f"第{line}行：缺兑现编号")
            continue
        if result in _PAID:
            paid = True
        elif result in _FAILED:
            paid = False
        else:
            errors.append(f"第{line}行：结果 {cell(row, 'result')!r} 应为 成功/失败")
            continue
        reference = cell(row, "reference")[:64]
        if paid and not reference:
            errors.append(f"第{line}行：支付成功须有银行流水号")
            continue
        try:
            amount = parse_yuan(cell(row, "amount")) if cell(row, "amount") else None
            when = _when(cell(row, "paid_at"))
        except ValueError as exc:
            errors.append(f"第{line}行：{exc}")
            continue
        out.append(Confirmation(line, number, paid, reference, cell(row, "reason") or ("" if paid else "银行未说明原因"),
                                amount, when))
    if errors:
        raise ValidationFailed("回执文件有误，未导入任何记录：" + "；".join(errors[:20]),
                               f"{len(errors)} bad row(s); nothing imported", field="file")
    if not out:
        raise ValidationFailed("回执文件没有记录", "the file holds no rows", field="file")
    return out


# --------------------------------------------------------------------------------------------- totals


@dataclass
class StatusTotal:
    status: str
    label: str
    count: int
    amount_fen: int


def ledger_totals(*, item: BenefitItem | None = None, period: str | None = None,
                  batch: PayoutBatch | None = None) -> dict[str, Any]:
    """Counts and sums by status straight from the rows, plus the headline figures: paid money and the
    number of distinct enterprises paid (兑现资金 …，惠及市场主体 … 家)."""
    qs = Payout.objects.all()
    if item is not None:
        qs = qs.filter(item=item)
    if period is not None:
        qs = qs.filter(period=period)
    if batch is not None:
        qs = qs.filter(batch=batch)
    rows = {r["status"]: r for r in qs.values("status").annotate(n=Count("id"), s=Sum("amount_fen")).order_by()}
    by_status = [StatusTotal(s, str(label), int(rows.get(s, {}).get("n") or 0), int(rows.get(s, {}).get("s") or 0))
                 for s, label in Payout.Status.choices]
    paid = qs.filter(status=Payout.Status.PAID)
    return {
        "by_status": by_status,
        "count": sum(t.count for t in by_status),
        "amount_fen": sum(t.amount_fen for t in by_status),
        "live_fen": sum(t.amount_fen for t in by_status if t.status in Payout.LIVE),
        "paid_fen": next(t.amount_fen for t in by_status if t.status == Payout.Status.PAID),
        "enterprises_paid": paid.values("enterprise_id").distinct().count(),
    }


def reconcile() -> list[str]:
    """Every invariant of the ledger checked against the rows; the problems found (empty: all well).

    * no item's live payouts exceed its budget;
    * no two live payouts for one enterprise, item and period;
    * a closed batch has no pending payout; an exported batch's rows are the file's rows;
    * every paid payout has the bank's reference;
    * every included entry of a list on notice or final has one live payout of its amount (or a
      failed one awaiting retry), and no excluded entry has one;
    * every application in notice or approved has one live payout of its amount (or a failed one)."""
    problems: list[str] = []
    for item in BenefitItem.objects.exclude(budget_fen__isnull=True):
        used = Payout.objects.filter(item=item, status__in=Payout.LIVE).aggregate(s=Sum("amount_fen"))["s"] or 0
        if used > item.budget_fen:  # type: ignore[operator]
            problems.append(f"事项 {item.code} 超预算：{yuan(used)} > {yuan(item.budget_fen)}")  # type: ignore[arg-type]
    dup = (Payout.objects.filter(status__in=Payout.LIVE).values("enterprise_id", "item_id", "period")
           .annotate(n=Count("id")).filter(n__gt=1))
    problems += [f"重复兑现：企业 {d['enterprise_id']} 事项 {d['item_id']} 周期 {d['period']}" for d in dup]
    for batch in PayoutBatch.objects.filter(status=PayoutBatch.Status.CLOSED):
        if batch.payouts.filter(status=Payout.Status.PENDING).exists():
            problems.append(f"批次 {batch.number} 已完成但仍有待拨付")
    for p in Payout.objects.filter(status=Payout.Status.PAID, bank_reference=""):
        problems.append(f"兑现 {p.number} 已拨付但无银行流水号")
    settled = Q(status__in=Payout.LIVE) | Q(status=Payout.Status.FAILED)
    for e in PayoutListEntry.objects.filter(payout_list__status__in=[PayoutList.Status.NOTICE, PayoutList.Status.FINAL]):
        live = list(Payout.objects.filter(settled, entry=e).values_list("amount_fen", flat=True))
        if e.included and live != [e.amount_fen]:
            problems.append(f"名单 {e.payout_list_id} 企业 {e.enterprise_id}：兑现记录 {live} 与名单金额 {e.amount_fen} 不符")
        if not e.included and Payout.objects.filter(entry=e, status__in=Payout.LIVE).exists():
            problems.append(f"名单 {e.payout_list_id} 企业 {e.enterprise_id} 已剔除但仍有兑现")
    for app in Application.objects.filter(status__in=[Application.Status.NOTICE, Application.Status.APPROVED]):
        live = list(Payout.objects.filter(settled, application=app).values_list("amount_fen", flat=True))
        if live != [app.amount_fen]:
            problems.append(f"申报 {app.number}：兑现记录 {live} 与核定金额 {app.amount_fen} 不符")
    return problems

"""Demo credit lists: about 0.5% of the county's enterprises on the black list and 1% on the red list,
with the reasons, listing authorities, document numbers and validity periods counties really use, and
some history — entries that expired, black-list entries lifted by credit repair (信用修复), a red-list
entry withdrawn."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.utils import timezone

from yingshang.core.audit import Entry, audit_record_many
from yingshang.core.models import Region, Role, User
from yingshang.enterprises import hooks
from yingshang.enterprises.models import Enterprise

from .models import CreditListEntry

Kind, Removal = CreditListEntry.Kind, CreditListEntry.Removal

# (reason, authority as "{county}…", document number pattern, validity in years or None: until removed, weight)
BLACK = [
    ("严重失信主体", "{c}市场监督管理局", "{a}市监信〔{y}〕{n}号", 3, 3),
    ("失信被执行人", "{c}人民法院", "（{y}）{p}执{n}号", None, 4),
    ("重大税收违法失信主体", "国家税务总局{c}税务局", "{a}税稽罚〔{y}〕{n}号", 3, 2),
    ("拖欠农民工工资失信联合惩戒对象", "{c}人力资源和社会保障局", "{a}人社信〔{y}〕{n}号", 3, 1),
    ("安全生产严重失信主体", "{c}应急管理局", "{a}应急信〔{y}〕{n}号", 1, 1),
    ("严重失信主体", "信用中国", "", 3, 1),
]
RED = [
    ("A级纳税人", "国家税务总局{c}税务局", "", 1, 6),
    ("守合同重信用企业", "{c}市场监督管理局", "{a}市监〔{y}〕{n}号", 2, 2),
    ("劳动保障守法诚信示范单位", "{c}人力资源和社会保障局", "{a}人社字〔{y}〕{n}号", 3, 1),
    ("诚信示范企业", "{c}发展和改革委员会", "{a}发改财金〔{y}〕{n}号", 2, 1),
]
REPAIR_REASONS = ["已履行法院判决确定的义务，经申请移出", "已纠正失信行为并公开信用承诺，准予信用修复",
                  "已补缴税款、滞纳金和罚款，经审核准予信用修复", "已足额支付拖欠工资，准予信用修复"]
#: the prefix of court case numbers by province (GB/T 2260 code: abbreviation)
PROVINCE_ABBR = {"36": "赣", "11": "京", "31": "沪", "44": "粤", "33": "浙", "32": "苏", "43": "湘", "35": "闽"}


def _add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _moment(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(9, 30)))


@transaction.atomic
def seed_credit(rng: random.Random, enterprises: Sequence[Enterprise] | None = None, *,
                today: dt.date | None = None, black_share: float = 0.005, red_share: float = 0.01) -> dict[str, Any]:
    """Put ``black_share`` of ``enterprises`` (default: the active registry) on the black list and
    ``red_share`` on the red list, listed over the last four years; about a fifth of them are history
    now (expired, repaired or withdrawn).  Enterprises already on a list are left alone.  Writes the audit
    records and tells the enterprises' listeners (policy matching re-checks them after commit).  Returns
    counts."""
    today = today or timezone.localdate()
    office = User.objects.filter(role=Role.DISPATCHER, is_active=True).order_by("pk").first()
    county = Region.objects.filter(level=Region.Level.COUNTY).order_by("code").first()
    c = county.name if county else "县"
    a = c[:1]
    p = PROVINCE_ABBR.get(county.code[:2], "") + county.code[2:6] if county else ""
    pool = list(enterprises) if enterprises is not None else list(
        Enterprise.objects.filter(status=Enterprise.Status.ACTIVE).only("pk", "uscc", "name").order_by("uscc"))
    listed = set(CreditListEntry.objects.filter(removed_at__isnull=True).values_list("enterprise_id", flat=True))
    pool = [e for e in pool if e.pk not in listed]
    n_black = round(len(pool) * black_share)
    n_red = round(len(pool) * red_share)
    chosen = rng.sample(pool, min(len(pool), n_black + n_red))
    numbers: dict[tuple[str, int], int] = {}
    rows: list[CreditListEntry] = []

    def entry(ent: Enterprise, kind: str, spec: tuple[str, str, str, int | None, int]) -> CreditListEntry:
        reason, source, number, years, _weight = spec
        listed_on = today - dt.timedelta(days=rng.randrange(1, 4 * 365))
        if reason == "A级纳税人":  # published each April for the year before
            year = listed_on.year if listed_on >= dt.date(listed_on.year, 4, 20) else listed_on.year - 1
            listed_on = dt.date(year, 4, 20)
            if listed_on > today:
                listed_on = dt.date(year - 1, 4, 20)
        expires_on = _add_years(listed_on, years) if years else None
        key = (number, listed_on.year)
        numbers[key] = numbers.get(key, rng.randrange(1, 20)) + rng.randrange(1, 6)
        doc = number.format(a=a, y=listed_on.year, p=p, n=numbers[key]) if number else ""
        e = CreditListEntry(enterprise=ent, kind=kind, reason=reason, source=source.format(c=c), document_number=doc,
                            listed_on=listed_on, expires_on=expires_on, created_by=office)
        if expires_on is not None and expires_on <= today:
            e.removed_at, e.removal, e.removal_reason = _moment(expires_on), Removal.EXPIRED, "到期"
        elif kind == Kind.BLACK and rng.random() < 0.2 and (today - listed_on).days > 60:
            repaired = listed_on + dt.timedelta(days=rng.randrange(30, (today - listed_on).days))
            e.removed_at, e.removed_by, e.removal = _moment(repaired), office, Removal.REPAIR
            e.removal_reason = rng.choice(REPAIR_REASONS)
        elif kind == Kind.RED and rng.random() < 0.03:
            withdrawn = listed_on + dt.timedelta(days=rng.randrange(1, max(2, (today - listed_on).days)))
            e.removed_at, e.removed_by, e.removal = _moment(withdrawn), office, Removal.REVOKED
            e.removal_reason = "发生失信行为，撤销红名单认定"
        return e

    for i, ent in enumerate(chosen):
        kind, specs = (Kind.BLACK, BLACK) if i < n_black else (Kind.RED, RED)
        rows.append(entry(ent, kind, rng.choices(specs, weights=[s[4] for s in specs])[0]))
    CreditListEntry.objects.bulk_create(rows, batch_size=2000)
    entries = []
    for e in rows:
        text = f"{e.enterprise.name}（{e.enterprise.uscc}）{e.get_kind_display()}：{e.reason}"
        entries.append(Entry("credit.add", CreditListEntry._meta.label, str(e.pk), text, None,
                             {"kind": e.kind, "reason": e.reason, "listed_on": e.listed_on, "demo": True}))
        if e.removed_at is not None:
            action = "credit.expire" if e.removal == Removal.EXPIRED else "credit.remove"
            entries.append(Entry(action, CreditListEntry._meta.label, str(e.pk), text, None,
                                 {"removal": e.removal, "removed_at": e.removed_at, "demo": True}))
    audit_record_many(actor=office, entries=entries)
    hooks.changed(e.enterprise_id for e in rows)
    live = [e for e in rows if e.is_active(today)]
    return {"entries": len(rows), "black": sum(e.kind == Kind.BLACK for e in live),
            "red": sum(e.kind == Kind.RED for e in live), "removed": sum(e.removed_at is not None for e in rows)}

"""The item catalogue and a year of believable 政务服务 history for the demo county
(``yingshang seed --cases N``; ``yingshang services load-catalogue``).

``load_catalogue`` upserts the catalogue of ``data/catalogue.json`` (departments it names that the
county lacks, items with their materials, bundles, the two life-event trees) through the catalogue
services; a second run changes nothing and writes nothing.

``build_service_demo`` then plays a year of cases through the real services (apply online or at a
window, 容缺受理, 不予受理, 补正, special procedures, extensions, decisions, delivery, supervision
pushes and their acknowledgement, 好差评 with rectification and rater appeals, a contested malicious
rating, the daily sweep), with the clock moved to each step's moment by ``time_machine`` — so
events, due dates in working days, warnings, notifications and the audit chain are the ones the
platform itself would have written.  It is one time-ordered queue of steps; steps that fall after
now are left undone, so the last weeks keep open cases in every colour.  The same seed on the same
county gives the same history; one transaction per simulated day keeps SQLite fast.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import random
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils import timezone

from yingshang.core.replay import Queue, moment, replay

CATALOGUE_PATH = Path(__file__).resolve().parent / "data" / "catalogue.json"
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"

# ------------------------------------------------------------------------------------- the catalogue


def read_catalogue(path: str | Path | None = None) -> dict[str, Any]:
    """The catalogue file as a dict with the lists ``departments``, ``items``, ``bundles``, ``trees``."""
    with open(path or CATALOGUE_PATH, encoding="utf-8") as fh:
        data = json.load(fh)
    if not isinstance(data, dict):
        raise ValueError("the catalogue file must hold a JSON object")
    for key in ("departments", "items", "bundles", "trees"):
        if not isinstance(data.get(key, []), list):
            raise ValueError(f"the catalogue's {key!r} must be a list")
    return data


def _home_region(departments: list[Any]) -> Any:
    """Where new departments sit: the region most existing departments (the office first) belong to."""
    from yingshang.core.errors import ValidationFailed
    from yingshang.core.models import Region

    office = next((d for d in departments if d.is_office), None)
    if office is not None:
        return office.region
    if departments:
        region_id = Counter(d.region_id for d in departments).most_common(1)[0][0]
        return Region.objects.get(pk=region_id)
    county = Region.objects.filter(level="county").order_by("code").first()
    if county is None:
        raise ValidationFailed("没有县级行政区划，无法创建部门", "no county region to create departments in",
                               field="departments")
    return county


def load_catalogue(*, actor: Any, data: Mapping[str, Any] | None = None) -> dict[str, int]:
    """Upsert the catalogue (items and bundles by code, materials by item and name, tree nodes by
    tree, parent and name) through the services, creating the departments it names that do not
    exist (``core.services.department_import``, in the region of the existing departments).
    Nothing is deleted.  All or nothing: one refused entry refuses the file, naming the entry."""
    from yingshang.core.errors import DomainError, ValidationFailed
    from yingshang.core.models import Department
    from yingshang.core.permissions import require
    from yingshang.core.services import department_import

    from . import services
    from .models import Bundle, Material, MaterialForm, ServiceItem, TreeNode

    require(actor, "services.catalogue_edit")
    data = data if data is not None else read_catalogue()
    counts: Counter[str] = Counter()

    def refuse(where: str, exc: DomainError) -> ValidationFailed:
        return ValidationFailed(f"{where}：{exc.message}", f"{where}: {exc.message_en}", field=exc.field)

    with transaction.atomic():
        # ---- departments
        depts = {d.code: d for d in Department.objects.select_related("region")}
        wanted = {d["code"]: d for d in data.get("departments", [])}
        missing = [d for code, d in wanted.items() if code not in depts]
        if missing:
            region = _home_region(list(depts.values()))
            department_import(actor=actor, rows=[
                {"code": d["code"], "name": d["name"], "short_name": d.get("short", ""), "region_code": region.code}
                for d in missing])
            counts["departments_created"] = len(missing)
            depts = {d.code: d for d in Department.objects.all()}

        def dept(code: str | None, where: str, name: str) -> Any:
            if not code:
                return None
            if code not in depts:
                raise ValidationFailed(f"{where}：部门代码 {code} 不存在", f"{where}: no department {code}", field=name)
            return depts[code]

        # ---- items and materials
        items = {i.code: i for i in ServiceItem.objects.all()}
        materials: dict[int, dict[str, Material]] = {}
        for m in Material.objects.all():
            materials.setdefault(m.item_id, {})[m.name] = m
        for raw in data.get("items", []):
            code = raw["code"]
            fields: dict[str, Any] = {
                "name": raw["name"], "item_type": raw["item_type"],
                "department": dept(raw["department"], code, "department"),
                "levels": list(raw.get("levels") or ["county"]), "legal_basis": raw.get("legal_basis", ""),
                "legal_days": raw["legal_days"], "promised_days": raw["promised_days"],
                "joint_handling": bool(raw.get("joint_handling", False)), "conditions": raw.get("conditions", ""),
                "fees": raw.get("fees", ""), "online": bool(raw.get("online", False)), "window": raw.get("window", ""),
                "hours": raw.get("hours", ""), "notify_commit": bool(raw.get("notify_commit", False)),
                "supervising_department": dept(raw.get("supervising_department"), code, "supervising_department"),
            }
            item = items.get(code)
            try:
                if item is None:
                    item = services.item_create(actor=actor, code=code, **fields)
                    counts["items_created"] += 1
                else:
                    changes = {k: v for k, v in fields.items() if _item_value(item, k) != _plain(v)}
                    if changes:
                        item = services.item_update(actor=actor, item=item, **changes)
                        counts["items_updated"] += 1
                items[code] = item
                have = materials.get(item.pk, {})
                for n, m in enumerate(raw.get("materials", []), start=1):
                    want = {"form": MaterialForm.ORIGINAL if m.get("original", True) else MaterialForm.COPY,
                            "copies": int(m.get("copies", 1)), "tolerance_allowed": bool(m.get("tolerance_allowed")),
                            "order": n}
                    cur = have.get(m["name"])
                    if cur is None:
                        services.material_add(actor=actor, item=item, name=m["name"], **want)
                        counts["materials_created"] += 1
                    else:
                        diff = {k: v for k, v in want.items() if getattr(cur, k) != v}
                        if diff:
                            services.material_update(actor=actor, material=cur, **diff)
                            counts["materials_updated"] += 1
            except DomainError as exc:
                raise refuse(f"事项 {code}", exc) from None

        def item_of(code: str, where: str) -> Any:
            if code not in items:
                raise ValidationFailed(f"{where}：事项编码 {code} 不存在", f"{where}: no item {code}", field="items")
            return items[code]

        # ---- bundles
        bundles = {b.code: b for b in Bundle.objects.prefetch_related("bundle_items")}
        for raw in data.get("bundles", []):
            code = raw["code"]
            members = [item_of(c, code) for c in raw["items"]]
            want_b = {"name": raw["name"], "description": raw.get("description", ""), "window": raw.get("window", ""),
                      "promised_days": raw["promised_days"],
                      "lead_department": dept(raw["lead_department"], code, "lead_department")}
            try:
                bundle = bundles.get(code)
                if bundle is None:
                    bundles[code] = services.bundle_create(actor=actor, code=code, items=members, **want_b)
                    counts["bundles_created"] += 1
                    continue
                diff = {k: v for k, v in want_b.items()
                        if (bundle.lead_department_id if k == "lead_department" else getattr(bundle, k)) != _plain(v)}
                current = [bi.item_id for bi in sorted(bundle.bundle_items.all(), key=lambda bi: (bi.order, bi.pk))]
                if current != [i.pk for i in members]:
                    diff["items"] = members
                if diff:
                    bundles[code] = services.bundle_update(actor=actor, bundle=bundle, **diff)
                    counts["bundles_updated"] += 1
            except DomainError as exc:
                raise refuse(f"一件事 {code}", exc) from None

        # ---- the two trees
        nodes = {(n.tree, n.parent_id, n.name): n for n in TreeNode.objects.prefetch_related("bundles", "items")}

        def walk(tree: str, raws: list[dict[str, Any]], parent: Any) -> None:
            for order, raw in enumerate(raws, start=1):
                where = f"{tree}/{raw['name']}"
                b_list = []
                for c in raw.get("bundles", []):
                    if c not in bundles:
                        raise ValidationFailed(f"{where}：一件事 {c} 不存在", f"{where}: no bundle {c}", field="bundles")
                    b_list.append(bundles[c])
                i_list = [item_of(c, where) for c in raw.get("items", [])]
                node = nodes.get((tree, parent.pk if parent else None, raw["name"]))
                try:
                    if node is None:
                        node = services.tree_node_create(actor=actor, tree=tree, name=raw["name"], parent=parent,
                                                         order=order, bundles=b_list, items=i_list)
                        counts["tree_nodes_created"] += 1
                    elif ({b.pk for b in node.bundles.all()} != {b.pk for b in b_list}
                          or {i.pk for i in node.items.all()} != {i.pk for i in i_list}):
                        node = services.tree_node_update(actor=actor, node=node, bundles=b_list, items=i_list)
                        counts["tree_nodes_updated"] += 1
                except DomainError as exc:
                    raise refuse(f"主题 {where}", exc) from None
                walk(tree, raw.get("children", []), node)

        for tree in data.get("trees", []):
            walk(tree["tree"], tree.get("nodes", []), None)
    return dict(counts)


def _plain(v: Any) -> Any:
    if hasattr(v, "_meta"):
        return v.pk
    if isinstance(v, str):
        return v.strip()
    if isinstance(v, list):
        return sorted(v)
    return v


def _item_value(item: Any, name: str) -> Any:
    if name == "department":
        return item.department_id
    if name == "supervising_department":
        return item.supervising_department_id
    if name == "levels":
        return sorted(item.levels)
    return getattr(item, name)


# ------------------------------------------------------------------------------------- texts

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高钟谢曾赖邱温"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰涛明超华平刚辉建国志红英俊峰霞"
REJECT_REASONS = ("申请事项不属于本机关职权范围，已告知申请人向有关行政机关申请。",
                  "申请人不具备申请资格，已当场告知并说明理由。",
                  "申请材料存在虚假内容，依法不予受理。",
                  "申请人撤回申请，已一次性告知办理条件。")
REFUSE_REASONS = ("经现场核查，经营场所不符合卫生要求，依法作出不予许可决定。",
                  "经审查，申请人不符合法定条件，依法不予准予。",
                  "容缺材料逾期未补齐，依法作出不予准予决定。")
CORRECTION_REASONS = ("材料未加盖公章", "复印件不清晰，请提供清晰复印件", "签字与申请人不一致", "证明材料已过有效期",
                      "平面图未标注尺寸", "内容填写不完整")
SPECIAL_NOTES = {"hearing": "依申请人要求组织听证", "testing": "委托第三方机构检验检测",
                 "inspection": "组织现场勘验", "expert": "组织专家评审"}
GOOD_COMMENTS = ("办事效率高，一次就办好了。", "窗口工作人员态度很好，讲解清楚。", "网上申请很方便，不用跑腿。",
                 "材料一次告知，省心。", "比承诺时间提前办结，点赞！", "")
BASIC_COMMENTS = ("总体还可以，排队时间有点长。", "办理时间比预想的长。", "")
BAD_COMMENTS = (("材料要求反复变化，跑了好几趟。", ["materials", "guidance"]),
                ("等了很久，办理超过承诺时间。", ["efficiency"]),
                ("窗口人员态度不好，问问题不耐烦。", ["attitude"]),
                ("网上系统经常卡顿，提交不了材料。", ["process", "facilities"]),
                ("告知不清楚，白跑一趟。", ["guidance"]))
MALICIOUS = ("乱七八糟，全是骗子！！！", ["other"])


def _tz() -> dt.tzinfo:
    return timezone.get_current_timezone()




def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def _phone(rng: random.Random) -> str:
    return rng.choice(("138", "139", "135", "186", "187", "159", "177", "199")) + f"{rng.randrange(10**8):08d}"


# ------------------------------------------------------------------------------------- simulation

LEVELS = (5, 4, 3, 2, 1)
LEVEL_WEIGHTS = (72, 19, 5.5, 2.5, 1)
DEPT_WEIGHTS = {"XZSPJ": 3.0, "SCJG": 2.5, "RSJ": 2.2, "SWJ": 2.0, "GAJ": 1.6, "YBJ": 1.6, "ZRZYJ": 1.2,
                "MZJ": 1.0, "ZJJ": 1.0, "WJW": 1.0}


@dataclass
class Plan:
    """What is going to happen to one case (drawn when it is planned)."""

    idx: int
    subject: Any
    materials: list[Any]  # MergedMaterial
    dept_id: int
    enterprise: Any
    person: tuple[str, str] | None
    online: bool
    instant: bool
    missing: list[str] = field(default_factory=list)  # left out at application, provided before acceptance
    tolerate: list[str] = field(default_factory=list)  # left out and accepted under 容缺
    tolerance_late: bool = False
    tolerance_never: bool = False
    reject: bool = False
    correction: bool = False
    special: str = ""
    extension: bool = False
    refuse: bool = False
    late: int = 0  # working days after the due date the decision comes (0: in time)
    delivery: str = "electronic"
    ratings: list[tuple[str, int]] = field(default_factory=list)
    case: Any = None
    done: set[str] = field(default_factory=set)



def build_service_demo(*, seed: int = 2026, cases: int = 1500, today: dt.date | None = None,
                       stdout: Any = None) -> dict[str, Any]:
    """Load the catalogue, then simulate a year (up to ``today``) of about ``cases`` cases for the
    county in the database (the demo county of :func:`yingshang.core.demo.build_demo_county`, or any
    county with a dispatcher and active enterprises).  Returns counts of what was written.

    Runs with ``DEBUG`` off: the debug cursor formats and logs every one of the year's ~100 queries
    per case, a fifth of the time, for a log nobody reads."""
    from django.test.utils import override_settings

    with override_settings(DEBUG=False):
        return _build_service_demo(seed=seed, cases=cases, today=today, stdout=stdout)


def _build_service_demo(*, seed: int, cases: int, today: dt.date | None, stdout: Any) -> dict[str, Any]:
    try:
        import time_machine
    except ImportError as exc:  # pragma: no cover - a dependency of the demo
        raise RuntimeError("build_service_demo needs the time-machine package") from exc

    from django.conf import settings
    from django.contrib.auth.hashers import make_password
    from django.db.models import F

    from yingshang.core import services as core_services
    from yingshang.core import workdays
    from yingshang.core.audit import Entry, audit_record_many
    from yingshang.core.models import Department, Notification, Role, User
    from yingshang.enterprises.models import Enterprise

    from . import clock, selectors, services
    from .conf import warn_days
    from .models import (
        Bundle,
        Case,
        CaseExtension,
        CaseMaterial,
        Correction,
        Rating,
        Rectification,
        ServiceItem,
        SpecialProcedure,
        SupervisionPush,
        TreeNode,
    )

    if cases < 0:
        raise ValueError("cases must be >= 0")
    started = time.monotonic()
    say = stdout.write if stdout is not None else (lambda _t: None)
    rng = random.Random(f"{seed}:services")
    names = random.Random(f"{seed}:service-people")
    real_now = timezone.now()
    today = today or timezone.localdate()
    end = min(real_now, moment(today, 23.99)) if today == timezone.localdate() else moment(today, 23.99)
    start = today - dt.timedelta(days=365)
    counts: Counter[str] = Counter()
    skipped: Counter[str] = Counter()

    dispatcher = User.objects.filter(role=Role.DISPATCHER, is_active=True).order_by("id").first()
    if dispatcher is None:
        raise RuntimeError("no dispatcher: build the demo county first")

    # ---- the catalogue, in place a little before the history starts
    with time_machine.travel(moment(start - dt.timedelta(days=7), 9.0), tick=False):
        loaded = load_catalogue(actor=dispatcher)
    counts.update({f"catalogue_{k}": v for k, v in loaded.items()})
    if cases == 0:
        return {**counts, "cases": 0, "seconds": round(time.monotonic() - started, 1)}

    items = list(ServiceItem.objects.filter(active=True).select_related("department").order_by("code"))
    bundles = list(Bundle.objects.filter(active=True).prefetch_related("items").order_by("code"))
    personal_items = set(TreeNode.objects.filter(tree=TreeNode.Tree.PERSONAL).values_list("items", flat=True))
    enterprise_items = set(TreeNode.objects.filter(tree=TreeNode.Tree.ENTERPRISE).values_list("items", flat=True))
    personal_bundles = set(TreeNode.objects.filter(tree=TreeNode.Tree.PERSONAL).values_list("bundles", flat=True))
    if not items:
        raise RuntimeError("the catalogue is empty")

    # ---- the people: a handler and a head in every department that handles or supervises items, and
    # an account for each enterprise applying online.  Written in one batch with their audit records,
    # as the appeal history does: ``core.services.user_create`` hashes the password for every account
    # (0.35 s each, hundreds of accounts), and these demo accounts share one password.
    password = make_password(settings.DEMO_PASSWORD)
    new_users: list[Any] = []
    staff: dict[tuple[int, str], Any] = {}
    for u in User.objects.filter(role__in=[Role.HANDLER, Role.HEAD], is_active=True).order_by("id"):
        staff.setdefault((u.department_id, u.role), u)
    dept_ids = ({i.department_id for i in items} | {b.lead_department_id for b in bundles}
                | {i.supervising_department_id for i in items if i.supervising_department_id})
    departments = {d.pk: d for d in Department.objects.filter(pk__in=dept_ids)}
    taken = set(User.objects.values_list("username", flat=True))
    for d in sorted(departments.values(), key=lambda d: d.code):
        for role in (Role.HANDLER, Role.HEAD):
            if (d.pk, role) in staff:
                continue
            username = f"{role}_{d.code.lower()}"
            if username in taken:
                username = f"{username}_{d.pk}"
            taken.add(username)
            u = User(username=username, role=role, full_name=_name(names), phone=_phone(names), department=d,
                     is_demo=True, password=password)
            staff[(d.pk, role)] = u
            new_users.append(u)

    # enterprises applying online need an account; a pool of active enterprises, those with accounts first
    ents = list(Enterprise.objects.filter(status=Enterprise.Status.ACTIVE).order_by("id"))
    if not ents:
        raise RuntimeError("no active enterprises: build the demo county first")
    ent_user: dict[int, Any] = {}
    for u in User.objects.filter(role=Role.ENTERPRISE, is_active=True, enterprise__status=Enterprise.Status.ACTIVE
                                 ).order_by("id"):
        ent_user.setdefault(u.enterprise_id, u)
    pool_size = min(len(ents), max(20, cases // 5))
    pool = [e for e in ents if e.pk in ent_user][:pool_size]
    seen = {e.pk for e in pool}
    while len(pool) < pool_size:
        e = rng.choice(ents)
        if e.pk not in seen:
            seen.add(e.pk)
            pool.append(e)
    pool_weights = [rng.paretovariate(1.5) for _ in pool]
    for e in pool:
        if e.pk not in ent_user:
            username = f"ent_{e.uscc.lower()}"
            if username in taken:
                username = f"{username}_{e.pk}"
            taken.add(username)
            u = User(username=username, role=Role.ENTERPRISE, full_name=e.contact_name or _name(names),
                     phone=e.contact_phone or _phone(names), enterprise=e, is_demo=True, password=password)
            ent_user[e.pk] = u
            new_users.append(u)
    if new_users:
        with time_machine.travel(moment(start - dt.timedelta(days=7), 9.5), tick=False), transaction.atomic():
            User.objects.bulk_create(new_users)
            if new_users[0].pk is None:  # backends without RETURNING
                by_name = dict(User.objects.filter(username__in=[u.username for u in new_users])
                               .values_list("username", "pk"))
                for u in new_users:
                    u.pk = by_name[u.username]
            audit_record_many(actor=None, entries=[
                Entry("demo.seed", "core.User", str(u.pk), u.username,
                      after={"username": u.username, "role": u.role, "department_id": u.department_id,
                             "enterprise_id": u.enterprise_id}) for u in new_users])
        counts["users_created"] = len(new_users)

    def handler_of(dept_id: int) -> Any:
        return staff.get((dept_id, Role.HANDLER)) or staff[(dept_id, Role.HEAD)]

    def head_of(dept_id: int) -> Any:
        return staff.get((dept_id, Role.HEAD)) or staff[(dept_id, Role.HANDLER)]

    files: dict[int, Any] = {}

    def scan_of(user: Any) -> Any:
        """The applicant's scanned materials (one file per account, reused: the demo's uploads)."""
        if user.pk not in files:
            files[user.pk] = core_services.attachment_store(
                upload=io.BytesIO(PDF + f"% {user.username}\n".encode()), name="申请材料扫描件.pdf", actor=user)
        return files[user.pk]

    # ---- plans
    merged_cache: dict[tuple[str, int], list[Any]] = {}

    def merged(subject: Any) -> list[Any]:
        key = ("b" if isinstance(subject, Bundle) else "i", subject.pk)
        if key not in merged_cache:
            merged_cache[key] = (selectors.bundle_materials(subject) if isinstance(subject, Bundle)
                                 else selectors.subject_materials(subject))
        return merged_cache[key]

    def supervised(s: Any) -> bool:
        if isinstance(s, ServiceItem):
            return s.supervising_department_id is not None
        return any(i.supervising_department_id for i in s.items.all())

    def subject_online(s: Any) -> bool:
        return s.online if isinstance(s, ServiceItem) else all(i.online for i in s.items.all())

    subjects: list[Any] = [*items, *bundles]
    weights = []
    for s in subjects:
        if isinstance(s, Bundle):
            w = 1.6
        else:
            w = DEPT_WEIGHTS.get(s.department.code, 0.7)
            if s.is_instant:
                w *= 1.3
        weights.append(w * (2.2 if subject_online(s) else 1.0))
    days = [start + dt.timedelta(days=i) for i in range(1, 366)]
    # a little busier lately, quiet at weekends, and a busier last fortnight: an open tail
    day_weights = [(1.0 if workdays.is_workday(d) else 0.12) * (0.85 + 0.3 * i / 365)
                   * (2.0 if (today - d).days < 14 else 1.0) for i, d in enumerate(days)]
    queue = Queue()
    plans: list[Plan] = []
    for idx in range(cases):
        s = rng.choices(subjects, weights=weights, k=1)[0]
        is_bundle = isinstance(s, Bundle)
        personal = (s.pk in personal_bundles) if is_bundle else (s.pk in personal_items
                                                                 and s.pk not in enterprise_items)
        as_enterprise = rng.random() < (0.12 if personal else 0.93)
        e = rng.choices(pool, weights=pool_weights, k=1)[0] if as_enterprise else None
        online = e is not None and subject_online(s) and rng.random() < 0.95
        dept_id = s.lead_department_id if is_bundle else s.department_id
        instant = s.promised_days == 0
        mats = merged(s)
        p = Plan(idx=idx, subject=s, materials=mats, dept_id=dept_id, enterprise=e,
                 person=None if e else (_name(names), _phone(names)), online=online, instant=instant)
        day = rng.choices(days, weights=day_weights, k=1)[0]
        recent = (today - day).days < 30
        tolerable = [m.name for m in mats if m.tolerance_allowed]
        p.reject = rng.random() < 0.03
        if not p.reject and not instant and tolerable and rng.random() < 0.14:
            p.tolerate = rng.sample(tolerable, k=min(len(tolerable), rng.choice((1, 1, 2))))
            p.tolerance_late = rng.random() < 0.12
            p.tolerance_never = p.tolerance_late and rng.random() < 0.3
        if online and not p.reject and rng.random() < 0.1:
            rest = [m.name for m in mats if m.name not in p.tolerate]
            if rest:
                p.missing = [rng.choice(rest)]
        if not instant and not p.reject:
            p.correction = rng.random() < 0.16
            p.special = rng.choice(list(SPECIAL_NOTES)) if rng.random() < 0.03 else ""
            p.extension = rng.random() < 0.04
            p.refuse = rng.random() < 0.025
            p.late = rng.choice((1, 1, 2, 3, 5, 8)) if rng.random() < (0.14 if recent else 0.05) else 0
        p.delivery = rng.choices(("electronic", "window", "post"), weights=(45, 38, 17), k=1)[0]
        if rng.random() < 0.82:
            bad_bias = 1.0 + (2.5 if p.late else 0) + (1.5 if p.correction else 0) + (2.0 if p.reject else 0)
            ws = [LEVEL_WEIGHTS[0], LEVEL_WEIGHTS[1], LEVEL_WEIGHTS[2], LEVEL_WEIGHTS[3] * bad_bias,
                  LEVEL_WEIGHTS[4] * bad_bias]
            if online:
                channels = rng.choices((("case_page",), ("sms",), ("case_page", "sms")), weights=(66, 28, 6), k=1)[0]
            else:
                channels = rng.choices((("window",), ("sms",), ("qr",), ("window", "sms")),
                                       weights=(58, 24, 12, 6), k=1)[0]
            p.ratings = [(ch, rng.choices(LEVELS, weights=ws, k=1)[0]) for ch in channels]
        if online:
            when = moment(day, rng.uniform(7, 23.5))
        else:
            while not workdays.is_workday(day) and day < today:
                day += dt.timedelta(days=1)
            when = moment(day, rng.uniform(8.6, 17.2))
        plans.append(p)
        queue.at(when, "apply", p)
    for k in range(1, 366):  # the daily sweep, early morning
        queue.at(moment(start + dt.timedelta(days=k), 0.5), "sweep", start + dt.timedelta(days=k))

    # ---- running the steps
    def next_workmoment(after: dt.datetime, hours: float) -> dt.datetime:
        """Roughly ``hours`` of office time after ``after`` (8:30-17:30 on working days)."""
        when, left = after, hours
        while True:
            day = timezone.localtime(when).date()
            if not workdays.is_workday(day):
                when = moment(day + dt.timedelta(days=1), 8.5)
                continue
            opening, closing = moment(day, 8.5), moment(day, 17.5)
            when = max(when, opening)
            room = (closing - when).total_seconds() / 3600
            if room >= left:
                return when + dt.timedelta(hours=left)
            left -= max(room, 0)
            when = moment(day + dt.timedelta(days=1), 8.5)

    def on_workday(day: dt.date, lo: float = 8.7, hi: float = 17.3) -> dt.datetime:
        while not workdays.is_workday(day):
            day += dt.timedelta(days=1)
        return moment(day, rng.uniform(lo, hi))

    def later(now: dt.datetime, when: dt.datetime) -> dt.datetime:
        return when if when > now else now + dt.timedelta(minutes=rng.randint(10, 90))

    def local_day(when: dt.datetime) -> dt.date:
        return timezone.localtime(when).date()

    def applicant_actor(p: Plan) -> Any:
        return ent_user[p.enterprise.pk] if p.online else handler_of(p.dept_id)

    def files_for(p: Plan, names_: list[str]) -> dict[int, Any]:
        actor = applicant_actor(p)
        att = scan_of(actor) if p.online else None
        rows = CaseMaterial.objects.filter(case=p.case, name__in=names_)
        return {r.pk: att for r in rows}

    contests = {"upheld": 0, "rejected": 0}

    def schedule_next(p: Plan, now: dt.datetime) -> None:
        """After acceptance (or a pause ending): the next pause, extension, awaited material, or the decision."""
        case = p.case
        if p.special and "special" not in p.done:
            queue.at(next_workmoment(now, rng.uniform(3, 20)), "special_start", p)
        elif p.correction and "correction" not in p.done:
            queue.at(next_workmoment(now, rng.uniform(2, 14)), "correction", p)
        elif p.tolerate and "tolerated" not in p.done:
            due = CaseMaterial.objects.filter(case=case, status=CaseMaterial.Status.TOLERATED).values_list(
                "due_date", flat=True).first()
            if due is None:
                p.done.add("tolerated")
                schedule_next(p, now)
                return
            day = due + dt.timedelta(days=rng.randint(1, 6)) if p.tolerance_late else \
                local_day(now) + dt.timedelta(days=rng.randint(1, max(1, (due - local_day(now)).days)))
            queue.at(later(now, on_workday(day)), "provide_tolerated", p)
        elif p.extension and "extension" not in p.done and case.due_date is not None:
            day = workdays.add(case.due_date, 0).date - dt.timedelta(days=rng.randint(1, 3))
            queue.at(later(now, on_workday(max(day, local_day(now)))), "extension", p)
        else:
            due = case.due_date or local_day(now)
            if p.late:
                day = workdays.add(due, p.late).date
            else:
                span = max((due - local_day(now)).days, 0)
                day = local_day(now) + dt.timedelta(days=round(span * rng.betavariate(2.2, 1.5)))
                if not workdays.is_workday(day):
                    day = min(due, day + dt.timedelta(days=(7 - day.weekday()) % 7 or 1))
            queue.at(later(now, on_workday(day)), "decide", p)

    def rate_later(p: Plan, now: dt.datetime) -> None:
        for n, (channel, level) in enumerate(p.ratings):
            day = local_day(now) + dt.timedelta(days=rng.choice((0, 0, 1, 1, 2, 3, 5)) + 2 * n)
            when = moment(day, rng.uniform(8, 22)) if channel != "window" else now + dt.timedelta(minutes=2)
            queue.at(later(now, when), "rate", (p, channel, level))

    def run(step: str, obj: Any, now: dt.datetime) -> None:
        if step == "sweep":
            for k, v in services.case_sweep(today=obj).items():
                counts[f"sweep_{k}"] += v
            return
        if step == "ack":
            push = obj
            services.supervision_acknowledge(actor=handler_of(push.department_id), push=push,
                                             note=rng.choice(("已认领，纳入事中事后监管。", "已接收，列入日常监管名录。", "")))
            counts["pushes_acknowledged"] += 1
            return
        if step.startswith("rect_") or step.startswith("contest"):
            run_rating_step(step, obj, now)
            return
        if step == "rate":
            p, channel, level = obj
            rate(p, channel, level, now)
            return
        p = obj
        h = handler_of(p.dept_id)
        if step == "apply":
            kw: dict[str, Any] = {}
            if p.online:
                actor = ent_user[p.enterprise.pk]
                provided = {m.material_ids[0]: scan_of(actor) for m in p.materials
                            if m.name not in p.missing and m.name not in p.tolerate}
            else:
                actor = h
                provided = {m.material_ids[0]: None for m in p.materials if m.name not in p.tolerate}
                if p.person:
                    kw = {"applicant_name": p.person[0], "applicant_phone": p.person[1]}
            if p.enterprise is not None:
                kw = {"applicant_phone": p.enterprise.contact_phone or actor.phone or _phone(names)}
            subject = {"bundle": p.subject} if isinstance(p.subject, Bundle) else {"item": p.subject}
            p.case = services.case_apply(actor=actor, enterprise=p.enterprise, provided=provided, **subject, **kw)
            counts["online" if p.online else "window"] += 1
            if p.missing:
                queue.at(now + dt.timedelta(hours=rng.uniform(2, 40)), "provide_missing", p)
            elif p.online:
                queue.at(next_workmoment(now, rng.uniform(0.3, 7)), "accept", p)
            else:
                queue.at(now + dt.timedelta(minutes=rng.randint(3, 25)), "accept", p)
        elif step == "provide_missing":
            actor = ent_user[p.enterprise.pk]
            for row in CaseMaterial.objects.filter(case=p.case, name__in=p.missing):
                services.case_material_provide(actor=actor, case=p.case, material=row, attachment=scan_of(actor))
            queue.at(next_workmoment(now, rng.uniform(0.3, 6)), "accept", p)
        elif step == "accept":
            if p.reject:
                p.case = services.case_reject(actor=h, case=p.case, reason=rng.choice(REJECT_REASONS))
                counts["rejected"] += 1
                if p.ratings:
                    rate_later(p, now)
                return
            rows = list(CaseMaterial.objects.filter(case=p.case, status=CaseMaterial.Status.MISSING)) \
                if p.tolerate else []
            tolerated = {}
            if p.tolerate:
                due = workdays.add(local_day(now), rng.choice((3, 5, 5, 10))).date
                tolerated = {r.pk: due for r in rows if r.name in p.tolerate and r.tolerance_allowed}
                counts["tolerated_acceptances"] += 1
            provided = [r.pk for r in rows if r.pk not in tolerated]
            p.case = services.case_accept(actor=h, case=p.case, provided=provided, tolerated=tolerated)
            if p.instant:
                queue.at(now + dt.timedelta(minutes=rng.randint(8, 45)), "decide", p)
            else:
                schedule_next(p, now)
        elif step == "special_start":
            kind = p.special
            services.case_special_start(actor=h, case=p.case, kind=kind, note=SPECIAL_NOTES[kind],
                                        expected_days=rng.choice((5, 10, 15)))
            p.done.add("special")
            counts["special_procedures"] += 1
            day = workdays.add(local_day(now), rng.randint(3, 12)).date
            queue.at(on_workday(day), "special_end", p)
        elif step == "special_end":
            p.case = services.case_special_end(actor=h, case=p.case,
                                               result=f"{SPECIAL_NOTES[p.special]}已完成，结论：符合要求。")
            schedule_next(p, now)
        elif step == "correction":
            rows = list(CaseMaterial.objects.filter(case=p.case, status=CaseMaterial.Status.PROVIDED))
            if not rows:
                p.done.add("correction")
                schedule_next(p, now)
                return
            chosen = rng.sample(rows, k=min(len(rows), rng.choice((1, 1, 1, 2, 3))))
            services.case_request_correction(actor=h, case=p.case,
                                             items=[(r, rng.choice(CORRECTION_REASONS)) for r in chosen],
                                             note="请在收到通知后尽快补正，补正期间不计入办理时限。")
            p.done.add("correction")
            counts["corrections"] += 1
            day = local_day(now) + dt.timedelta(days=rng.choice((1, 1, 2, 3, 4, 6, 9)))
            queue.at(moment(day, rng.uniform(8.8, 21 if p.online else 17)) if p.online else on_workday(day),
                     "correction_submit", p)
        elif step == "correction_submit":
            wanted = [e["name"] for e in Correction.objects.get(case=p.case, completed_on__isnull=True).items]
            actor = applicant_actor(p)
            provided = files_for(p, wanted)
            p.case = services.case_submit_correction(actor=actor, case=p.case, provided=provided)
            schedule_next(p, now)
        elif step == "provide_tolerated":
            actor = applicant_actor(p)
            for row in CaseMaterial.objects.filter(case=p.case, status=CaseMaterial.Status.TOLERATED):
                if p.tolerance_never:  # never arrives: the decision refuses
                    break
                services.case_material_provide(actor=actor, case=p.case, material=row,
                                               attachment=scan_of(actor) if p.online else None)
            p.done.add("tolerated")
            p.case = Case.objects.get(pk=p.case.pk)
            if p.case.status == Case.Status.ACCEPTED:
                schedule_next(p, now)
            else:  # decided meanwhile; nothing awaits
                return
        elif step == "extension":
            p.done.add("extension")
            if p.case.due_date is not None and local_day(now) <= p.case.due_date:
                ext = services.case_extension_request(actor=h, case=p.case, days=rng.choice((5, 10)),
                                                      reason="需要征求相关部门意见，申请延长办理时限。")
                queue.at(next_workmoment(now, rng.uniform(0.5, 6)), "extension_decide", (p, ext))
                return
            schedule_next(p, now)
        elif step == "decide":
            awaited = bool(p.tolerate) and p.case.materials.exclude(status=CaseMaterial.Status.PROVIDED).exists()
            approve = not p.refuse and not awaited
            reason = "" if approve else (REFUSE_REASONS[2] if awaited else rng.choice(REFUSE_REASONS[:2]))
            p.case = services.case_decide(actor=h, case=p.case, approve=approve, reason=reason)
            counts["approved" if approve else "refused"] += 1
            for push in (SupervisionPush.objects.filter(case=p.case) if supervised(p.subject) else []):
                if rng.random() < 0.93:
                    queue.at(next_workmoment(now, rng.uniform(1, 30)), "ack", push)
            if p.delivery == "electronic":
                when = now + dt.timedelta(minutes=rng.randint(3, 40))
            elif p.delivery == "post":
                when = next_workmoment(now, rng.uniform(1, 9))
            else:
                when = next_workmoment(now, rng.uniform(0.2, 20)) if not p.instant else \
                    now + dt.timedelta(minutes=rng.randint(3, 20))
            queue.at(when, "deliver", p)
        elif step == "deliver":
            note = f"EMS 运单号 1{rng.randrange(10**11):011d}" if p.delivery == "post" else ""
            p.case = services.case_deliver(actor=h, case=p.case, method=p.delivery, note=note)
            counts["delivered"] += 1
            if p.ratings:
                rate_later(p, now)
        else:
            raise ValueError(step)

    def run_extension_decide(obj: tuple[Plan, Any], now: dt.datetime) -> None:
        p, ext = obj
        approve = rng.random() < 0.85
        services.case_extension_decide(actor=head_of(p.dept_id), extension=ext, approve=approve,
                                       note="同意延期。" if approve else "请按原承诺时限办结。")
        counts["extensions_approved" if approve else "extensions_rejected"] += 1
        p.case = Case.objects.get(pk=p.case.pk)
        schedule_next(p, now)

    def rate(p: Plan, channel: str, level: int, now: dt.datetime) -> None:
        bad = level <= 2
        if bad and contests["upheld"] == 0:  # the first bad rating is an abusive one: contested as malicious
            comment, aspects = MALICIOUS
            level = 1
        elif bad:
            comment, aspects = rng.choice(BAD_COMMENTS)
        else:
            comment, aspects = rng.choice(GOOD_COMMENTS if level >= 4 else BASIC_COMMENTS), []
        signed_in = p.online and channel == "case_page"
        rating = services.case_rate(actor=ent_user[p.enterprise.pk] if signed_in else None, case=p.case,
                                    channel=channel, level=level, comment=comment, bad_aspects=aspects,
                                    token="" if signed_in else services.rating_token(p.case))
        counts["ratings"] += 1
        if not bad:
            return
        counts["bad_ratings"] += 1
        if comment == MALICIOUS[0] and contests["upheld"] == 0:
            contests["upheld"] = -1  # claimed
            queue.at(next_workmoment(now, rng.uniform(1, 5)), "contest", (p, rating, True))
        elif contests["rejected"] == 0:  # the second is contested too, and the contest fails
            contests["rejected"] = -1
            queue.at(next_workmoment(now, rng.uniform(1, 5)), "contest", (p, rating, False))
        else:
            queue.at(next_workmoment(now, rng.uniform(1, 12)), "rect_verify", (p, rating))

    def run_rating_step(step: str, obj: Any, now: dt.datetime) -> None:
        if step == "contest":
            p, rating, upheld = obj
            services.rating_contest(actor=handler_of(p.dept_id), rating=rating,
                                    reason="评价内容与办理情况无关，且含辱骂性语言，申请认定为恶意差评。"
                                    if upheld else "该办件在承诺时限内办结，申请人差评理由不成立。")
            queue.at(next_workmoment(now, rng.uniform(4, 24)), "contest_decide", obj)
            counts["contests"] += 1
            return
        if step == "contest_decide":
            p, rating, upheld = obj
            services.rating_contest_decide(actor=dispatcher, rating=rating, void=upheld,
                                           note="经核实，评价内容与办件无关，认定为恶意差评，予以撤销。" if upheld
                                           else "经核实，申请人反映的问题属实，申诉不成立，请部门整改。")
            contests["upheld" if upheld else "rejected"] += 2
            if not upheld:
                queue.at(next_workmoment(now, rng.uniform(1, 6)), "rect_verify", (p, rating))
            return
        p, rating = obj
        rect = Rectification.objects.get(rating=rating)
        h = handler_of(p.dept_id)
        # one task in nine misses its limit: drawn from the seed and the rating (case and channel), never
        # from the row id, which differs between databases and between two builds on PostgreSQL
        slow = random.Random(f"{seed}:slow-rectification:{p.idx}:{rating.channel}").random() < 1 / 9
        if step == "rect_verify":
            services.rectification_verify(actor=h, rectification=rect, reached=rng.random() < 0.88,
                                          note="已电话回访评价人，了解具体情况。")
            queue.at(next_workmoment(now, rng.uniform(4, 40 if slow else 14)), "rect_resolve", obj)
        elif step == "rect_resolve":
            rectified = rng.random() < 0.6
            services.rectification_resolve(
                actor=h, rectification=rect, outcome="rectified" if rectified else "explained",
                text="已对窗口人员开展服务规范培训，优化一次性告知清单。" if rectified
                else "经核实，办理过程符合规定，已向评价人说明办理依据和时限。")
            queue.at(next_workmoment(now, rng.uniform(1, 30 if slow else 8)), "rect_answer", obj)
        elif step == "rect_answer":
            services.rectification_answer(actor=h, rectification=rect,
                                          answer="感谢您的评价，我们已核实并整改，欢迎继续监督。")
            counts["rectifications_answered"] += 1
            if rect.appealed_at is None and rng.random() < 0.12:
                queue.at(now + dt.timedelta(hours=rng.uniform(5, 60)), "rect_appeal", obj)
        elif step == "rect_appeal":
            signed_in = p.online and rating.rater_id is not None
            services.rectification_appeal(actor=ent_user[p.enterprise.pk] if signed_in else None, rectification=rect,
                                          reason="问题没有实际解决，对回复不满意。",
                                          token="" if signed_in else services.rating_token(p.case))
            queue.at(next_workmoment(now, rng.uniform(4, 30)), "rect_appeal_decide", obj)
        elif step == "rect_appeal_decide":
            reopen = rng.random() < 0.4
            services.rectification_appeal_decide(actor=dispatcher, rectification=rect, reopen=reopen,
                                                 note="申诉成立，请部门重新整改。" if reopen else "经复核，部门答复合理。")
            if reopen:
                queue.at(next_workmoment(now, rng.uniform(4, 30)), "rect_resolve", obj)

    traveller_cm = time_machine.travel(queue.heap[0][0] if queue.heap else end, tick=False)
    traveller = traveller_cm.__enter__()
    try:
        def step_run(step: str, obj: Any, when: dt.datetime) -> None:
            if step == "extension_decide":
                run_extension_decide(obj, when)
            else:
                run(step, obj, when)

        def progress(day: dt.date) -> None:
            if day.day == 1:
                say(f"  cases: {day:%Y-%m} ({counts['online'] + counts['window']} so far)")

        replay(queue.heap, end=end, traveller=traveller, run=step_run, skipped=skipped, on_new_day=progress)

        # ---- today: make sure the monitor shows every colour and the list every state
        traveller.move_to(end)
        crafted = _ensure_today(
            today=today, end=end, rng=rng, names=names, traveller=traveller, items=items,
            handler_of=handler_of, ent_user=ent_user, pool=pool, scan_of=scan_of, warn=warn_days())
        counts["crafted_today"] = crafted
        traveller.move_to(end)
        with transaction.atomic():
            for k, v in services.case_sweep().items():
                counts[f"sweep_{k}"] += v
    finally:
        traveller_cm.__exit__(None, None, None)

    # people read their messages: only the last few days' notifications stay unread in the demo (days
    # before the demo's end, not the wall clock: the same seed and day give the same demo)
    Notification.objects.filter(read_at__isnull=True, url__startswith="/services/",
                                created_at__lt=end - dt.timedelta(days=3)).update(read_at=F("created_at"))

    ids = [p.case.pk for p in plans if p.case is not None]
    monitor = selectors.case_monitor(actor=dispatcher, today=today)
    out: dict[str, Any] = dict(counts)
    out["cases"] = len(ids) + crafted
    out["skipped_steps"] = dict(skipped)
    out["pending_steps"] = len([q for q in queue.heap if q[2] != "sweep"])
    out["statuses"] = dict(Counter(Case.objects.values_list("status", flat=True)))
    out["online_share"] = round(counts["online"] / max(1, counts["online"] + counts["window"]), 3)
    out["monitor"] = {c: getattr(monitor.total, c) for c in (*clock.COLOURS, "paused")}
    out["rectifications"] = dict(Counter(Rectification.objects.values_list("status", flat=True)))
    out["contested"] = dict(Counter(Rating.objects.exclude(contest_status="").values_list("contest_status",
                                                                                          flat=True)))
    out["pushes"] = {"total": SupervisionPush.objects.count(),
                     "pending": SupervisionPush.objects.filter(acknowledged_at__isnull=True).count()}
    out["extensions"] = CaseExtension.objects.count()
    out["special"] = SpecialProcedure.objects.count()
    out["seconds"] = round(time.monotonic() - started, 1)
    return out


def _ensure_today(*, today: dt.date, end: dt.datetime, rng: random.Random, names: random.Random, traveller: Any,
                  items: list[Any], handler_of: Callable[[int], Any], ent_user: dict[int, Any], pool: list[Any],
                  scan_of: Callable[[Any], Any], warn: int) -> int:
    """Craft a case for each colour (green, yellow, red, overdue) and each open state (submitted,
    correcting, special, decided) the history left empty today: a small demo (or one built at night
    or on a holiday) still shows the monitor and the lists in full.  Returns how many were made."""
    from yingshang.core import workdays

    from . import clock, services
    from .models import Case, CaseMaterial

    bounds = clock.colour_bounds(today, warn)
    open_cases = Case.objects.filter(status=Case.Status.ACCEPTED)
    have = {c for c in clock.COLOURS if open_cases.filter(**_colour_filter(c, bounds)).exists()}
    states = set(Case.objects.values_list("status", flat=True).distinct())
    made = 0
    promised = [i for i in items if 3 <= i.promised_days <= 10 and i.department_id]
    instant = [i for i in items if i.is_instant and i.online]
    if not promised:
        return 0

    def accept_on(day: dt.date, item: Any) -> Any:
        traveller.move_to(moment(day, 10.0))
        h = handler_of(item.department_id)
        with transaction.atomic():
            case = services.case_apply(actor=h, item=item, applicant_name=_name(names), applicant_phone=_phone(names),
                                       provided={m.pk: None for m in item.materials.all()})
            return services.case_accept(actor=h, case=case)

    def accept_day_for(item: Any, ok: Callable[[dt.date], bool]) -> dt.date | None:
        day = today - dt.timedelta(days=1)
        for _ in range(90):
            if workdays.is_workday(day) and ok(workdays.add(day, item.promised_days).date):
                return day
            day -= dt.timedelta(days=1)
        return None

    wanted: dict[str, Callable[[dt.date], bool]] = {
        clock.OVERDUE: lambda due: today - dt.timedelta(days=10) <= due < today,
        clock.RED: lambda due: due == today,
        clock.YELLOW: lambda due: bounds.yellow_from <= due < bounds.green_from,
        clock.GREEN: lambda due: bounds.green_from <= due,
    }
    for colour, ok in wanted.items():
        if colour in have:
            continue
        for item in rng.sample(promised, k=len(promised)):
            day = accept_day_for(item, ok)
            if day is not None:
                accept_on(day, item)
                made += 1
                break
        else:
            if colour == clock.RED and instant:  # not a working day: a 即办件 accepted today, not yet decided
                item = rng.choice(instant)
                e = next((e for e in pool if e.pk in ent_user), None)
                if e is not None:
                    traveller.move_to(max(moment(today, 0.1), end - dt.timedelta(minutes=30)))
                    user = ent_user[e.pk]
                    with transaction.atomic():
                        case = services.case_apply(actor=user, item=item, enterprise=e,
                                                   provided={m.pk: scan_of(user) for m in item.materials.all()})
                        traveller.move_to(max(moment(today, 0.2), end - dt.timedelta(minutes=10)))
                        services.case_accept(actor=handler_of(item.department_id), case=case)
                    made += 1
    day = today - dt.timedelta(days=1)
    while not workdays.is_workday(day):
        day -= dt.timedelta(days=1)
    if Case.Status.SUBMITTED not in states:
        item = rng.choice(promised)
        traveller.move_to(max(moment(today, 0.1), end - dt.timedelta(minutes=45)))
        with transaction.atomic():
            services.case_apply(actor=handler_of(item.department_id), item=item, applicant_name=_name(names),
                                applicant_phone=_phone(names), provided={m.pk: None for m in item.materials.all()})
        made += 1
    if Case.Status.CORRECTING not in states:
        item = rng.choice(promised)
        case = accept_on(day, item)
        traveller.move_to(moment(day, 15.0))
        row = CaseMaterial.objects.filter(case=case).first()
        if row is not None:
            with transaction.atomic():
                services.case_request_correction(actor=handler_of(item.department_id), case=case,
                                                 items=[(row, "材料未加盖公章")])
        made += 1
    if Case.Status.SPECIAL not in states:
        item = rng.choice(promised)
        case = accept_on(day, item)
        traveller.move_to(moment(day, 15.5))
        with transaction.atomic():
            services.case_special_start(actor=handler_of(item.department_id), case=case, kind="inspection",
                                        note=SPECIAL_NOTES["inspection"], expected_days=5)
        made += 1
    if Case.Status.DECIDED not in states:
        item = rng.choice(promised)
        case = accept_on(day, item)
        traveller.move_to(moment(day, 16.0))
        with transaction.atomic():
            services.case_decide(actor=handler_of(item.department_id), case=case, approve=True)
        made += 1
    return made


def _colour_filter(colour: str, b: Any) -> dict[str, Any]:
    from . import clock

    if colour == clock.OVERDUE:
        return {"due_date__lt": b.today}
    if colour == clock.RED:
        return {"due_date__gte": b.today, "due_date__lt": b.yellow_from}
    if colour == clock.YELLOW:
        return {"due_date__gte": b.yellow_from, "due_date__lt": b.green_from}
    return {"due_date__gte": b.green_from}

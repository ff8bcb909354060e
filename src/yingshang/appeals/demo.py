"""A year of believable appeal history for the demo county (``yingshang seed --appeals N``).

Every step goes through the real services (submit, dispatch, return, sign, contact, extension,
reply, rate, review, merge, supervise, follow-up and the daily sweep), with the clock moved to the
step's moment by ``time_machine`` — so events, deadlines in working days, overdue and escalation
marks, notifications and the audit chain are the ones the platform itself would have written.

The simulation is one time-ordered queue of steps; each step schedules the next one of its appeal,
and the sweep runs at the start of every day.  Steps that fall after ``today`` are left undone, so
the last weeks keep a tail of open appeals.  The same seed on the same county gives the same
history.  One transaction per simulated day keeps SQLite fast.
"""

from __future__ import annotations

import datetime as dt
import heapq
import itertools
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from yingshang.core.replay import replay

# ------------------------------------------------------------------------------------- texts

# category code -> (title templates, content templates).  Slots: {town} township, {ind} industry,
# {park} park or town, {n} a small number, {m} a month, {amt} an amount (万元), {days} days.
TEXTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "01": (
        ("咨询{ind}企业技术改造补贴申报条件", "关于{year}年工业发展奖补政策兑现进度的咨询", "咨询稳岗返还政策适用范围",
         "{town}小微企业税费减免政策咨询", "咨询专精特新企业认定奖励政策", "申请首次入规奖励需要哪些材料",
         "咨询招商引资优惠政策兑现问题", "关于设备更新贷款贴息政策的咨询"),
        ("我司是{town}的一家{ind}企业，想了解{year}年技术改造补贴的申报条件和截止时间，网上查到的文件不全，"
         "请相关部门给予政策解读。",
         "去年申报的工业发展奖补资金已公示{n}个月，至今未兑现，想咨询目前的兑现进度和需要补充的材料。",
         "听说今年有新出台的惠企政策，我们{ind}行业能否享受，具体申报流程是怎样的，希望有专人对接指导。",
         "企业{m}月份已升规入统，想咨询首次入规奖励怎么申报，奖补标准是多少，是否需要到窗口提交纸质材料。",
         "我们准备更新一批生产设备，投资约{amt}万元，想了解设备更新贷款贴息和技改补贴能否同时享受。",
         "招商引资协议中约定的优惠政策至今没有落实，想咨询兑现条件和办理部门。"),
    ),
    "02": (
        ("{ind}企业流动资金贷款续贷困难", "申请创业担保贷款遇到困难", "银行抽贷断贷影响正常经营", "融资难融资贵问题",
         "关于应急转贷资金使用的诉求", "{town}企业贷款利率偏高", "申请担保贷款担保费过高"),
        ("我司在{park}从事{ind}生产，{amt}万元流动资金贷款{m}月到期，银行表示续贷需要追加抵押，企业资金周转困难，"
         "希望协调银行办理无还本续贷。",
         "企业订单增加需要采购原材料，向银行申请{amt}万元贷款，但缺少抵押物一直未获授信，希望帮助对接担保公司。",
         "近期合作银行突然压缩授信额度{amt}万元，企业资金链紧张，工资和货款都受到影响，请求协调金融机构不抽贷不断贷。",
         "想使用应急转贷资金过桥还款，但不清楚申请流程和额度，希望相关部门尽快给予支持。",
         "企业贷款年化利率较高，融资成本压力大，希望能对接政策性银行或享受贴息政策。",
         "申请创业担保贷款时材料反复退回，已经跑了{n}次，贷款迟迟放不下来。"),
    ),
    "03": (
        ("{ind}企业招工难，缺少熟练技术工人", "旺季用工缺口{n}0人", "申请以工代训补贴", "员工社保转移接续问题",
         "希望组织专场招聘会", "技能人才引进落户问题", "关于员工技能培训补贴的诉求"),
        ("我司是{town}的{ind}企业，目前订单饱满，但一线工人缺口约{n}0人，在本地多次招聘效果不好，"
         "希望人社部门帮助组织专场招聘会。",
         "企业缺少熟练技术工人和管理人才，新招员工流动性大，希望政府提供技能培训和人才引进政策支持。",
         "去年组织员工参加技能培训，培训补贴一直没有拨付，想了解办理进度。",
         "有外地员工社保转移接续办不下来，影响员工正常缴纳社保，员工意见很大。",
         "春节后返岗率低，生产线开工不足，希望在{town}开展用工对接活动，帮助企业招工。",
         "引进的技术骨干子女入学和落户手续办理困难，影响人才稳定。"),
    ),
    "04": (
        ("{park}标准厂房租赁问题", "企业扩产用地指标申请", "厂房不动产权证办理困难", "申请租用标准厂房", "厂房租金减免诉求",
         "关于项目用地规划调整的诉求", "{town}厂区土地证遗留问题"),
        ("企业发展扩产，现有厂房面积不足，希望在{park}租用约{n}000平方米标准厂房，请协调安排。",
         "我司{year}年购买的厂房至今办不了不动产权证，影响企业融资抵押，请帮助解决历史遗留问题。",
         "项目已签约，但用地指标迟迟没有落实，土地规划调整进度慢，影响项目开工建设。",
         "受市场影响企业经营困难，希望对{park}的标准厂房租金给予适当减免。",
         "企业在{town}的厂区用地手续不完善，土地和房屋产权不一致，希望自然资源部门帮助理清。",
         "新建厂房规划许可办理中，红线图和实际用地有出入，需要协调规划调整。"),
    ),
    "05": (
        ("{ind}项目施工许可审批进度慢", "营业执照变更办理问题", "食品经营许可证延续办理", "排污许可审批时间长",
         "建设项目竣工验收备案困难", "资质证书申请材料反复补正", "办证需要多次往返窗口"),
        ("我司新建生产线项目已完成备案，施工许可证申请提交已{n}周，一直显示审核中，影响项目进度，希望加快审批。",
         "企业需要变更经营范围和法定代表人，在窗口办理时被要求补充材料，跑了{n}次还没办好。",
         "食品经营许可证即将到期，网上申请延续一直提示材料不全，但没有说明缺什么。",
         "项目竣工后申请联合验收，各部门意见不一致，验收备案迟迟办不下来。",
         "申请建筑业资质证书，材料被反复要求补正，审批时限超过承诺时间。",
         "希望对{ind}企业的审批事项实行容缺受理和帮办代办，减少企业跑腿次数。"),
    ),
    "06": (
        ("企业一个月内被重复检查{n}次", "对行政处罚决定有异议", "执法检查影响正常生产", "希望推行包容审慎监管",
         "{town}企业被要求停产整改", "多部门检查内容重复", "关于罚款金额过高的诉求"),
        ("本月以来先后有{n}个部门到企业进行安全、环保、消防等检查，检查内容重复，影响正常生产经营，希望统筹检查。",
         "企业因标签瑕疵被处罚款{amt}万元，属于首次轻微违法，希望按照包容审慎监管原则重新核查。",
         "执法人员要求企业限期整改，但整改标准不明确，企业不知如何落实，希望给予指导。",
         "企业在{town}的车间被要求停产整改，已按要求完成整改，申请复查后尽快恢复生产。",
         "同一事项被不同执法部门重复检查和处罚，企业负担较重，希望合并检查。",
         "收到执法检查通知，对处罚依据有疑问，希望相关部门予以解释。"),
    ),
    "07": (
        ("{park}厂区频繁停电", "企业用电增容申请进度慢", "厂区停水影响生产", "天然气管道接入问题", "供电电压不稳影响设备运行",
         "{town}企业供水管网改造", "申请双回路供电"),
        ("近一个月{park}厂区停电{n}次，每次停电造成生产线停工和原材料报废，损失较大，希望协调供电公司解决。",
         "企业新增生产线需要用电增容，向供电公司申请已{n}周，至今未安排施工，影响设备调试投产。",
         "{town}片区近期多次停水，企业生产用水无法保障，希望供水公司排查管网。",
         "企业生产需要使用天然气，燃气管道距离厂区只有几百米，接入费用过高且迟迟不能开通。",
         "厂区电压不稳定，精密设备经常跳闸，电力线路需要改造，希望协调供电部门。",
         "园区网络和通信信号差，影响企业信息化系统使用，希望协调运营商改善网络覆盖。"),
    ),
    "08": (
        ("企业商标被他人抢注", "产品专利被侵权", "申请专利资助", "商标侵权维权困难", "知识产权质押融资咨询"),
        ("我司自主研发的{ind}产品专利被外地企业仿冒，侵权产品低价销售，严重影响企业市场，请求帮助维权。",
         "企业使用多年的品牌商标被他人抢先注册，现在被要求停止使用，希望知识产权部门给予指导。",
         "企业今年获得发明专利授权{n}项，想申请专利资助，不清楚申报流程。",
         "发现市场上有假冒我司注册商标的产品，希望市场监管部门查处侵权行为。",
         "想用专利权办理知识产权质押融资，希望了解相关政策和合作银行。"),
    ),
    "09": (
        ("{ind}企业工程款被拖欠", "合同纠纷请求调解", "货款长期拖欠无法收回", "劳动纠纷仲裁问题", "请求帮助追讨欠款"),
        ("我司为某单位提供{ind}产品和服务，合同金额{amt}万元，对方拖欠货款已超过{n}个月，多次催要无果，请求协调。",
         "企业承接的工程已验收，但工程款{amt}万元至今未支付，企业资金周转困难，希望帮助追讨欠款。",
         "与合作方发生合同纠纷，对方不履行合同义务，希望相关部门组织调解，避免诉讼。",
         "离职员工申请劳动仲裁，企业对仲裁程序不了解，希望提供法律咨询和律师对接服务。",
         "企业被外地公司拖欠账款，诉讼周期长、成本高，希望提供法律援助。"),
    ),
    "99": (
        ("企业门前道路破损影响运输", "厂区周边交通标识不清", "希望增设公交站点方便员工通勤", "园区配套设施不完善",
         "企业周边环境卫生问题"),
        ("{park}企业门前道路破损严重，大货车通行困难，雨天积水，希望尽快修复。",
         "园区员工上下班通勤不便，希望增设公交线路或站点。",
         "厂区周边缺少餐饮、住宿等生活配套，员工生活不便，希望完善园区配套设施。",
         "{town}企业周边垃圾清运不及时，影响厂区环境，希望协调处理。"),
    ),
}

OPENERS = ("", "", "", "您好，", "我是{ent}的负责人，", "反映一个问题：", "{town}企业反映：")
CLOSERS = ("", "希望尽快协调解决。", "请相关部门帮助解决，谢谢！", "恳请给予支持。", "盼复。", "企业着急，请尽快处理。")

REPLIES = {
    "resolved": ("经我局协调，{what}已落实，已电话告知企业负责人，企业表示认可。",
                 "已安排专人上门对接，{what}已办理完毕，后续如有问题可随时联系。",
                 "接到诉求后我局立即组织核实，{what}，问题已解决。"),
    "partial": ("经协调，{what}已部分落实，剩余事项需按规定程序办理，已向企业说明办理时限。",),
    "unresolved": ("经核实，企业所提诉求不符合现行政策规定，{what}暂无法办理，已向企业做好解释。",),
}
REPLY_WHAT = {
    "01": "政策申报条件和流程已向企业解读", "02": "已对接合作银行办理续贷和授信", "03": "已组织专场招聘并推送求职人员",
    "04": "已协调厂房和用地手续", "05": "审批事项已开通绿色通道加快办理", "06": "已统筹检查事项并指导企业整改",
    "07": "已协调供电、供水单位排查抢修", "08": "已指导企业依法维权", "09": "已组织双方调解", "99": "已协调有关单位处理",
}
EXPLANATIONS = ("依据现行政策文件规定，企业暂不符合申报条件；我局已上门讲解政策，并指导企业按条件准备下一年度申报。",
                "该事项涉及法定程序和时限，我局已协调相关单位压缩办理时间，并安排专人跟踪办理进度。",
                "该事项属于民事纠纷，需通过司法途径解决；我局已协调司法所提供调解和法律援助。")

# category -> lead departments: (name fragments to match, weight)
LEADS: dict[str, tuple[tuple[tuple[str, ...], float], ...]] = {
    "01": ((("发展和改革", "发改"), 0.45), (("工业和信息化", "工信"), 0.45), (("商务",), 0.1)),
    "02": ((("财政",), 0.55), (("工业和信息化", "工信"), 0.45)),
    "03": ((("人力资源", "人社"), 1.0),),
    "04": ((("自然资源",), 0.85), (("住房和城乡建设", "住建"), 0.15)),
    "05": ((("行政审批",), 0.85), (("市场监督", "市场监管"), 0.15)),
    "06": ((("市场监督", "市场监管"), 0.8), (("生态环境",), 0.2)),
    "07": ((("工业和信息化", "工信"), 0.65), (("住房和城乡建设", "住建"), 0.35)),
    "08": ((("市场监督", "市场监管"), 0.85), (("科学技术", "科技"), 0.15)),
    "09": ((("司法",), 0.6), (("商务",), 0.4)),
    "99": ((("住房和城乡建设", "住建"), 0.5), (("商务",), 0.5)),
}
CATEGORY_WEIGHTS = {"01": 14, "02": 14, "03": 12, "04": 10, "05": 12, "06": 9, "07": 12, "08": 4, "09": 9, "99": 4}
CHANNELS = (("portal", 40), ("hotline", 14), ("liaison_group", 12), ("visit", 12), ("meeting", 8), ("12345", 14))
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高钟谢曾赖邱温"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰涛明超华平刚辉建国志红英俊峰霞"

# ------------------------------------------------------------------------------------- simulation


@dataclass
class Plan:
    """What is going to happen to one appeal (drawn when it is created)."""

    idx: int
    enterprise: Any
    category: str
    channel: str
    urgent: bool
    title: str
    content: str
    lead: Any
    wrong_lead: Any = None
    assists: list[Any] = field(default_factory=list)
    late: bool = False
    extension: bool = False
    result: str = "resolved"
    ratings: list[str] = field(default_factory=list)  # one per reply; "" = never rated
    reopen: bool = True
    follow_up: bool = False
    supervise: bool = False
    duplicate_of: Plan | None = None
    meeting_no: int | None = None
    appeal_id: int | None = None
    replies: int = 0


class _Sim:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.queue: list[tuple[dt.datetime, int, str, Any]] = []
        self.seq = itertools.count()

    def at(self, when: dt.datetime, step: str, obj: Any) -> None:
        heapq.heappush(self.queue, (when, next(self.seq), step, obj))


def _tz() -> dt.tzinfo:
    return timezone.get_current_timezone()


def _moment(day: dt.date, hour: float) -> dt.datetime:
    h = int(hour)
    m = int((hour - h) * 60)
    return dt.datetime(day.year, day.month, day.day, h, m, tzinfo=_tz())


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def _phone(rng: random.Random) -> str:
    return rng.choice(("138", "139", "135", "186", "187", "159", "177", "199")) + f"{rng.randrange(10**8):08d}"


def _match(depts: list[Any], fragments: tuple[str, ...]) -> Any:
    for d in depts:
        if any(f in d.name or (d.short_name and f in d.short_name) for f in fragments):
            return d
    return None


def build_appeal_history(*, seed: int = 2026, count: int = 1500, today: dt.date | None = None,
                         stdout: Any = None) -> dict[str, Any]:
    """Simulate a year (up to ``today``) of ``count`` appeals for the county in the database (the
    demo county of :func:`yingshang.core.demo.build_demo_county`, or any county with departments,
    a dispatcher and active enterprises).  Returns counts of what was written."""
    try:
        import time_machine
    except ImportError as exc:  # a test extra; the demo history needs it
        raise RuntimeError("build_appeal_history needs the time-machine package") from exc

    from django.contrib.auth.hashers import make_password

    from yingshang.core import workdays
    from yingshang.core.audit import Entry, audit_record_many
    from yingshang.core.models import Department, Role, User
    from yingshang.enterprises import industries
    from yingshang.enterprises.models import Enterprise

    from . import services
    from .defaults import ensure_default_categories
    from .models import Appeal, Category, Extension, Meeting

    if count < 0:
        raise ValueError("count must be >= 0")
    started = time.monotonic()
    rng = random.Random(f"{seed}:appeals")
    names = random.Random(f"{seed}:appeal-people")
    real_now = timezone.now()
    today = today or timezone.localdate()
    end = min(real_now, _moment(today, 23.99)) if today == timezone.localdate() else _moment(today, 23.99)
    start = today - dt.timedelta(days=365)
    counts: Counter = Counter()
    if count == 0:
        return {"appeals": 0}

    # ---- reference data
    ensure_default_categories()
    cats = {c.code: c for c in Category.objects.filter(active=True)}
    depts = list(Department.objects.order_by("id"))
    office = next((d for d in depts if d.is_office), None)
    workers = [d for d in depts if not d.is_office] or depts
    if not workers:
        raise RuntimeError("no departments: build the demo county first")
    leads: dict[str, list[tuple[Any, float]]] = {}
    for code in cats:
        found = [(d, w) for frags, w in LEADS.get(code, LEADS["99"]) if (d := _match(workers, frags))]
        leads[code] = found or [(workers[0], 1.0)]
    dispatcher = User.objects.filter(role=Role.DISPATCHER, is_active=True).order_by("id").first()
    leader = User.objects.filter(role=Role.LEADER, is_active=True).order_by("id").first()

    # ---- enterprises raising appeals, and the accounts the simulation acts as
    ents = list(Enterprise.objects.filter(status=Enterprise.Status.ACTIVE, registered_on__lt=start)
                .select_related("region", "park").order_by("id"))
    if not ents:
        ents = list(Enterprise.objects.filter(status=Enterprise.Status.ACTIVE).select_related("region", "park")
                    .order_by("id"))
    if not ents:
        raise RuntimeError("no active enterprises: build the demo county first")
    with_accounts = set(User.objects.filter(role=Role.ENTERPRISE, enterprise__isnull=False)
                        .values_list("enterprise_id", flat=True))
    weights = [(6.0 if e.pk in with_accounts else 1.0) * {"company": 4.0, "individual": 1.0}.get(e.kind, 0.6)
               for e in ents]
    pool_size = min(len(ents), max(20, count // 4))
    pool: list[Any] = []
    seen: set[int] = set()
    for e in sorted((e for e in ents if e.pk in with_accounts), key=lambda e: e.pk):
        pool.append(e)
        seen.add(e.pk)
    while len(pool) < pool_size:
        e = rng.choices(ents, weights=weights, k=1)[0]
        if e.pk not in seen:
            seen.add(e.pk)
            pool.append(e)
    pool_weights = [rng.paretovariate(1.6) * (5 if e.pk in with_accounts else 1) for e in pool]

    password = make_password(__import__("django.conf", fromlist=["settings"]).settings.DEMO_PASSWORD)
    new_users: list[Any] = []
    staff: dict[tuple[int, str], Any] = {}
    for u in User.objects.filter(role__in=[Role.HANDLER, Role.HEAD], is_active=True).order_by("id"):
        staff.setdefault((u.department_id, u.role), u)
    used_depts = {d.pk: d for d in workers}  # leads and assisting departments
    if dispatcher is None:
        home = office or workers[0]
        dispatcher = User(username="dispatcher_demo", role=Role.DISPATCHER, full_name=_name(names),
                          department=home, is_demo=True, password=password)
        new_users.append(dispatcher)
    for d in used_depts.values():
        for role in (Role.HANDLER, Role.HEAD):
            if (d.pk, role) not in staff:
                u = User(username=f"{role}_{d.code.lower()}", role=role, full_name=_name(names), phone=_phone(names),
                         department=d, is_demo=True, password=password)
                if User.objects.filter(username=u.username).exists():
                    u.username = f"{u.username}_{d.pk}"
                staff[(d.pk, role)] = u
                new_users.append(u)
    ent_user: dict[int, Any] = {}
    for u in User.objects.filter(role=Role.ENTERPRISE, enterprise_id__in=[e.pk for e in pool]).order_by("id"):
        ent_user.setdefault(u.enterprise_id, u)
    for e in pool:
        if e.pk not in ent_user:
            u = User(username=f"ent_{e.uscc.lower()}", role=Role.ENTERPRISE, full_name=e.contact_name or _name(names),
                     phone=e.contact_phone, enterprise=e, is_demo=True, password=password)
            ent_user[e.pk] = u
            new_users.append(u)
    if new_users:
        with transaction.atomic():
            User.objects.bulk_create(new_users)
            if new_users[0].pk is None:
                by_name = dict(User.objects.filter(username__in=[u.username for u in new_users])
                               .values_list("username", "pk"))
                for u in new_users:
                    u.pk = by_name[u.username]
            audit_record_many(actor=None, entries=[
                Entry("demo.seed", "core.User", str(u.pk), u.username,
                      after={"username": u.username, "role": u.role, "department_id": u.department_id,
                             "enterprise_id": u.enterprise_id}) for u in new_users])
        counts["users_created"] = len(new_users)

    # ---- plans
    ind_names: dict[str, str] = {}

    def ind_of(e: Any) -> str:
        if e.industry_code not in ind_names:
            ind = industries.get(e.industry_code)
            ind_names[e.industry_code] = (ind.name if ind else "").removesuffix("制造").removesuffix("业")[:8] or "生产"
        return ind_names[e.industry_code]

    def write_text(e: Any, code: str, day: dt.date) -> tuple[str, str]:
        town = e.region.name if e.region_id else "本地"
        slots = {"town": town, "ind": ind_of(e), "park": e.park.name if e.park_id else town, "n": rng.randint(2, 5),
                 "m": rng.randint(1, 12), "amt": rng.choice((50, 80, 100, 200, 300, 500, 800)), "year": day.year - 1,
                 "ent": e.name}
        titles, contents = TEXTS.get(code, TEXTS["99"])
        title = rng.choice(titles).format(**slots)
        body = rng.choice(OPENERS).format(**slots) + rng.choice(contents).format(**slots)
        if rng.random() < 0.15:  # a second, related matter mentioned in passing (real appeals are messy)
            other = rng.choice([c for c in TEXTS if c != code])
            body += "另外，" + rng.choice(TEXTS[other][1]).format(**slots)
        body += rng.choice(CLOSERS)
        return title, body

    codes = [c for c in CATEGORY_WEIGHTS if c in cats] or list(cats)
    cweights = [CATEGORY_WEIGHTS.get(c, 4) for c in codes]
    ch_names, ch_weights = zip(*CHANNELS)
    sim = _Sim(rng)
    n_meeting = 0
    meetings: dict[int, dict[str, Any]] = {}
    days = [start + dt.timedelta(days=i) for i in range(1, 366)]
    # more appeals lately (the platform is catching on), and a busier last fortnight: an open tail
    day_weights = [(1.0 if d.weekday() < 5 else 0.25) * (0.8 + 0.4 * i / 365) * (3.0 if (today - d).days < 14 else 1.0)
                   for i, d in enumerate(days)]
    plans: list[Plan] = []
    i = 0
    while i < count:
        channel = rng.choices(ch_names, weights=ch_weights, k=1)[0]
        if channel == "meeting":  # a meeting brings 3-6 appeals at once
            n_meeting += 1
            day = rng.choices(days[:-3], weights=day_weights[:-3], k=1)[0]  # held, and recorded, before today
            while day.weekday() >= 5:
                day -= dt.timedelta(days=1)
            kind = rng.choice(("director", "roundtable"))
            meetings[n_meeting] = {"kind": kind, "day": day, "id": None,
                                   "title": (f"{day.month}月局长面对面（{rng.choice(workers).short_name or '部门'}专场）"
                                             if kind == "director" else
                                             f"政企圆桌会议（{rng.choice(pool).region.name}专场）")}
            sim.at(_moment(day, 14.5), "meeting", n_meeting)
            group = [(day, _moment(day, 16 + k * 0.1)) for k in range(min(rng.randint(3, 6), count - i))]
        else:
            day = rng.choices(days, weights=day_weights, k=1)[0]
            if channel != "portal" and channel != "12345":
                while day.weekday() >= 5:
                    day += dt.timedelta(days=1)
            hour = rng.uniform(8.5, 17.8) if channel != "portal" else rng.uniform(7, 23)
            group = [(day, _moment(day, hour))]
        for day, when in group:
            if day > today:
                day = today
            e = rng.choices(pool, weights=pool_weights, k=1)[0]
            code = rng.choices(codes, weights=cweights, k=1)[0]
            title, content = write_text(e, code, day)
            lead_opts = leads[code]
            lead = rng.choices([d for d, _w in lead_opts], weights=[w for _d, w in lead_opts], k=1)[0]
            p = Plan(idx=i, enterprise=e, category=code, channel=channel, urgent=rng.random() < 0.15, title=title,
                     content=content, lead=lead)
            if channel == "meeting":
                p.meeting_no = n_meeting
            if rng.random() < 0.05:
                p.wrong_lead = rng.choice([d for d in workers if d.pk != lead.pk] or [lead])
            if rng.random() < 0.2:
                others = [d for d in workers if d.pk != lead.pk]
                p.assists = rng.sample(others, k=min(len(others), rng.choice((1, 1, 2))))
            p.late = rng.random() < 0.12
            p.extension = rng.random() < 0.07
            r = rng.random()
            p.result = "resolved" if r < 0.8 else ("partial" if r < 0.95 else "unresolved")
            p.ratings = [_rating(rng, p.result), _rating(rng, "resolved")]
            p.reopen = rng.random() < 0.6
            p.follow_up = rng.random() < 0.1
            p.supervise = p.late and leader is not None and rng.random() < 0.4
            plans.append(p)
            sim.at(min(when, end), "submit", p)
            i += 1
            if rng.random() < 0.02 and i < count:  # the same matter raised again through another channel
                dup = Plan(idx=i, enterprise=e, category=code, channel=rng.choice(("hotline", "12345")),
                           urgent=p.urgent, title=rng.choice(("再次反映：", "")) + title, content=content,
                           lead=lead, duplicate_of=p)
                plans.append(dup)
                sim.at(min(when + dt.timedelta(hours=rng.uniform(3, 60)), end), "submit", dup)
                i += 1
    for k in range(1, 366):  # the daily sweep, early morning
        sim.at(_moment(start + dt.timedelta(days=k), 0.5), "sweep", start + dt.timedelta(days=k))

    # ---- run
    def handler_of(dept: Any) -> Any:
        return staff[(dept.pk, Role.HANDLER)] if (dept.pk, Role.HANDLER) in staff else staff[(dept.pk, Role.HEAD)]

    dept_by_id = {d.pk: d for d in depts}

    def next_work_moment(after: dt.datetime, hours: float) -> dt.datetime:
        """Roughly ``hours`` of office time after ``after`` (8:30-17:30 on working days)."""
        when = after
        left = hours
        while True:
            local = timezone.localtime(when)
            day = local.date()
            if not workdays.is_workday(day):
                when = _moment(day + dt.timedelta(days=1), 8.5)
                continue
            opening, closing = _moment(day, 8.5), _moment(day, 17.5)
            if when < opening:
                when = opening
            room = (closing - when).total_seconds() / 3600
            if room >= left:
                return when + dt.timedelta(hours=left)
            left -= max(room, 0)
            when = _moment(day + dt.timedelta(days=1), 8.5)

    def at_day(day: dt.date, lo: float = 8.6, hi: float = 17.4) -> dt.datetime:
        return _moment(day, rng.uniform(lo, hi))

    id_base = Appeal.objects.count()  # external ids stay unique when the history is built twice
    ext_rows: dict[int, Any] = {}
    meeting_ids: dict[int, Any] = {}
    counts_errors: Counter = Counter()

    def run(step: str, obj: Any, now: dt.datetime) -> None:
        if step == "sweep":
            res = services.appeal_sweep(today=obj)
            for k, v in res.items():
                counts[f"sweep_{k}"] += v
            return
        if step == "meeting":
            m = meetings[obj]
            meeting_ids[obj] = services.meeting_record(actor=dispatcher, kind=m["kind"], title=m["title"],
                                                       held_on=m["day"], host=_name(names))
            counts["meetings"] += 1
            return
        p: Plan = obj
        if step == "submit":
            e = p.enterprise
            kw: dict[str, Any] = {}
            if p.channel == "portal":
                actor = ent_user[e.pk]
            else:
                actor = dispatcher
                kw["caller"] = e.contact_name or _name(names)
            if p.channel == "meeting":
                kw["meeting"] = meeting_ids.get(p.meeting_no)
                if kw["meeting"] is None:  # its meeting fell after the end
                    return
            if p.channel == "12345":
                kw["external_system"] = "12345"
                kw["external_id"] = f"GD{timezone.localdate():%Y%m%d}{id_base + p.idx:06d}"
            a = services.appeal_submit(
                actor=actor, enterprise=e, category=cats[p.category], title=p.title, content=p.content,
                channel=p.channel, contact_name=e.contact_name or _name(names),
                contact_phone=e.contact_phone or _phone(names),
                urgency="urgent" if p.urgent else "normal", show_name=rng.random() < 0.3, **kw)
            p.appeal_id = a.pk
            counts["appeals"] += 1
            if p.duplicate_of is not None and p.duplicate_of.appeal_id:
                sim.at(next_work_moment(now, rng.uniform(0.3, 2)), "merge", p)
            else:
                sim.at(next_work_moment(now, rng.uniform(0.3, 6 if not p.urgent else 1.5)), "dispatch", p)
            return
        appeal = Appeal.objects.get(pk=p.appeal_id)
        if step == "merge":
            into = Appeal.objects.get(pk=p.duplicate_of.appeal_id)
            if into.status in (Appeal.Status.MERGED, Appeal.Status.CLOSED):
                sim.at(next_work_moment(now, 0.5), "dispatch", p)
                return
            services.appeal_merge(actor=dispatcher, duplicate=appeal, into=into)
            counts["merged"] += 1
        elif step == "dispatch":
            lead = p.wrong_lead if (p.wrong_lead is not None and appeal.return_count == 0) else p.lead
            assists = p.assists if lead is p.lead else []
            services.appeal_dispatch(actor=dispatcher, appeal=appeal, lead=lead, assists=assists,
                                     leader=leader if (p.urgent and leader) else None,
                                     commissioner=dispatcher if p.urgent else None)
            if lead is not p.lead:
                sim.at(next_work_moment(now, rng.uniform(1, 12)), "return", p)
            else:
                late_sign = rng.random() < 0.06
                sim.at(next_work_moment(now, rng.uniform(9, 20) if late_sign else rng.uniform(0.2, 5)), "sign", p)
                for d in assists:
                    sim.at(next_work_moment(now, rng.uniform(4, 30)), ("assist", d.pk), p)
        elif step == "return":
            services.appeal_return(actor=handler_of(dept_by_id[appeal.lead_department_id]), appeal=appeal,
                                   reason=f"该诉求属于{p.lead.short_name or p.lead.name}职责范围，请重新派单。")
            counts["returned"] += 1
            sim.at(next_work_moment(now, rng.uniform(0.5, 4)), "dispatch", p)
        elif step == "sign":
            services.appeal_sign(actor=handler_of(dept_by_id[appeal.lead_department_id]), appeal=appeal)
            sim.at(next_work_moment(now, rng.uniform(0.1, 1 if p.urgent else 6)), "contact", p)
        elif step == "contact":
            services.appeal_contact(actor=handler_of(dept_by_id[appeal.lead_department_id]), appeal=appeal,
                                    note=rng.choice(("已电话联系企业负责人，了解具体情况。", "已上门走访企业，现场核实诉求。",
                                                     "已与企业联系人沟通，约定办理方案。")))
            if p.extension and p.replies == 0:
                when = next_work_moment(now, rng.uniform(4, 20))
                if timezone.localtime(when).date() <= appeal.resolve_due:
                    sim.at(when, "extension", p)
                    return
            schedule_reply(p, appeal, now)
        elif isinstance(step, tuple) and step[0] == "assist":
            actor = handler_of(dept_by_id[step[1]])
            if appeal.status in (Appeal.Status.DISPATCHED, Appeal.Status.HANDLING):
                services.appeal_assist_opinion(actor=actor, appeal=appeal,
                                               text="我部门同意主办部门意见，将按职责配合做好相关工作。")
        elif step == "extension":
            ext = services.appeal_extension_request(actor=handler_of(dept_by_id[appeal.lead_department_id]), appeal=appeal,
                                                    days=rng.choice((3, 5, 10)),
                                                    reason="涉及多个单位协调，需要更多时间办理。")
            ext_rows[p.appeal_id] = ext
            sim.at(next_work_moment(now, rng.uniform(1, 8)), "extension_decide", p)
        elif step == "extension_decide":
            ext = ext_rows.pop(p.appeal_id)
            head = staff.get((appeal.lead_department_id, Role.HEAD)) or dispatcher
            approve = rng.random() < 0.85
            services.appeal_extension_decide(actor=head, extension=ext, approve=approve,
                                             note="同意延期。" if approve else "请按原期限办结。")
            counts["extensions_approved" if approve else "extensions_rejected"] += 1
            schedule_reply(p, Appeal.objects.get(pk=p.appeal_id), now)
        elif step == "supervise":
            if appeal.status in (Appeal.Status.DISPATCHED, Appeal.Status.HANDLING):
                services.appeal_supervise(actor=leader, appeal=appeal, days=rng.choice((1, 2, 3)),
                                          instruction="该诉求已超期，请主办部门抓紧办理并报告进展。")
                counts["supervised"] += 1
        elif step == "reply":
            if appeal.status != Appeal.Status.HANDLING:
                return
            result = p.result if p.replies == 0 else "resolved"
            what = REPLY_WHAT.get(p.category, REPLY_WHAT["99"])
            services.appeal_reply(actor=handler_of(dept_by_id[appeal.lead_department_id]), appeal=appeal, result=result,
                                  reply=rng.choice(REPLIES[result]).format(what=what),
                                  explanation="" if result == "resolved" else rng.choice(EXPLANATIONS))
            p.replies += 1
            rating = p.ratings[min(p.replies, len(p.ratings)) - 1]
            if rating:
                rate_due = Appeal.objects.values_list("rate_due", flat=True).get(pk=p.appeal_id)
                day = timezone.localtime(now).date() + dt.timedelta(days=rng.choice((0, 1, 1, 2, 3, 4)))
                sim.at(max(at_day(min(day, rate_due), 9, 21), now + dt.timedelta(minutes=30)), "rate", p)
        elif step == "rate":
            rating = p.ratings[p.replies - 1]
            if appeal.status != Appeal.Status.REPLIED:
                return
            comment = {"satisfied": "办理及时，非常满意。", "basic": "基本解决，希望后续继续跟进。",
                       "unsatisfied": "问题没有实际解决，不满意。"}[rating]
            appeal = services.appeal_rate(actor=ent_user[p.enterprise.pk], appeal=appeal, rating=rating,
                                          comment=comment)
            if appeal.status == Appeal.Status.REVIEW:
                sim.at(next_work_moment(now, rng.uniform(2, 16)), "review", p)
            elif p.follow_up:
                sim.at(next_work_moment(now, rng.uniform(16, 60)), "follow_up", p)
        elif step == "review":
            services.appeal_review(actor=dispatcher, appeal=appeal, reopen=p.reopen,
                                   note="企业反映问题未实际解决，退回主办部门重新办理。" if p.reopen
                                   else "经复核，答复符合政策规定，已向企业解释，予以办结。")
            counts["reopened" if p.reopen else "review_closed"] += 1
            if p.reopen:
                schedule_reply(p, Appeal.objects.get(pk=p.appeal_id), now)
        elif step == "follow_up":
            if appeal.status in (Appeal.Status.CLOSED, Appeal.Status.REPLIED):
                services.appeal_follow_up(actor=dispatcher, appeal=appeal, text="已回访企业，企业对办理结果表示认可。")
                counts["follow_ups"] += 1

    def schedule_reply(p: Plan, appeal: Any, now: dt.datetime) -> None:
        here = timezone.localtime(now).date()
        due = appeal.resolve_due or here
        if p.late and p.replies == 0:
            day = due + dt.timedelta(days=rng.randint(1, 8))
            if p.supervise:
                sim.at(at_day(due + dt.timedelta(days=1)), "supervise", p)
        else:
            span = max((due - here).days, 0)
            day = here + dt.timedelta(days=round(span * rng.betavariate(2, 1.6)))
            if day.weekday() >= 5 and day < due:
                day += dt.timedelta(days=7 - day.weekday())
                day = min(day, due)
        when = at_day(day)
        if when <= now:
            when = now + dt.timedelta(minutes=rng.randint(20, 180))
        sim.at(when, "reply", p)

    say = stdout.write if stdout is not None else (lambda _t: None)
    with time_machine.travel(sim.queue[0][0] if sim.queue else end, tick=False) as traveller:
        def progress(day: dt.date) -> None:
            if day.day == 1:
                say(f"  appeals: {day:%Y-%m} ({counts['appeals']} so far)")

        replay(sim.queue, end=end, traveller=traveller, run=run, skipped=counts_errors, on_new_day=progress)

    # people read their messages: only the last few days' notifications (before the demo's end, not the
    # wall clock: the same seed and day give the same demo) stay unread
    from django.db.models import F

    from yingshang.core.models import Notification

    Notification.objects.filter(read_at__isnull=True, created_at__lt=end - dt.timedelta(days=3)).update(
        read_at=F("created_at"))

    out: dict[str, Any] = dict(counts)
    out["skipped_steps"] = dict(counts_errors)
    out["pending_steps"] = len([q for q in sim.queue if q[2] != "sweep"])
    out["statuses"] = dict(Counter(Appeal.objects.filter(pk__in=[p.appeal_id for p in plans if p.appeal_id])
                                   .values_list("status", flat=True)))
    out["extensions"] = Extension.objects.filter(appeal_id__in=[p.appeal_id for p in plans if p.appeal_id]).count()
    out["meetings_total"] = Meeting.objects.count()
    out["seconds"] = round(time.monotonic() - started, 1)
    return out


def _rating(rng: random.Random, result: str) -> str:
    r = rng.random()
    if r < 0.2:
        return ""  # never rated: the sweep closes it
    bad = {"resolved": 0.04, "partial": 0.2, "unresolved": 0.4}[result]
    r = rng.random()
    if r < bad:
        return "unsatisfied"
    return "satisfied" if r < bad + (1 - bad) * 0.72 else "basic"

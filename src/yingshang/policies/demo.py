"""惠企政策 for the demo county and a year of believable cash-out history (``yingshang seed --policies N``).

``build_policy_demo`` writes about ten policy documents of 赣州市 and 瑞金市 (文号, issuing body,
validity, text and interpretation; one old document that expires during the year and one draft) and
about forty benefit items in the three modes — most 免申即享, then 即申即享, some 依申报, the
proportions of the reports (集中兑现惠企政策70项，其中免申即享45项、即申即享26项) — each with a
real eligibility rule and amount formula over the registry (稳岗返还 from last year's
unemployment-insurance premiums, 首次入规奖励 in tiers, 高新技术企业 and 专精特新 awards, 研发投入后补助
by R&D tiers, park rent subsidies, 招工补贴, 纳税贡献奖励 by size class …) and a budget sized the way a
policy officer sizes it: from the simulation of the rule over the registry.

It then plays a year (up to ``today``) of cash-out through the real services, with the clock moved to
each step's moment by ``time_machine``: documents published and items matched, the nightly sweeps,
免申即享 lists proposed, reviewed by the department head (a few enterprises taken off with reasons),
put on public notice (objections filed by the public, one upheld), finalised, paid in weekly batches
through the bank file and its confirmations (a couple of payments fail and are paid again once the
account is corrected), 即申即享 applications approved on the spot or refused with exactly what is
missing (a refusal stores nothing; they are counted), and 依申报 applications in every state — some
with a correction round, one revoked by an objection.  Steps that fall after now are left undone, so
the last weeks keep lists and applications in progress.  The same seed on the same county gives the
same history.  One transaction per simulated day.

``items`` is the number of benefit items published (default: the whole catalogue of 40; fewer keeps the
three modes in proportion); ``items=0`` writes nothing.  How many enterprises qualify, apply and are
paid follows from the rules over the registry: on the 20,000-entity demo county about 2,800 万元 are
paid to about 900 market entities over the year (the reports' county: 3679.5 万元 to 1,435 entities).
"""

from __future__ import annotations

import datetime as dt
import io
import math
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from yingshang.core.replay import Queue, moment, replay

PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"

# ------------------------------------------------------------------------------------- rule helpers


def V(key: str) -> dict[str, Any]:
    return {"var": key}


def LAST(figure: str) -> dict[str, Any]:
    return {"var": f"figures.{figure}.last"}


def Y2(figure: str, default: float | None = None) -> dict[str, Any]:
    key = f"figures.{figure}.y-2"
    return {"var": [key, default]} if default is not None else {"var": key}


def PREFIX(*codes: str) -> dict[str, Any]:
    return {"prefix": [V("industry_code"), list(codes)]}


COMPANY = {"==": [V("kind"), "company"]}
ABOVE = V("above_designated")
SERVICES = ("G", "I", "L", "M", "N", "O", "R")  # 规上服务业: transport, IT, leasing & business, R&D, …


def GROWTH(figure: str, ratio: float) -> dict[str, Any]:
    """Last year's figure at least ``ratio`` times the year before's."""
    return {">=": [LAST(figure), {"*": [ratio, Y2(figure)]}]}


def TIERS(value: Any, *steps: tuple[float, float], otherwise: float) -> dict[str, Any]:
    """``{"if": [value >= a, x, value >= b, y, …, otherwise]}`` (steps from the highest)."""
    args: list[Any] = []
    for threshold, amount in steps:
        args += [{">=": [value, threshold]}, amount]
    return {"if": [*args, otherwise]}


# ------------------------------------------------------------------------------------- the catalogue


@dataclass(frozen=True)
class DocSpec:
    key: str
    title: str
    issuer: str
    prefix: str  # 文号 prefix: 瑞府发 → 瑞府发〔2025〕12号
    serial: int
    timing: str  # launch | late1 | late2 | old | draft
    topics: tuple[str, ...]
    industries: tuple[str, ...]
    text: str
    interpretation: str


@dataclass(frozen=True)
class ItemSpec:
    code: str
    name: str
    mode: str  # auto_grant | instant | apply_review
    department: str
    doc: str
    period: str  # once | year
    rule: Any  # JsonLogic, or a callable of the park ids {name: id}
    amount: Any  # JsonLogic (万元) or None
    budget_wan: int  # nominal budget for a 20,000-entity county (raised when the simulation needs more)
    summary: str
    materials: tuple[tuple[str, bool], ...] = ()  # (name, required)
    uptake: float = 0.0  # share that applies: 即申即享 of the qualified, 依申报 of the companies


DOCS: tuple[DocSpec, ...] = (
    DocSpec("GZ-ZJTX", "赣州市推动专精特新中小企业高质量发展的若干措施", "赣州市人民政府", "赣市府发", 9, "launch",
            ("专精特新", "中小企业", "奖补"), ("C",),
            "为深入实施中小企业梯度培育工程，推动专精特新中小企业高质量发展，结合我市实际，制定如下措施。"
            "一、对新认定的国家级专精特新“小巨人”企业、省级专精特新中小企业分别给予奖励……",
            "本措施适用于在赣州市辖区内依法登记注册、具有独立法人资格的专精特新中小企业。奖励资金由各县（市、区）"
            "按“免申即享”方式直接兑现，企业无需申报。"),
    DocSpec("RJ-GY", "瑞金市促进工业经济高质量发展若干政策措施", "瑞金市人民政府", "瑞府发", 12, "launch",
            ("工业", "升规入统", "技术改造", "奖补"), ("C",),
            "第一条 支持企业升规入统。对首次纳入规模以上工业统计的企业给予一次性奖励。\n"
            "第二条 支持企业做大做强。对营业收入增长较快的规上工业企业给予奖励。\n"
            "第三条 支持技术改造。对企业实施的技术改造项目，按设备投资额的 8% 给予奖补，单个项目最高 200 万元。\n"
            "第四条 支持园区企业降低物流成本……",
            "《措施》共十二条，重点支持升规入统、做大做强、技术改造和数字化转型。其中首次入规奖励、营收增长奖励"
            "实行“免申即享”，由市工信局依据统计部门数据直接核定；技术改造奖补实行依申报兑现。"),
    DocSpec("RJ-KJ", "瑞金市支持科技创新若干措施", "瑞金市人民政府办公室", "瑞府办发", 21, "launch",
            ("科技创新", "高新技术企业", "研发投入"), ("C", "I65", "M"),
            "一、对首次认定的高新技术企业给予奖励，对重新认定的给予减半奖励。\n"
            "二、实施企业研发投入后补助，按上年度研发费用的一定比例给予补助，单个企业最高 50 万元……",
            "高新技术企业认定奖励和研发投入后补助实行“免申即享”；科技型中小企业研发费用补助实行“即申即享”，"
            "企业在线提交研发费用专项审计报告即可即时兑现。"),
    DocSpec("RJ-WG", "关于做好{year}年失业保险稳岗返还工作的通知", "瑞金市人力资源和社会保障局 瑞金市财政局",
            "瑞人社发", 3, "late1", ("就业", "稳岗返还", "失业保险"), (),
            "各有关单位：根据省人社厅、财政厅有关文件精神，现就做好{year}年失业保险稳岗返还工作通知如下：\n"
            "一、返还对象：上年度足额缴纳失业保险费且未裁员或裁员率不高于 5.5%（参保职工 30 人及以下的企业"
            "裁员率不高于 20%）的企业。\n二、返还标准：中小微企业按上年度实际缴纳失业保险费的 60% 返还，大型企业按 30% 返还……",
            "稳岗返还实行“免申即享”：人社部门通过失业保险数据比对筛选符合条件的企业，经公示无异议后直接拨付至企业"
            "对公账户，企业无需提交任何材料。"),
    DocSpec("RJ-JY", "瑞金市进一步稳就业促创业若干措施", "瑞金市人民政府", "瑞府发", 18, "launch",
            ("就业", "创业", "招工"), (),
            "一、支持企业稳定就业岗位。二、支持企业扩大招工，对新招用本地劳动者的企业给予招工补贴。"
            "三、鼓励创业，对首次创办市场主体的给予一次性创业补贴……",
            "招工补贴、一次性创业补贴、吸纳高校毕业生社保补贴实行“即申即享”，系统比对社保和登记数据后即时核准；"
            "职业技能培训补贴依申报审核后兑现。"),
    DocSpec("RJ-SM", "瑞金市促进商贸流通和消费提质若干措施", "瑞金市人民政府办公室", "瑞府办发", 30, "launch",
            ("商贸", "消费", "电子商务"), ("F", "H"),
            "一、支持商贸企业升限入库。二、支持限上企业扩大销售。三、支持住宿餐饮企业稳增长。"
            "四、支持企业参加展会、发展电子商务……",
            "升限入库奖励、销售增长奖励、限上住宿餐饮奖励由市商务局依据统计数据“免申即享”；参展补贴、网络零售"
            "奖励“即申即享”。"),
    DocSpec("RJ-YQ", "瑞金经济技术开发区 瑞金高新技术产业园标准厂房租金补贴实施办法", "瑞金经济技术开发区管理委员会",
            "瑞经开管发", 5, "launch", ("园区", "标准厂房", "租金补贴"), ("C", "I", "M"),
            "第一条 为加快园区标准厂房招商，降低入园企业生产经营成本，制定本办法。\n"
            "第二条 对入驻园区标准厂房、投产不满五年的工业企业和科技型企业，按年度给予租金补贴……",
            "租金补贴按企业上年度营业收入分档，每年核定一次，实行“免申即享”，由园区直接兑现。"),
    DocSpec("RJ-JZ", "瑞金市促进建筑业高质量发展若干措施", "瑞金市人民政府", "瑞府发", 25, "launch",
            ("建筑业", "升规入统", "资质"), ("E",),
            "一、对首次纳入规模以上统计的建筑业企业给予奖励。二、对产值增长较快的建筑业企业给予奖励。"
            "三、支持建筑业企业资质升级……",
            "建筑业首次升规奖励、产值增长奖励“免申即享”；资质升级奖励“即申即享”，企业上传新资质证书即可兑现。"),
    DocSpec("RJ-SC", "瑞金市支持市场主体纾困发展若干措施", "瑞金市人民政府", "瑞府发", 2, "late2",
            ("纾困", "纳税", "服务业", "上市"), (),
            "一、对纳税贡献突出的企业给予奖励。二、对小微企业贷款给予贴息。三、支持服务业企业升规入统和做大做强。"
            "四、支持企业上市挂牌。五、支持质量品牌建设和环保设施升级改造……",
            "纳税贡献奖励、服务业升规和增长奖励“免申即享”；小微企业贷款贴息“即申即享”；上市挂牌奖励、质量品牌"
            "奖励、环保设施改造补助依申报兑现。"),
    DocSpec("RJ-OLD", "瑞金市促进工业经济平稳增长若干措施", "瑞金市人民政府", "瑞府发", 9, "old",
            ("工业", "稳增长"), ("C",),
            "一、对满负荷生产的规上工业企业给予奖励。二、对园区内稳定用工的企业给予奖励。本措施有效期至{expires}。",
            "本措施到期后不再执行，相关支持政策由《瑞金市促进工业经济高质量发展若干政策措施》承接。"),
    DocSpec("RJ-SZ", "瑞金市支持数字经济发展若干措施（征求意见稿）", "瑞金市人民政府", "", 0, "draft",
            ("数字经济",), ("I",), "一、支持数字经济企业入驻……", ""),
)


def _park_rule(*names: str, extra: list[Any]) -> Callable[[dict[str, int]], Any]:
    def build(parks: dict[str, int]) -> Any:
        ids = [parks[n] for n in names if n in parks]
        return {"and": [{"in": [V("park"), ids or [0]]}, *extra]}

    return build


ECON_PARK, TECH_PARK = "瑞金经济技术开发区", "瑞金高新技术产业园"
REV, EMP = "revenue_wan", "employees"
RENT = TIERS(LAST(REV), (2000, 2), (500, 1), otherwise=0.5)

ITEMS: tuple[ItemSpec, ...] = (
    # ---- 免申即享
    ItemSpec("GX-RG", "规上工业企业首次入规奖励", "auto_grant", "GXJ", "RJ-GY", "once",
             {"and": [PREFIX("C"), ABOVE, {"<": [Y2(REV, 0), 2000]}]},
             TIERS(LAST(REV), (10000, 10), (5000, 8), otherwise=5), 150,
             "首次纳入规模以上工业统计的企业，按上年度营业收入分档给予一次性奖励：1 亿元以上 10 万元，"
             "5000 万元以上 8 万元，其余 5 万元。"),
    ItemSpec("GX-ZZ", "规上工业企业营业收入增长奖励", "auto_grant", "GXJ", "RJ-GY", "year",
             {"and": [PREFIX("C"), ABOVE, {">=": [Y2(REV), 2000]}, GROWTH(REV, 1.15)]},
             {"if": [GROWTH(REV, 1.3), 5, GROWTH(REV, 1.2), 3, 2]}, 100,
             "规上工业企业上年度营业收入增长 15% 以上的，按增幅分档奖励 2 万至 5 万元。"),
    ItemSpec("GX-YY", "工业企业营业收入首次突破亿元奖励", "auto_grant", "GXJ", "RJ-GY", "once",
             {"and": [PREFIX("C"), {">=": [LAST(REV), 10000]}, {"<": [Y2(REV, 0), 10000]}]}, 10, 60,
             "工业企业上年度营业收入首次突破 1 亿元的，一次性奖励 10 万元。"),
    ItemSpec("GX-XJ", "新投产园区工业企业奖励", "auto_grant", "GXJ", "RJ-GY", "once",
             _park_rule(ECON_PARK, TECH_PARK, extra=[PREFIX("C"), COMPANY, {"<=": [V("years_registered"), 2]},
                                                    {">=": [LAST(REV), 500]}]), 2, 80,
             "入园两年内投产、上年度营业收入 500 万元以上的工业企业，一次性奖励 2 万元。"),
    ItemSpec("GX-WL", "园区工业企业物流费用补贴", "auto_grant", "GXJ", "RJ-GY", "year",
             _park_rule(ECON_PARK, TECH_PARK, extra=[PREFIX("C"), {">=": [LAST(REV), 1000]}]),
             {"min": [{"*": [0.0003, LAST(REV)]}, 3]}, 100,
             "园区内上年度营业收入 1000 万元以上的工业企业，按营业收入的 0.3‰ 给予物流费用补贴，最高 3 万元。"),
    ItemSpec("GX-ZX", "专精特新中小企业奖励", "auto_grant", "GXJ", "GZ-ZJTX", "once",
             {"and": [V("is_specialized"), COMPANY]}, {"if": [ABOVE, 1.5, 1]}, 120,
             "经认定的专精特新中小企业，规上企业奖励 1.5 万元，其他企业奖励 1 万元。"),
    ItemSpec("KJ-GX", "高新技术企业认定奖励", "auto_grant", "KJJ", "RJ-KJ", "once",
             {"and": [V("is_high_tech"), COMPANY]}, {"if": [{"<=": [V("years_registered"), 5]}, 2, 0.5]}, 150,
             "对认定（含重新认定）的高新技术企业给予奖励：成立 5 年内首次认定的 2 万元，其余 5000 元。"),
    ItemSpec("KJ-YF", "企业研发投入后补助", "auto_grant", "KJJ", "RJ-KJ", "year",
             {"and": [COMPANY, {">=": [LAST("rd_wan"), 50]}]},
             {"min": [{"*": [LAST("rd_wan"), TIERS(LAST("rd_wan"), (500, 0.01), (100, 0.008), otherwise=0.005)]}, 5]},
             150, "上年度研发投入 50 万元以上的企业，按研发投入分档补助：500 万元以上 1%，100 万元以上 0.8%，其余 0.5%，"
                  "最高 5 万元。"),
    ItemSpec("KJ-PY", "科技型中小企业培育奖励", "auto_grant", "KJJ", "RJ-KJ", "once",
             {"and": [COMPANY, {"!": V("is_high_tech")}, PREFIX("C", "I65", "M"), {">=": [LAST("rd_wan"), 10]},
                      {"in": [V("size_class"), ["中型", "小型", "微型"]]}]}, 1, 60,
             "上年度研发投入 10 万元以上、尚未认定为高新技术企业的科技型中小企业，一次性奖励 1 万元。"),
    ItemSpec("RS-WG", "失业保险稳岗返还", "auto_grant", "RSJ", "RJ-WG", "year",
             {"and": [COMPANY, {">=": [LAST("unemployment_insurance_wan"), 1]},
                      {"or": [{"==": [LAST("layoffs"), 0]},
                              {"<=": [{"/": [LAST("layoffs"), LAST(EMP)]}, 0.055]},
                              {"and": [{"<=": [LAST(EMP), 30]}, {"<=": [{"/": [LAST("layoffs"), LAST(EMP)]}, 0.2]}]}]}]},
             {"min": [{"*": [{"if": [{"==": [V("size_class"), "大型"]}, 0.3, 0.6]},
                            LAST("unemployment_insurance_wan")]}, 2]}, 300,
             "上年度缴纳失业保险费 1 万元以上的企业，中小微企业按实际缴纳失业保险费的 60%、大型企业按 30% 返还，"
             "单个企业最高 2 万元。"),
    ItemSpec("RS-JY", "稳就业贡献奖励", "auto_grant", "RSJ", "RJ-JY", "year",
             {"and": [COMPANY, {">=": [LAST(EMP), 150]}, {"==": [LAST("layoffs"), 0]}]},
             TIERS(LAST(EMP), (500, 3), (300, 2), otherwise=1), 100,
             "上年度从业人员 150 人以上且未裁员的企业，按用工规模奖励 1 万至 3 万元。"),
    ItemSpec("SW-XS", "商贸企业首次升限入库奖励", "auto_grant", "SWUJ", "RJ-SM", "once",
             {"and": [ABOVE, {"or": [{"and": [PREFIX("51"), {"<": [Y2(REV, 0), 2000]}]},
                                     {"and": [PREFIX("52"), {"<": [Y2(REV, 0), 500]}]},
                                     {"and": [PREFIX("61", "62"), {"<": [Y2(REV, 0), 200]}]}]}]}, 5, 100,
             "首次纳入限额以上统计的批发、零售、住宿、餐饮企业，一次性奖励 5 万元。"),
    ItemSpec("SW-ZZ", "限上商贸企业销售增长奖励", "auto_grant", "SWUJ", "RJ-SM", "year",
             {"and": [ABOVE, PREFIX("51", "52"), GROWTH(REV, 1.1)]},
             {"min": [{"*": [0.005, {"-": [LAST(REV), Y2(REV)]}]}, 10]}, 120,
             "限上批发零售企业上年度销售额增长 10% 以上的，按增量的 0.5% 奖励，最高 10 万元。"),
    ItemSpec("SW-ZC", "限上住宿餐饮企业稳增长奖励", "auto_grant", "SWUJ", "RJ-SM", "year",
             {"and": [ABOVE, PREFIX("61", "62"), {">=": [LAST(REV), Y2(REV)]}]}, 3, 40,
             "限上住宿餐饮企业上年度营业额不低于前一年度的，奖励 3 万元。"),
    ItemSpec("YQ-JK", "经开区标准厂房租金补贴", "auto_grant", "GXJ", "RJ-YQ", "year",
             _park_rule(ECON_PARK, extra=[PREFIX("C"), {"<=": [V("years_registered"), 5]}]), RENT, 250,
             "入驻经开区标准厂房、投产不满五年的工业企业，按上年度营业收入分档补贴租金 5000 元至 2 万元。"),
    ItemSpec("YQ-GX", "高新园标准厂房租金补贴", "auto_grant", "GXJ", "RJ-YQ", "year",
             _park_rule(TECH_PARK, extra=[PREFIX("C", "I", "M"), {"<=": [V("years_registered"), 5]}]), RENT, 150,
             "入驻高新园标准厂房、投产不满五年的工业企业和科技型企业，按上年度营业收入分档补贴租金 5000 元至 2 万元。"),
    ItemSpec("ZJ-SG", "建筑业企业首次升规奖励", "auto_grant", "ZJJ", "RJ-JZ", "once",
             {"and": [PREFIX("E"), ABOVE, {"<": [V("years_registered"), 3]}]}, 5, 60,
             "首次纳入规模以上统计的建筑业企业，一次性奖励 5 万元。"),
    ItemSpec("ZJ-ZZ", "建筑业企业产值增长奖励", "auto_grant", "ZJJ", "RJ-JZ", "year",
             {"and": [PREFIX("E"), ABOVE, GROWTH(REV, 1.1)]},
             TIERS(LAST(REV), (50000, 10), (10000, 5), otherwise=2), 100,
             "规上建筑业企业上年度产值增长 10% 以上的，按产值规模奖励 2 万至 10 万元。"),
    ItemSpec("CZ-NS", "纳税贡献奖励", "auto_grant", "CZJ", "RJ-SC", "year",
             {"and": [COMPANY, {">=": [LAST("taxes_wan"), 100]}]},
             {"if": [{"in": [V("size_class"), ["大型", "中型"]]}, {"min": [{"*": [0.003, LAST("taxes_wan")]}, 5]},
                     {"min": [{"*": [0.006, LAST("taxes_wan")]}, 3]}]}, 150,
             "上年度纳税 100 万元以上的企业，大中型企业按纳税额的 3‰（最高 5 万元）、小微企业按 6‰（最高 3 万元）奖励。"),
    ItemSpec("FG-FW", "规上服务业企业首次入规奖励", "auto_grant", "FGJ", "RJ-SC", "once",
             {"and": [ABOVE, PREFIX(*SERVICES), {"<": [Y2(REV, 0), 2000]}]}, 3, 60,
             "首次纳入规模以上统计的服务业企业，一次性奖励 3 万元。"),
    ItemSpec("FG-FZ", "规上服务业企业营收增长奖励", "auto_grant", "FGJ", "RJ-SC", "year",
             {"and": [ABOVE, PREFIX(*SERVICES), GROWTH(REV, 1.15)]}, 3, 60,
             "规上服务业企业上年度营业收入增长 15% 以上的，奖励 3 万元。"),
    ItemSpec("LS-MF", "工业企业满负荷生产奖励", "auto_grant", "GXJ", "RJ-OLD", "year",
             {"and": [PREFIX("C"), ABOVE, {">=": [LAST(REV), Y2(REV)]}]},
             TIERS(LAST(REV), (10000, 3), (5000, 2), otherwise=1), 150,
             "规上工业企业上年度营业收入不低于前一年度的，按规模奖励 1 万至 3 万元。"),
    ItemSpec("LS-WG", "园区企业稳岗用工奖励", "auto_grant", "RSJ", "RJ-OLD", "year",
             _park_rule(ECON_PARK, TECH_PARK, extra=[COMPANY, {">=": [LAST(EMP), 50]}, {"==": [LAST("layoffs"), 0]}]),
             1, 80, "园区内上年度从业人员 50 人以上且未裁员的企业，奖励 1 万元。"),
    # ---- 即申即享
    ItemSpec("GX-SZ", "中小企业数字化转型补贴", "instant", "GXJ", "RJ-GY", "year",
             {"and": [PREFIX("C"), {"in": [V("size_class"), ["中型", "小型"]]}, {">=": [LAST(REV), 500]}]}, 3, 60,
             "规模以上或营业收入 500 万元以上的中小工业企业实施数字化改造的，补贴 3 万元。",
             (("数字化改造服务合同", True), ("服务费发票", True)), 0.1),
    ItemSpec("GX-ZL", "工业企业质量管理体系认证补助", "instant", "GXJ", "RJ-GY", "once",
             {"and": [PREFIX("C"), COMPANY, {">=": [LAST(REV), 200]}]}, 1, 30,
             "首次通过质量管理体系认证的工业企业，补助 1 万元。", (("质量管理体系认证证书", True),), 0.04),
    ItemSpec("KJ-KX", "科技型中小企业研发费用补助", "instant", "KJJ", "RJ-KJ", "year",
             {"and": [COMPANY, {">=": [LAST("rd_wan"), 10]}, {"in": [V("size_class"), ["中型", "小型", "微型"]]}]},
             {"min": [{"*": [0.03, LAST("rd_wan")]}, 3]}, 60,
             "上年度研发费用 10 万元以上的科技型中小企业，按研发费用的 3% 补助，最高 3 万元。",
             (("研发费用专项审计报告", True),), 0.15),
    ItemSpec("RS-ZG", "企业招工补贴", "instant", "RSJ", "RJ-JY", "year",
             {"and": [COMPANY, {">=": [{"-": [LAST(EMP), Y2(EMP)]}, 5]}]},
             {"min": [{"*": [0.1, {"-": [LAST(EMP), Y2(EMP)]}]}, 10]}, 100,
             "上年度净增从业人员 5 人以上的企业，按每人 1000 元给予招工补贴，最高 10 万元。",
             (("新招用人员花名册", True), ("劳动合同", True)), 0.2),
    ItemSpec("RS-CY", "一次性创业补贴", "instant", "RSJ", "RJ-JY", "once",
             {"and": [{"in": [V("kind"), ["individual", "company"]]}, {"<": [V("years_registered"), 2]}]}, 0.5, 60,
             "首次创办个体工商户或小微企业、登记未满两年且正常经营的，给予一次性创业补贴 5000 元。",
             (("创业者身份证明", True), ("经营场所证明", True)), 0.01),
    ItemSpec("RS-GX", "吸纳高校毕业生社保补贴", "instant", "RSJ", "RJ-JY", "year",
             {"and": [COMPANY, {"in": [V("size_class"), ["小型", "微型"]]}, {">=": [LAST(EMP), 3]}]}, 0.6, 60,
             "小微企业吸纳离校两年内高校毕业生并缴纳社会保险的，给予社会保险补贴 6000 元。",
             (("高校毕业生花名册及毕业证书", True), ("社会保险缴费明细", True)), 0.008),
    ItemSpec("RS-JX", "就业见习补贴", "instant", "RSJ", "RJ-JY", "year",
             {"and": [COMPANY, {">=": [LAST(EMP), 10]}]}, 0.3, 30,
             "接收高校毕业生就业见习的企业，给予见习补贴 3000 元。", (("见习协议", True), ("见习人员名单", True)), 0.01),
    ItemSpec("SW-ZH", "商贸企业参展补贴", "instant", "SWUJ", "RJ-SM", "year",
             {"and": [COMPANY, PREFIX("51", "52")]}, 1, 30,
             "商贸企业参加市级以上重点展会的，补贴展位费 1 万元。", (("参展合同", True), ("展位费发票", True)), 0.015),
    ItemSpec("SW-DS", "电子商务企业网络零售奖励", "instant", "SWUJ", "RJ-SM", "year",
             {"and": [COMPANY, PREFIX("52"), {">=": [LAST(REV), 100]}]},
             {"min": [{"*": [0.003, LAST(REV)]}, 5]}, 40,
             "开展网络零售的零售企业，按上年度营业收入的 3‰ 奖励，最高 5 万元。", (("电商平台店铺销售证明", True),), 0.06),
    ItemSpec("ZJ-ZZ2", "建筑业企业资质升级奖励", "instant", "ZJJ", "RJ-JZ", "once",
             {"and": [COMPANY, V("has_construction_qualification")]}, 5, 40,
             "建筑业企业资质升级的，奖励 5 万元。", (("新资质证书", True),), 0.15),
    ItemSpec("CZ-TX", "小微企业贷款贴息", "instant", "CZJ", "RJ-SC", "year",
             {"and": [COMPANY, {"in": [V("size_class"), ["小型", "微型"]]}]}, 1, 60,
             "小微企业上年度流动资金贷款按实际付息额的 50% 贴息，每户 1 万元。",
             (("贷款合同", True), ("付息凭证", True), ("银行对账单", False)), 0.006),
    # ---- 依申报
    ItemSpec("GX-JG", "工业企业技术改造项目奖补", "apply_review", "GXJ", "RJ-GY", "year",
             {"and": [PREFIX("C"), COMPANY]}, None, 500,
             "按技术改造项目设备投资额的 8% 给予奖补，单个项目最高 200 万元。",
             (("技术改造项目备案证明", True), ("设备购置发票及付款凭证", True), ("项目竣工验收报告", True),
              ("设备清单", False)), 0.003),
    ItemSpec("KJ-ZL", "知识产权（发明专利）奖励", "apply_review", "KJJ", "RJ-KJ", "year",
             {"and": [COMPANY]}, None, 50,
             "企业获得发明专利授权的，每件奖励 1 万元，每家企业每年最高 10 万元。",
             (("发明专利证书", True), ("专利年费缴纳凭证", False)), 0.002),
    ItemSpec("RS-PX", "职业技能培训补贴", "apply_review", "RSJ", "RJ-JY", "year",
             {"and": [COMPANY]}, None, 60,
             "企业组织职工参加职业技能培训并取得职业技能等级证书的，按每人 1000 元至 2000 元给予培训补贴。",
             (("培训计划及花名册", True), ("职业技能等级证书", True), ("培训费用发票", True)), 0.002),
    ItemSpec("FG-SS", "企业上市挂牌奖励", "apply_review", "FGJ", "RJ-SC", "once",
             {"and": [COMPANY, {">=": [LAST(REV), 2000]}]}, None, 200,
             "企业在境内外证券交易所上市的奖励 300 万元，在新三板、区域性股权市场挂牌的分别奖励 50 万元、10 万元。",
             (("上市（挂牌）证明文件", True), ("中介机构服务协议", True)), 0.0005),
    ItemSpec("SC-PP", "质量品牌奖励", "apply_review", "SCJG", "RJ-SC", "year",
             {"and": [COMPANY]}, None, 50,
             "获得省长质量奖、“赣出精品”认定等质量品牌荣誉的企业，给予 5 万元至 20 万元奖励。",
             (("获奖证书或认定文件", True),), 0.0008),
    ItemSpec("HB-GZ", "企业环保设施升级改造补助", "apply_review", "STHJJ", "RJ-SC", "year",
             {"and": [PREFIX("B", "C", "D"), COMPANY]}, None, 100,
             "企业实施环保设施升级改造的，按实际投资额的 10% 给予补助，最高 30 万元。",
             (("环评批复文件", True), ("改造项目验收报告", True), ("投资凭证", True)), 0.0015),
)

DRAFT_ITEM = ItemSpec("SZ-RZ", "数字经济企业入驻奖励", "instant", "GXJ", "RJ-SZ", "once",
                      {"and": [COMPANY, PREFIX("I65")]}, 3, 50, "入驻数字经济产业园的软件和信息技术服务企业，奖励 3 万元。",
                      (("入驻协议", True),))

#: GX-JG … the 依申报 items: the amounts reviewers grant (万元), picked per application
REVIEW_AMOUNTS: dict[str, tuple[float, ...]] = {
    "GX-JG": (3, 5, 8, 12, 16, 24, 32), "KJ-ZL": (1, 1, 2, 2, 3, 5), "RS-PX": (0.3, 0.6, 1, 1.5, 2.4, 3),
    "FG-SS": (10, 10, 10, 50), "SC-PP": (5, 5, 10, 20), "HB-GZ": (3, 5, 8, 12, 20, 30),
}
EXCLUDE_REASONS = ("该企业已享受同类奖补政策，按“就高不重复”原则不再兑现。", "经核查，该企业上年度发生一般生产安全事故，暂缓兑现。",
                   "该企业已迁出本市，不再符合属地条件。", "该企业被列为失信被执行人，依规不予兑现。",
                   "企业书面申请放弃本次奖补。", "统计数据存在差错，待核实后另行兑现。")
OBJECTIONS = (("该企业去年曾发生欠薪纠纷，是否符合条件请核实。", False, "经核实，欠薪纠纷已于去年妥善处理，不影响本次兑现。"),
              ("该企业实际已停产半年，营业收入数据不实。", True, "经现场核查，企业已停产，统计数据存在虚报，取消兑现资格。"),
              ("该企业与名单中另一企业为同一实际控制人，存在重复享受问题。", False, "经核查，两家企业独立经营、独立核算，不属于重复享受。"))
APP_OBJECTION = ("该项目设备为二手设备翻新，投资额存在虚报。", "经核实异议属实，撤销审核通过决定。")
NOT_ACCEPT_REASONS = ("申报事项不属于本政策支持范围，已告知企业改报其他事项。", "企业已就同一项目享受市级资金支持，不予重复受理。")
REJECT_REASONS = ("经审核，项目实际投资额未达到政策规定的最低标准。", "申报材料与现场核查情况不符，不予批准。",
                  "项目未在政策规定的时间内完成竣工验收。")
APPROVE_REASONS = ("经审核，申报材料齐全，符合政策规定条件，同意兑现。", "经现场核查，项目已建成投产，符合奖补条件。")
CORRECTION_NOTES = ("请补充加盖公章的材料原件扫描件。", "发票金额与合同金额不一致，请补充说明并提供完整发票。",
                    "请补充项目竣工验收报告的专家签字页。")
BANK_FAILURES = ("户名与账号不符", "账户已销户")
BANKS = ("中国工商银行瑞金支行", "中国农业银行瑞金市支行", "中国建设银行瑞金支行", "江西银行瑞金支行", "赣州银行瑞金支行",
         "瑞金农村商业银行", "中国邮政储蓄银行瑞金市支行", "中国银行瑞金支行")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高钟谢曾赖邱温"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰涛明超华平刚辉建国志红英俊峰霞"

# the fates of 依申报 applications: the first ones planned cover every state, the rest are drawn
FATES = ("approved", "rejected", "not_accepted", "withdrawn", "revoked", "notice", "correction", "reviewing",
         "submitted")
FATE_WEIGHTS = {"approved": 55, "rejected": 12, "not_accepted": 7, "withdrawn": 5}


def _interleaved(specs: tuple[ItemSpec, ...]) -> list[ItemSpec]:
    """The catalogue in an order that keeps the modes in proportion at every prefix (most 免申即享)."""
    by_mode: dict[str, list[ItemSpec]] = {}
    for s in specs:
        by_mode.setdefault(s.mode, []).append(s)
    total = len(specs)
    taken = Counter[str]()
    out: list[ItemSpec] = []
    while len(out) < total:
        k = len(out) + 1
        mode = max((m for m in by_mode if taken[m] < len(by_mode[m])),
                   key=lambda m: (len(by_mode[m]) * k / total - taken[m], len(by_mode[m])))
        out.append(by_mode[mode][taken[mode]])
        taken[mode] += 1
    return out


def _tz() -> dt.tzinfo:
    return timezone.get_current_timezone()




def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def _phone(rng: random.Random) -> str:
    return rng.choice(("138", "139", "135", "186", "187", "159", "177", "199")) + f"{rng.randrange(10**8):08d}"


def _fen(wan: float) -> int:
    return int(round(wan * 1_000_000))


def _round_up(fen: int, step: int) -> int:
    return int(math.ceil(fen / step) * step)



@dataclass
class ReviewPlan:
    """What happens to one 依申报 application (drawn when planned)."""

    spec: ItemSpec
    fate: str
    day: dt.date  # the day of the application
    correction: bool
    amount_wan: float
    app: Any = None
    enterprise: Any = None


def build_policy_demo(*, seed: int = 2026, items: int = len(ITEMS), today: dt.date | None = None,
                      stdout: Any = None) -> dict[str, Any]:
    """Publish ``items`` benefit items (with their documents) for the county in the database — the demo
    county of :func:`yingshang.core.demo.build_demo_county`, or any county with a dispatcher, the
    departments named in the catalogue and active enterprises — and play a year (up to ``today``) of
    matching and cash-out through the services.  Returns counts of what was written.

    Runs with ``DEBUG`` off (the debug cursor would log every one of the year's queries)."""
    from django.test.utils import override_settings

    with override_settings(DEBUG=False):
        return _build(seed=seed, n_items=items, today=today, stdout=stdout)


REGISTERED_SHARE = 0.25  # companies with a platform account before the demo year
READ_SHARE = 0.7  # pushes opened within three days (those acted on always were)


def _read_pushes(rng: random.Random, now: dt.datetime) -> int:
    """政策知晓: most pushes are opened within three days; every push the enterprise acted on (applied,
    or was paid) was opened before that.  The last three days' pushes stay unread."""
    from django.db.models import Exists, OuterRef

    from .models import Application, MatchNotice, Payout

    acted = Exists(Application.objects.filter(enterprise_id=OuterRef("enterprise_id"), item_id=OuterRef("item_id"))) | Exists(
        Payout.objects.filter(enterprise_id=OuterRef("enterprise_id"), item_id=OuterRef("item_id")))
    rows = list(MatchNotice.objects.filter(read_at__isnull=True, notified_at__lt=now - dt.timedelta(days=3))
                .annotate(acted=acted).order_by("enterprise__uscc", "item__code"))
    read = []
    for n in rows:
        if n.acted or rng.random() < READ_SHARE:
            n.read_at = n.notified_at + dt.timedelta(hours=rng.uniform(0.2, 20 if n.acted else 72))
            read.append(n)
    MatchNotice.objects.bulk_update(read, ["read_at"], batch_size=2000)
    return len(read)


def _build(*, seed: int, n_items: int, today: dt.date | None, stdout: Any) -> dict[str, Any]:
    import time_machine
    from django.conf import settings
    from django.contrib.auth.hashers import make_password
    from django.db.models import F

    from yingshang.core import services as core_services
    from yingshang.core import workdays
    from yingshang.core.audit import Entry, audit_record_many
    from yingshang.core.errors import Conflict
    from yingshang.core.models import Department, Notification, Park, Role, User
    from yingshang.enterprises.models import Enterprise

    from . import matching, payouts, services
    from . import rules as R
    from .models import (
        Application,
        BenefitItem,
        Match,
        Objection,
        PayeeAccount,
        Payout,
        PayoutBatch,
        PayoutList,
        PayoutListEntry,
        PolicyDocument,
    )

    if n_items < 0:
        raise ValueError("items must be >= 0")
    started = time.monotonic()
    say = stdout.write if stdout is not None else (lambda _t: None)
    counts: Counter[str] = Counter()
    if n_items == 0:
        return {"documents": 0, "items": 0, "seconds": 0.0}
    if BenefitItem.objects.filter(code__in=[s.code for s in ITEMS]).exists():
        raise RuntimeError("the demo's benefit items exist already: the policy demo was built")
    rng = random.Random(f"{seed}:policies")
    people = random.Random(f"{seed}:policy-people")
    real_now = timezone.now()
    today = today or timezone.localdate()
    end = min(real_now, moment(today, 23.99)) if today == timezone.localdate() else moment(today, 23.99)
    start = today - dt.timedelta(days=365)
    skipped: Counter[str] = Counter()
    refusals: list[str] = []

    dispatcher = User.objects.filter(role=Role.DISPATCHER, is_active=True).order_by("id").first()
    if dispatcher is None:
        raise RuntimeError("no dispatcher: build the demo county first")
    depts = {d.code: d for d in Department.objects.all()}
    chosen = [s for s in _interleaved(ITEMS) if s.department in depts][:n_items]
    docs_wanted = {s.doc for s in chosen}
    parks = dict(Park.objects.values_list("name", "pk"))
    n_ent = Enterprise.objects.filter(status=Enterprise.Status.ACTIVE).count()
    if n_ent == 0:
        raise RuntimeError("no active enterprises: build the demo county first")
    scale = n_ent / 20000

    # ---- working days
    def workday_on_or_after(day: dt.date) -> dt.date:
        while not workdays.is_workday(day):
            day += dt.timedelta(days=1)
        return day

    def workday_back(day: dt.date, n: int) -> dt.date:
        k = 0
        while k < n:
            day -= dt.timedelta(days=1)
            if workdays.is_workday(day):
                k += 1
        return day

    def wd_add(day: dt.date, n: int) -> dt.date:
        return workdays.add(day, n).date if n > 0 else workday_on_or_after(day)

    def at_work(day: dt.date, lo: float = 8.8, hi: float = 17.2) -> dt.datetime:
        return moment(workday_on_or_after(day), rng.uniform(lo, hi))

    # ---- the people: a handler and a head in every department with items, the enterprises' accounts
    password = make_password(settings.DEMO_PASSWORD)
    staff: dict[tuple[int, str], Any] = {}
    for u in User.objects.filter(role__in=[Role.HANDLER, Role.HEAD], is_active=True).order_by("id"):
        staff.setdefault((u.department_id, u.role), u)
    taken_names = set(User.objects.values_list("username", flat=True))
    new_staff = []
    for code in sorted({s.department for s in chosen} | {DRAFT_ITEM.department}):
        d = depts[code]
        for role in (Role.HANDLER, Role.HEAD):
            if (d.pk, role) in staff:
                continue
            username = f"{role}_{d.code.lower()}"
            if username in taken_names:
                username = f"{username}_{d.pk}"
            taken_names.add(username)
            u = User(username=username, role=role, full_name=_name(people), phone=_phone(people), department=d,
                     is_demo=True, password=password)
            staff[(d.pk, role)] = u
            new_staff.append(u)
    ent_user: dict[int, Any] = {}
    for u in User.objects.filter(role=Role.ENTERPRISE, is_active=True, enterprise__isnull=False).order_by("id"):
        ent_user.setdefault(u.enterprise_id, u)
    # a quarter of the companies have registered on the platform before the year starts: they are the
    # ones the precise pushes reach (the rest get an account when they first apply)
    registered = []
    for ent in Enterprise.objects.filter(status=Enterprise.Status.ACTIVE, kind="company").order_by("uscc").only(
            "pk", "uscc", "contact_name", "contact_phone"):
        if ent.pk in ent_user or people.random() >= REGISTERED_SHARE:
            continue
        username = f"ent_{ent.uscc.lower()}"
        if username in taken_names:
            username = f"{username}_{ent.pk}"
        taken_names.add(username)
        u = User(username=username, role=Role.ENTERPRISE, full_name=ent.contact_name or _name(people),
                 phone=ent.contact_phone or _phone(people), enterprise_id=ent.pk, is_demo=True, password=password)
        ent_user[ent.pk] = u
        registered.append(u)

    def save_users(users: list[Any]) -> None:
        if not users:
            return
        User.objects.bulk_create(users)
        if users[0].pk is None:  # backends without RETURNING
            by_name = dict(User.objects.filter(username__in=[u.username for u in users]).values_list("username", "pk"))
            for u in users:
                u.pk = by_name[u.username]
        audit_record_many(actor=None, entries=[
            Entry("demo.seed", "core.User", str(u.pk), u.username,
                  after={"username": u.username, "role": u.role, "department_id": u.department_id,
                         "enterprise_id": u.enterprise_id}) for u in users])

    def user_of(ent: Any) -> Any:
        """The enterprise's account (created, as a demo account, the first time it applies)."""
        if ent.pk not in ent_user:
            username = f"ent_{ent.uscc.lower()}"
            if username in taken_names:
                username = f"{username}_{ent.pk}"
            taken_names.add(username)
            u = User(username=username, role=Role.ENTERPRISE, full_name=ent.contact_name or _name(people),
                     phone=ent.contact_phone or _phone(people), enterprise=ent, is_demo=True, password=password)
            save_users([u])
            ent_user[ent.pk] = u
            counts["enterprise_users_created"] += 1
        return ent_user[ent.pk]

    def handler(code: str) -> Any:
        d = depts[code]
        return staff.get((d.pk, Role.HANDLER)) or staff[(d.pk, Role.HEAD)]

    def head(code: str) -> Any:
        d = depts[code]
        return staff.get((d.pk, Role.HEAD)) or staff[(d.pk, Role.HANDLER)]

    files: dict[int, Any] = {}

    def scan_of(user: Any) -> Any:
        """The applicant's scanned materials (one file per account, reused: the demo's uploads)."""
        if user.pk not in files:
            files[user.pk] = core_services.attachment_store(
                upload=io.BytesIO(PDF + f"% {user.username}\n".encode()), name="申报材料扫描件.pdf", actor=user)
        return files[user.pk]

    accounts_set: set[int] = set(PayeeAccount.objects.values_list("enterprise_id", flat=True))
    bad_accounts: set[int] = set()  # enterprises whose account on file bounces (a typo, a closed account)
    office_set = [0]

    def account_for(ent: Any, actor: Any) -> None:
        """The payee account: the enterprise enters it when it applies, the office collects the others
        during a list's notice — two of those (the 2nd and the 7th) turn out wrong at the bank."""
        if ent.pk in accounts_set:
            return
        services.payee_account_set(actor=actor, enterprise=ent, account_name=ent.name,
                                   account_no=f"6217{rng.randrange(10**15):015d}", bank_name=rng.choice(BANKS))
        accounts_set.add(ent.pk)
        if actor is dispatcher:
            office_set[0] += 1
            if office_set[0] in (2, 7):
                bad_accounts.add(ent.pk)

    # ---- the documents: dates, numbers
    launch = workday_on_or_after(start + dt.timedelta(days=1))
    late1 = workday_on_or_after(launch + dt.timedelta(days=75))
    late2 = workday_on_or_after(launch + dt.timedelta(days=110))
    old_expiry = start + dt.timedelta(days=20)
    old_expiry = (old_expiry.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
    doc_dates: dict[str, tuple[dt.date, dt.date, dt.date, dt.date]] = {}  # key: issued, published, expires, effective
    for spec in DOCS:
        if spec.timing == "old":
            issued = dt.date(start.year - 3, 3, 1) + dt.timedelta(days=rng.randrange(60))
            doc_dates[spec.key] = (issued, launch, old_expiry, issued)
        elif spec.timing == "launch":
            issued = start - dt.timedelta(days=rng.randint(15, 60))
            doc_dates[spec.key] = (issued, launch, dt.date(issued.year + 3, 12, 31), issued)
        elif spec.timing == "late1":
            doc_dates[spec.key] = (late1 - dt.timedelta(days=rng.randint(2, 6)), late1, dt.date(late1.year, 12, 31),
                                   late1)
        elif spec.timing == "late2":
            issued = late2 - dt.timedelta(days=rng.randint(3, 10))
            doc_dates[spec.key] = (issued, late2, dt.date(issued.year + 2, 12, 31), issued)
        else:  # a draft in the making
            day = workday_back(today, 6)
            doc_dates[spec.key] = (day, day, day, day)
    doc_specs = {d.key: d for d in DOCS}
    documents: dict[str, Any] = {}
    item_objs: dict[str, Any] = {}

    def create_document(spec: DocSpec, publish: bool) -> Any:
        issued, _published, expires, effective = doc_dates[spec.key]
        year = str(issued.year)
        number = f"{spec.prefix}〔{issued.year}〕{spec.serial}号" if spec.prefix else ""
        doc = services.document_create(
            actor=dispatcher, title=spec.title.replace("{year}", year), issuer=spec.issuer, number=number,
            issued_on=issued if spec.prefix else None, effective_on=effective if spec.prefix else None,
            expires_on=expires if spec.prefix else None,
            text=spec.text.replace("{year}", year).replace("{expires}", f"{expires:%Y年%-m月%-d日}"),
            interpretation=spec.interpretation, topics=spec.topics, industries=spec.industries)
        if publish:
            doc = services.document_publish(actor=dispatcher, document=doc)
        documents[spec.key] = doc
        counts["documents"] += 1
        return doc

    columns: dict[int, Any] = {}

    def registry(year: int, day: dt.date) -> Any:
        if year not in columns:
            columns[year] = R.load_columns(year, reference_date=day)
        return columns[year]

    def budget_for(spec: ItemSpec, rule: Any, day: dt.date, list_day: dt.date | None) -> int:
        """What the policy officer budgets: the nominal budget scaled to the county, or what the
        simulation of the rule over the registry says it costs (with a margin), whichever is more."""
        nominal = _round_up(_fen(spec.budget_wan * scale), 100_000)
        if spec.amount is None:
            return nominal
        years = {day.year} | ({list_day.year} if list_day else set())
        need = 0
        for year in sorted(years):
            sim = matching.simulate(rule=rule, amount=spec.amount, columns=registry(year, day), sample_size=0)
            need = max(need, sim.total_fen)
        if spec.mode == "instant":  # room for the planned applications even if the largest ones apply
            cols = registry(max(years), day)
            sub = cols.subset(R.compile(rule)(cols).true)
            fen, known = R.amount(R.compile(spec.amount, "amount"), sub)
            planned = max(1, round(sub.n * spec.uptake)) + 1
            need = sum(sorted(int(f) for f in fen[known])[-planned:])
        return max(nominal, _round_up(int(need * 1.2), 1_000_000))

    list_days: dict[str, dt.date] = {}

    def create_item(spec: ItemSpec, doc: Any, day: dt.date, publish: bool = True) -> Any:
        rule = spec.rule(parks) if callable(spec.rule) else spec.rule
        budget = budget_for(spec, rule, day, list_days.get(spec.code))
        if spec.mode == "apply_review":
            planned = sum(_fen(p.amount_wan) for p in review_plans if p.spec.code == spec.code)
            budget = max(budget, _round_up(int(planned * 1.3), 1_000_000))
        d = depts[spec.department]
        item = services.item_create(
            actor=handler(spec.department), document=doc, code=spec.code, name=spec.name, mode=spec.mode,
            department=d, period_kind=spec.period, budget_fen=budget, summary=spec.summary,
            materials=[{"name": n, "required": r} for n, r in spec.materials])
        services.item_set_rule(actor=handler(spec.department), item=item, rule=rule, amount=spec.amount,
                               note="按政策文件设定资格条件和兑现标准")
        if publish:
            item = services.item_publish(actor=head(spec.department), item=item)
        item_objs[spec.code] = item
        counts[f"items_{spec.mode}"] += 1
        return item

    # ---- the plan
    queue = Queue()
    auto = [s for s in chosen if s.mode == "auto_grant"]
    old_auto = [s for s in auto if doc_specs[s.doc].timing == "old"]
    late_auto = [s for s in auto if doc_specs[s.doc].timing in ("late1", "late2")]
    main_auto = [s for s in auto if s not in old_auto and s not in late_auto]
    rng.shuffle(main_auto)
    # the three still in progress today: items with the most enterprises (a list to show in each state)
    size: dict[str, int] = {}
    for s in main_auto:
        rule = s.rule(parks) if callable(s.rule) else s.rule
        size[s.code] = matching.simulate(rule=rule, amount=s.amount, columns=registry(today.year, today),
                                         sample_size=0).qualified
    busiest = sorted(main_auto, key=lambda s: -size[s.code])[:3]
    main_auto = [s for s in main_auto if s not in busiest] + busiest
    # lists: the old document's at once, the late documents' three weeks after they appear, the rest spread
    # over the year — the last three still in progress today (on notice, reviewed, proposed)
    for s in old_auto:
        list_days[s.code] = wd_add(launch, 2)
    for s in late_auto:
        list_days[s.code] = wd_add(doc_dates[s.doc][1], 15)
    tail = main_auto[-3:] if len(main_auto) >= 3 else []
    spread = main_auto[:len(main_auto) - len(tail)]
    first, last = launch + dt.timedelta(days=35), workday_back(today, 15)
    for i, s in enumerate(spread):
        frac = (i + 1) / (len(spread) + 1)
        list_days[s.code] = workday_on_or_after(first + dt.timedelta(days=int((last - first).days * frac)))
    tail_days = [workday_back(today, 9), workday_back(today, 4), workday_back(today, 1)]
    for s, day in zip(tail, tail_days):
        list_days[s.code] = day

    def available(spec: ItemSpec) -> dt.date:
        return doc_dates[spec.doc][1]

    stop_day = {"SW-ZH": workday_back(today, 45)}

    # 即申即享: applications spread over the item's year, some refused (not eligible, a material missing)
    instant_steps = 0
    for spec in (s for s in chosen if s.mode == "instant"):
        first_day = available(spec) + dt.timedelta(days=5)
        last_day = min(stop_day.get(spec.code, today), today) - dt.timedelta(days=1)
        if last_day <= first_day:
            continue
        span = (last_day - first_day).days
        rule = spec.rule(parks) if callable(spec.rule) else spec.rule
        sim = matching.simulate(rule=rule, amount=spec.amount, columns=registry(first_day.year, first_day),
                                sample_size=0)
        n = max(1, round(sim.qualified * spec.uptake))
        refused = max(1 if instant_steps % 2 == 0 else 0, round(n * 0.2))
        kinds = ["eligible"] * n + ["ineligible"] * ((refused + 1) // 2) + ["no_material"] * (refused // 2)
        for kind in kinds:
            day = first_day + dt.timedelta(days=rng.randrange(span + 1))
            queue.at(moment(day, rng.uniform(8.2, 21.5)), "instant", (spec, kind))
            instant_steps += 1

    # 依申报: fates covering every state first, then drawn
    review_plans: list[ReviewPlan] = []
    review_specs = [s for s in chosen if s.mode == "apply_review"]
    companies = Enterprise.objects.filter(status=Enterprise.Status.ACTIVE, kind="company").count()
    fate_cycle = iter(FATES)
    planned: list[tuple[ItemSpec, int]] = [(s, max(3, round(companies * s.uptake))) for s in review_specs]
    for k in range(max((n for _s, n in planned), default=0)):
        for s, n in planned:
            if k >= n:
                continue
            fate = next(fate_cycle, None) or rng.choices(list(FATE_WEIGHTS), weights=list(FATE_WEIGHTS.values()))[0]
            lo, hi = available(s) + dt.timedelta(days=10), today - dt.timedelta(days=45)
            if hi <= lo:
                lo, hi = available(s) + dt.timedelta(days=1), today - dt.timedelta(days=1)
            day = lo + dt.timedelta(days=rng.randrange(max(1, (hi - lo).days)))
            correction = fate == "correction" or (fate in ("approved", "rejected", "revoked") and rng.random() < 0.35)
            review_plans.append(ReviewPlan(s, fate, day, correction, rng.choice(REVIEW_AMOUNTS.get(s.code, (5,)))))
    for p in review_plans:
        if p.fate == "submitted":  # online, a little before now
            when = end - dt.timedelta(minutes=rng.randint(20, 300))
        elif p.fate == "reviewing":
            when = at_work(workday_back(today, 8))
        elif p.fate == "correction":
            when = at_work(workday_back(today, 12))
        elif p.fate == "notice":
            when = at_work(workday_back(today, 15))
        else:
            when = moment(p.day, rng.uniform(8.5, 21))
        queue.at(when, "apply", p)

    # the calendar: launch, late documents, sweeps, batches, matching runs
    queue.at(moment(launch, 9.0), "launch")
    for key in ("late1", "late2"):
        day = late1 if key == "late1" else late2
        if day < today:
            queue.at(moment(day, 9.5), "publish_late", key)
    draft_day = doc_dates["RJ-SZ"][1]
    queue.at(moment(draft_day, 15.0), "draft")
    for k in range(1, 366):
        queue.at(moment(start + dt.timedelta(days=k), 0.5), "sweep", start + dt.timedelta(days=k))
    day = launch
    while day <= today:
        if day.weekday() == 1 and workdays.is_workday(day):  # Tuesdays: the week's payments
            queue.at(moment(day, 10.0), "batch")
        day += dt.timedelta(days=1)
    new_year = workday_on_or_after(dt.date(today.year, 1, 1))
    if launch < new_year <= today:
        queue.at(moment(new_year, 7.0), "match")  # the reference year moved on: last year's figures
    for s in chosen:
        if s.code in list_days and s.mode == "auto_grant":
            queue.at(moment(list_days[s.code], 9.5 if s.code not in [t.code for t in tail[-1:]] else 15.0),
                     "propose", s)
    if "SW-ZH" in {s.code for s in chosen} and stop_day["SW-ZH"] < today:
        queue.at(moment(stop_day["SW-ZH"], 16.0), "stop", "SW-ZH")
    objection_slots = [1, 2, 5]  # which lists (in notice order) get a public objection

    # ---- running the steps
    state: dict[str, Any] = {"notices": 0, "objections": 0}

    def later(now: dt.datetime, when: dt.datetime) -> dt.datetime:
        return when if when > now else now + dt.timedelta(minutes=rng.randint(10, 90))

    def local_day(when: dt.datetime) -> dt.date:
        return timezone.localtime(when).date()

    def run_launch(now: dt.datetime) -> None:
        for spec in DOCS:
            if spec.timing in ("launch", "old") and spec.key in docs_wanted:
                doc = create_document(spec, publish=True)
                for s in chosen:
                    if s.doc == spec.key:
                        create_item(s, doc, local_day(now))
        report = matching.match_all()
        counts["match_runs"] += 1
        say(f"  policies: {len(item_objs)} items published, {report.pairs} matches")

    def run_publish_late(key: str, now: dt.datetime) -> None:
        new = []
        for spec in DOCS:
            if spec.timing == key and spec.key in docs_wanted:
                doc = create_document(spec, publish=True)
                new += [create_item(s, doc, local_day(now)) for s in chosen if s.doc == spec.key]
        if new:
            matching.match_all(items=new)
            counts["match_runs"] += 1

    def run_draft(now: dt.datetime) -> None:
        doc = create_document(doc_specs["RJ-SZ"], publish=False)
        if DRAFT_ITEM.department in depts:
            create_item(DRAFT_ITEM, doc, local_day(now), publish=False)

    def run_propose(spec: ItemSpec, now: dt.datetime) -> None:
        item = item_objs.get(spec.code)
        if item is None or not Match.objects.filter(item=item).exists():  # nobody qualifies: no list
            counts["lists_not_needed"] += 1
            return
        plist = services.payout_list_propose(actor=handler(spec.department), item=item)
        counts["lists_proposed"] += 1
        entries = list(plist.entries.order_by("id"))
        if not entries:
            services.payout_list_cancel(actor=handler(spec.department), payout_list=plist,
                                        reason="本期无新增符合条件企业")
            return
        d0 = local_day(now)
        tail_pos = [t.code for t in tail].index(spec.code) if spec.code in [t.code for t in tail] else -1
        if tail_pos == 0:
            review_day, notice_day = wd_add(d0, 2), wd_add(d0, 4)
        elif tail_pos == 1:
            review_day, notice_day = wd_add(d0, 2), wd_add(today, 1)
        elif tail_pos == 2:
            review_day, notice_day = wd_add(today, 2), wd_add(today, 3)
        else:
            review_day = wd_add(d0, rng.randint(2, 4))
            notice_day = wd_add(review_day, 1)
        queue.at(later(now, at_work(review_day, 9, 16)), "review", (spec, plist, notice_day))

    def run_review(obj: tuple[ItemSpec, Any, dt.date], now: dt.datetime) -> None:
        spec, plist, notice_day = obj
        entries = list(plist.entries.order_by("id"))
        n_out = min(len(entries) // 25, 3)
        if n_out == 0 and len(entries) >= 3 and (counts["entries_excluded"] == 0 or rng.random() < 0.25):
            n_out = 1
        out = rng.sample(entries, k=n_out)
        for e in out:
            services.payout_list_exclude(actor=head(spec.department), entry=e, reason=rng.choice(EXCLUDE_REASONS))
            counts["entries_excluded"] += 1
        if out and counts["entries_restored"] == 0:  # the first one taken off is put back on review
            services.payout_list_restore(actor=head(spec.department), entry=out[0])
            counts["entries_restored"] += 1
            counts["entries_excluded"] -= 1
        services.payout_list_review_complete(actor=head(spec.department), payout_list=plist,
                                             note="经部门集体审核，名单符合政策规定。")
        queue.at(later(now, at_work(notice_day, 9, 11)), "notice", (spec, plist))

    def run_notice(obj: tuple[ItemSpec, Any], now: dt.datetime) -> None:
        spec, plist = obj
        item = item_objs[spec.code]
        try:
            with transaction.atomic():
                plist = services.payout_list_publish(actor=handler(spec.department), payout_list=plist)
        except Conflict as exc:
            if exc.code != "over_budget":
                raise
            # the budget falls short of the list: the officer adds what is missing, then publishes
            item = BenefitItem.objects.get(pk=item.pk)
            need = sum(plist.entries.filter(included=True).values_list("amount_fen", flat=True))
            used = services.budget_used_fen(item.pk)
            services.item_update(actor=handler(spec.department), item=item,
                                 budget_fen=_round_up(used + need, 1_000_000))
            counts["budgets_raised"] += 1
            plist = services.payout_list_publish(actor=handler(spec.department), payout_list=plist)
        counts["lists_noticed"] += 1
        state["notices"] += 1
        # the office collects the payee accounts during the notice
        ents = Enterprise.objects.filter(pk__in=plist.entries.filter(included=True).values("enterprise_id")).order_by(
            "id")
        for ent in ents:
            account_for(ent, dispatcher)
        k = state["objections"]
        if k < len(OBJECTIONS) and state["notices"] >= objection_slots[k]:
            entries = list(plist.entries.filter(included=True).order_by("id"))
            if len(entries) >= 2:  # the public objects to one of the enterprises on notice
                state["objections"] += 1
                when = later(now, at_work(wd_add(local_day(now), rng.randint(1, 2)), 9, 20))
                queue.at(when, "object", (spec, rng.choice(entries), OBJECTIONS[k]))

    def run_object(obj: tuple[ItemSpec, Any, tuple[str, bool, str]], now: dt.datetime) -> None:
        spec, entry, (text, uphold, reason) = obj
        o = services.objection_file(actor=None, entry=entry, text=text, filer_name=_name(people),
                                    filer_contact=_phone(people))
        counts["objections"] += 1
        queue.at(later(now, at_work(wd_add(local_day(now), 1), 9, 17)), "object_decide", (spec, o, uphold, reason))

    def run_object_decide(obj: tuple[ItemSpec, Any, bool, str], now: dt.datetime) -> None:
        spec, o, uphold, reason = obj
        services.objection_decide(actor=head(spec.department), objection=o, uphold=uphold, reason=reason)
        counts["objections_upheld" if uphold else "objections_dismissed"] += 1

    def run_batch(now: dt.datetime) -> None:
        if not services.payable_payouts().exists():
            return
        batch = services.payout_batch_create(actor=dispatcher)
        services.payout_batch_export(actor=dispatcher, batch=batch)
        counts["batches"] += 1
        queue.at(later(now, at_work(wd_add(local_day(now), 2), 14, 17)), "confirm", batch)

    def run_confirm(batch: Any, now: dt.datetime) -> None:
        rows = ["兑现编号,结果,银行流水号,失败原因,金额（元）,支付时间"]
        failed = []
        for p in batch.payouts.filter(status=Payout.Status.PENDING).order_by("id"):
            stamp = f"{local_day(now):%Y-%m-%d} {rng.randint(9, 16):02d}:{rng.randint(0, 59):02d}:00"
            if p.enterprise_id in bad_accounts:
                rows.append(f"{p.number},失败,,{rng.choice(BANK_FAILURES)},{payouts.yuan(p.amount_fen)},")
                failed.append(p)
            else:
                ref = f"{local_day(now):%Y%m%d}{rng.randrange(10**10):010d}"
                rows.append(f"{p.number},成功,{ref},,{payouts.yuan(p.amount_fen)},{stamp}")
        result = services.payout_confirmations_import(actor=dispatcher, data=("\r\n".join(rows) + "\r\n").encode())
        counts["payments_paid"] += result.paid
        counts["payments_failed"] += result.failed
        for p in failed:
            queue.at(later(now, at_work(wd_add(local_day(now), rng.randint(1, 3)))), "fix_account", p)

    def run_fix_account(p: Any, now: dt.datetime) -> None:
        ent = Enterprise.objects.get(pk=p.enterprise_id)
        actor = ent_user.get(ent.pk) or dispatcher
        services.payee_account_set(actor=actor, enterprise=ent, account_name=ent.name,
                                   account_no=f"6228{rng.randrange(10**15):015d}", bank_name=rng.choice(BANKS))
        bad_accounts.discard(ent.pk)
        services.payout_retry(actor=dispatcher, payouts=[p])
        counts["payments_retried"] += 1

    cache: dict[Any, Any] = {}

    def matched_ids(item: Any) -> list[int]:
        """The item's matched enterprises (read again after each matching run)."""
        key = ("matched", item.pk, counts["match_runs"])
        if key not in cache:
            cache[key] = list(Match.objects.filter(item=item).order_by("enterprise_id")
                              .values_list("enterprise_id", flat=True))
        return cache[key]  # type: ignore[no-any-return]

    def taken_for(item: Any) -> set[int]:
        """Enterprises with a live 即申即享 application or payout of the item for the current period."""
        period = services.period_of(item.period_kind)
        key = ("taken", item.pk, period)
        if key not in cache:
            cache[key] = set(Application.objects.filter(item=item, period=period, status__in=Application.LIVE)
                             .values_list("enterprise_id", flat=True))
            cache[key] |= set(Payout.objects.filter(item=item, period=period, status__in=Payout.LIVE)
                              .values_list("enterprise_id", flat=True))
        return cache[key]  # type: ignore[no-any-return]

    def company_ids() -> list[int]:
        if "companies" not in cache:
            cache["companies"] = list(Enterprise.objects.filter(status=Enterprise.Status.ACTIVE, kind="company")
                                      .order_by("id").values_list("pk", flat=True)[:3000])
        return cache["companies"]  # type: ignore[no-any-return]

    def run_instant(obj: tuple[ItemSpec, str], now: dt.datetime) -> None:
        spec, kind = obj
        item = item_objs.get(spec.code)
        if item is None or item.status != BenefitItem.Status.PUBLISHED:
            return
        done = taken_for(item)
        matched = [e for e in matched_ids(item) if e not in done]
        if kind == "ineligible":
            skip = set(matched) | done
            pool = [e for e in company_ids() if e not in skip]
        else:
            pool = matched
        if not pool:
            return
        ent = Enterprise.objects.get(pk=rng.choice(pool))
        user = user_of(ent)
        mats = list(item.materials.all())
        given = {m.pk: scan_of(user) for m in mats if m.required or rng.random() < 0.5}
        required = [m.pk for m in mats if m.required]
        if kind == "no_material" and required:
            given.pop(required[-1], None)
        try:
            with transaction.atomic():
                services.application_apply(actor=user, item=item, contact_name=user.full_name or _name(people),
                                           contact_phone=user.phone or _phone(people), materials=given)
        except services.NotEligible as exc:
            counts["instant_refused"] += 1
            if len(refusals) < 5:
                refusals.append(f"{spec.code} {ent.name}：{exc.message}")
            return
        counts["instant_approved"] += 1
        taken_for(item).add(ent.pk)
        account_for(ent, user)

    def run_apply(p: ReviewPlan, now: dt.datetime) -> None:
        item = item_objs.get(p.spec.code)
        if item is None:
            return
        period = services.period_of(item.period_kind)
        taken = set(Application.objects.filter(item=item, period=period, status__in=Application.LIVE)
                    .values_list("enterprise_id", flat=True))
        pool = [e for e in matched_ids(item) if e not in taken]
        if not pool:
            return
        ent = Enterprise.objects.get(pk=rng.choice(pool))
        user = user_of(ent)
        given = {m.pk: scan_of(user) for m in item.materials.all() if m.required or rng.random() < 0.6}
        p.app = services.application_apply(actor=user, item=item, contact_name=user.full_name or _name(people),
                                           contact_phone=user.phone or _phone(people), materials=given,
                                           statement="项目已按计划实施完成，现按政策规定申请兑现。")
        p.enterprise = ent
        account_for(ent, user)
        counts["applications"] += 1
        d0 = local_day(now)
        if p.fate == "submitted":
            return
        if p.fate == "withdrawn":
            queue.at(now + dt.timedelta(hours=rng.uniform(2, 30)), "withdraw", p)
            return
        if p.fate == "not_accepted":
            queue.at(later(now, at_work(wd_add(d0, rng.randint(1, 2)))), "not_accept", p)
            return
        queue.at(later(now, at_work(wd_add(d0, 1 if p.fate in ("reviewing", "correction", "notice") else
                                           rng.randint(1, 3)))), "accept", p)

    def run_review_step(step: str, p: ReviewPlan, now: dt.datetime) -> None:
        h, hd = handler(p.spec.department), head(p.spec.department)
        d0 = local_day(now)
        if step == "withdraw":
            services.application_withdraw(actor=user_of(p.enterprise), application=p.app)
        elif step == "not_accept":
            services.application_not_accept(actor=h, application=p.app, reason=rng.choice(NOT_ACCEPT_REASONS))
        elif step == "accept":
            p.app = services.application_accept(actor=h, application=p.app)
            if p.fate == "reviewing":
                return
            if p.fate == "correction":
                queue.at(later(now, at_work(workday_back(today, 3))), "correction", p)
            elif p.fate == "notice":
                queue.at(later(now, at_work(workday_back(today, 2))), "decide", p)
            elif p.correction:
                queue.at(later(now, at_work(wd_add(d0, rng.randint(2, 4)))), "correction", p)
            else:
                queue.at(later(now, at_work(wd_add(d0, rng.randint(3, 8)))), "decide", p)
        elif step == "correction":
            mats = list(p.app.item.materials.all())
            asked = rng.sample(mats, k=min(len(mats), rng.choice((1, 1, 2))))
            p.app = services.application_request_correction(actor=h, application=p.app, materials=asked,
                                                            note=rng.choice(CORRECTION_NOTES))
            counts["corrections"] += 1
            if p.fate != "correction":
                queue.at(now + dt.timedelta(days=rng.choice((1, 2, 3, 5)), hours=rng.uniform(0, 6)),
                         "correction_submit", p)
        elif step == "correction_submit":
            user = user_of(p.enterprise)
            wanted = p.app.pauses.filter(end__isnull=True).values_list("requested", flat=True).first() or []
            mats = {m.pk: scan_of(user) for m in p.app.item.materials.filter(name__in=wanted)}
            p.app = services.application_submit_correction(actor=user, application=p.app, materials=mats,
                                                           statement="已按要求补正材料。")
            queue.at(later(now, at_work(wd_add(local_day(now), rng.randint(2, 6)))), "decide", p)
        elif step == "decide":
            if p.fate == "rejected":
                services.application_reject(actor=hd, application=p.app, reason=rng.choice(REJECT_REASONS))
                return
            p.app = services.application_approve(actor=hd, application=p.app, reason=rng.choice(APPROVE_REASONS),
                                                 amount_fen=None if p.app.item.rule.amount else _fen(p.amount_wan))
            if p.fate == "revoked":
                queue.at(later(now, at_work(wd_add(local_day(now), 2), 9, 20)), "app_object", p)
        elif step == "app_object":
            o = services.objection_file(actor=None, application=p.app, text=APP_OBJECTION[0],
                                        filer_name=_name(people), filer_contact=_phone(people))
            counts["objections"] += 1
            queue.at(later(now, at_work(wd_add(local_day(now), 1))), "app_object_decide", (p, o))

    def run(step: str, obj: Any, now: dt.datetime) -> None:
        if step == "sweep":
            services.documents_expire_due(day=obj)
            for k, v in services.policies_sweep(day=obj).items():
                counts[f"sweep_{k}"] += v
        elif step == "launch":
            run_launch(now)
        elif step == "publish_late":
            run_publish_late(obj, now)
        elif step == "draft":
            run_draft(now)
        elif step == "match":
            matching.match_all()
            counts["match_runs"] += 1
        elif step == "propose":
            run_propose(obj, now)
        elif step == "review":
            run_review(obj, now)
        elif step == "notice":
            run_notice(obj, now)
        elif step == "object":
            run_object(obj, now)
        elif step == "object_decide":
            run_object_decide(obj, now)
        elif step == "batch":
            run_batch(now)
        elif step == "confirm":
            run_confirm(obj, now)
        elif step == "fix_account":
            run_fix_account(obj, now)
        elif step == "instant":
            run_instant(obj, now)
        elif step == "apply":
            run_apply(obj, now)
        elif step == "app_object_decide":
            p, o = obj
            services.objection_decide(actor=head(p.spec.department), objection=o, uphold=True, reason=APP_OBJECTION[1])
            counts["objections_upheld"] += 1
        elif step == "stop":
            item = item_objs.get(obj)
            if item is not None:
                services.item_stop(actor=handler(depts_by_item[obj]), item=item,
                                   reason="年度预算已安排完毕，停止受理。")
                counts["items_stopped"] += 1
        else:
            run_review_step(step, obj, now)

    depts_by_item = {s.code: s.department for s in chosen}
    first_moment = moment(launch - dt.timedelta(days=3), 9.0)
    traveller_cm = time_machine.travel(first_moment, tick=False)
    traveller = traveller_cm.__enter__()
    try:
        with transaction.atomic():
            save_users(new_staff)
            for i in range(0, len(registered), 2000):
                save_users(registered[i:i + 2000])
        counts["staff_created"] = len(new_staff)
        counts["enterprise_users_registered"] = len(registered)
        def progress(day: dt.date) -> None:
            if day.day == 1:
                say(f"  policies: {day:%Y-%m} ({counts['lists_noticed']} lists on notice so far)")

        replay(queue.heap, end=end, traveller=traveller, run=run, skipped=skipped, on_new_day=progress)
        # tonight's matching run
        traveller.move_to(end)
        with transaction.atomic():
            matching.match_all()
            counts["match_runs"] += 1
    finally:
        traveller_cm.__exit__(None, None, None)
        matching.drop_registry_cache()

    # people read their messages: only the last few days' notifications stay unread in the demo
    Notification.objects.filter(read_at__isnull=True, url__startswith="/policies/",
                                created_at__lt=end - dt.timedelta(days=3)).update(read_at=F("created_at"))
    counts["pushes_read"] = _read_pushes(rng, end)

    totals = payouts.ledger_totals()
    out: dict[str, Any] = dict(counts)
    out.update({
        "documents": PolicyDocument.objects.count(),
        "document_statuses": dict(Counter(PolicyDocument.objects.values_list("status", flat=True))),
        "items": BenefitItem.objects.count(),
        "item_modes": dict(Counter(BenefitItem.objects.values_list("mode", flat=True))),
        "item_statuses": dict(Counter(BenefitItem.objects.values_list("status", flat=True))),
        "matches": Match.objects.count(),
        "list_statuses": dict(Counter(PayoutList.objects.values_list("status", flat=True))),
        "list_entries": PayoutListEntry.objects.count(),
        "application_statuses": dict(Counter(Application.objects.values_list("status", flat=True))),
        "payout_statuses": dict(Counter(Payout.objects.values_list("status", flat=True))),
        "batch_statuses": dict(Counter(PayoutBatch.objects.values_list("status", flat=True))),
        "objection_statuses": dict(Counter(Objection.objects.values_list("status", flat=True))),
        "paid_yuan": payouts.yuan(totals["paid_fen"]),
        "paid_wan": round(totals["paid_fen"] / 1_000_000, 1),
        "enterprises_paid": totals["enterprises_paid"],
        "live_wan": round(totals["live_fen"] / 1_000_000, 1),
        "reconcile": payouts.reconcile(),
        "instant_refusals_sample": refusals,
        "skipped_steps": dict(skipped),
        "pending_steps": len([q for q in queue.heap if q[2] != "sweep"]),
        "seconds": round(time.monotonic() - started, 1),
    })
    return out

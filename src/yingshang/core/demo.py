"""A believable synthetic county for demonstrations and load tests (``yingshang seed``).

Everything is reproducible from one integer seed: the generators below use their own
``random.Random`` and ``Faker("zh_CN")`` instances and never the global random state.  The pure
generators (:func:`generate_regions`, :func:`generate_enterprises`) build plain records without
touching the database, so the same seed can be compared run against run; :func:`build_demo_county`
writes them with ``bulk_create`` (20,000 market entities take seconds, not minutes).

The county is 瑞金市 (GB/T 2260 360781, 赣州市, 江西省): real province, prefecture and county
codes; townships, villages, enterprises and people are invented.  Township codes follow the
statistical 12-digit scheme (county 6 + township 3 + village 3; streets 0xx, towns 1xx, 乡 2xx;
居委会/社区 0xx, 村委会 2xx).
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from faker import Faker
from stdnum.cn import ric

from yingshang.enterprises import industries, uscc

PROVINCE = ("360000000000", "江西省")
PREFECTURE = ("360700000000", "赣州市")
COUNTY = ("360781000000", "瑞金市")
COUNTY6 = COUNTY[0][:6]
PLACE = "瑞金"

FIGURE_YEARS = (2023, 2024, 2025)
#: Fixed so that a seed gives the same county whatever day it is run on.
REGISTRATION_START = dt.date(1995, 1, 1)
REGISTRATION_END = dt.date(2026, 6, 30)

# (3-digit code, name, weight of market entities)
TOWNSHIPS: tuple[tuple[str, str, int], ...] = (
    ("001", "红都街道", 14), ("002", "绵江街道", 12),
    ("100", "象湖镇", 16), ("101", "瑞林镇", 5), ("102", "壬田镇", 6), ("103", "九堡镇", 5),
    ("104", "沙洲坝镇", 7), ("105", "谢坊镇", 4), ("106", "武阳镇", 4),
    ("200", "叶坪乡", 3), ("201", "丁陂乡", 2), ("202", "大柏地乡", 2), ("203", "岗面乡", 2),
    ("204", "日东乡", 2), ("205", "万田乡", 3),
)

# (code, name, short_name, is_office)
DEPARTMENTS: tuple[tuple[str, str, str, bool], ...] = (
    ("YSB", "瑞金市优化营商环境办公室", "营商办", True),
    ("FGJ", "瑞金市发展和改革局", "发改局", False),
    ("GXJ", "瑞金市工业和信息化局", "工信局", False),
    ("SCJG", "瑞金市市场监督管理局", "市场监管局", False),
    ("RSJ", "瑞金市人力资源和社会保障局", "人社局", False),
    ("ZRZYJ", "瑞金市自然资源局", "自然资源局", False),
    ("ZJJ", "瑞金市住房和城乡建设局", "住建局", False),
    ("SWJ", "国家税务总局瑞金市税务局", "税务局", False),
    ("CZJ", "瑞金市财政局", "财政局", False),
    ("XZSPJ", "瑞金市行政审批局", "行政审批局", False),
    ("SWUJ", "瑞金市商务局", "商务局", False),
    ("KJJ", "瑞金市科学技术局", "科技局", False),
    ("STHJJ", "瑞金市生态环境局", "生态环境局", False),
)

# (name, level, township code3, roads)
PARKS: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("瑞金经济技术开发区", "国家级", "100", ("工业大道", "创业大道", "兴业路", "振兴路", "金龙大道", "富民路")),
    ("瑞金高新技术产业园", "省级", "104", ("科技大道", "创新路", "智造路", "高新一路", "高新二路")),
)
ECON_PARK, TECH_PARK = PARKS[0][0], PARKS[1][0]

ROADS = ("红都大道", "八一路", "金都大道", "绵江路", "解放路", "胜利路", "建设路", "沿江路", "象湖路",
         "环城北路", "环城南路", "瑞兴大道", "中山路", "站前路", "云石山路", "龙珠路", "长征大道", "赣州路")

_VILLAGE_PRE = "黄沙石竹梅桃龙凤新上下大小高长东西南北官洋谢刘陈杨钟罗赖朱合红金云塘湖"
_VILLAGE_SUF = ("坪", "塘", "坑", "岗", "坊", "田", "山", "背", "湖", "溪", "洲", "岭", "圩", "排", "坝", "垅", "源", "口")
_COMMUNITY_WORDS = ("红井", "金都", "绵江", "八一", "解放", "沿江", "龙珠", "胜利", "站前", "红旗", "瑞明", "和平",
                    "环城", "象湖", "长征", "建设")
_BRAND_CHARS = "鑫鸿泰华盛恒隆兴达源丰瑞祥宏伟博创嘉联诚信德润通金红绿康安和宇昌顺利发景辉腾众晟翔邦远航正明新科佳美汇益凯捷锦荣欣立志"
_ORG_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_MOBILE_PREFIXES = ("130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "153",
                    "155", "156", "157", "158", "159", "166", "173", "175", "176", "177", "178", "180", "181",
                    "182", "183", "185", "186", "187", "188", "189", "191", "193", "195", "198", "199")


@dataclass(frozen=True)
class Sector:
    """How a group of industries behaves: 2025 revenue median and spread (万元), revenue per
    employee (万元), assets / revenue, tax / revenue."""

    median: float
    sigma: float
    per_employee: float
    asset_ratio: float
    tax_rate: tuple[float, float]


S_MANUF = Sector(300, 1.5, 35, 0.9, (0.02, 0.05))
S_WHOLE = Sector(250, 1.4, 80, 0.45, (0.008, 0.02))
S_RETAIL = Sector(80, 1.3, 30, 0.4, (0.01, 0.03))
S_CATER = Sector(50, 1.1, 10, 0.5, (0.01, 0.03))
S_BUILD = Sector(400, 1.5, 40, 1.0, (0.02, 0.04))
S_SOFT = Sector(100, 1.4, 25, 0.6, (0.02, 0.05))
S_TRANS = Sector(150, 1.3, 30, 1.2, (0.02, 0.04))
S_REDEV = Sector(2000, 1.2, 250, 3.0, (0.05, 0.09))
S_PROP = Sector(150, 1.1, 6, 0.4, (0.02, 0.04))
S_SERV = Sector(80, 1.4, 20, 0.8, (0.02, 0.05))
S_AGRI = Sector(80, 1.1, 15, 1.5, (0.0, 0.01))
S_HOME = Sector(60, 1.1, 10, 0.5, (0.01, 0.03))
# individual businesses and cooperatives
I_RETAIL = Sector(25, 0.8, 10, 0.4, (0.0, 0.015))
I_CATER = Sector(20, 0.8, 6, 0.5, (0.0, 0.015))
I_HOME = Sector(12, 0.8, 5, 0.5, (0.0, 0.015))
I_AGRI = Sector(15, 0.9, 6, 1.5, (0.0, 0.0))
I_TRANS = Sector(18, 0.7, 12, 1.5, (0.0, 0.015))
COOP = Sector(60, 1.0, 8, 1.6, (0.0, 0.0))

# (class code, weight, words used in the name, sector)
Choice = tuple[str, float, tuple[str, ...], Sector]

COMPANY_INDUSTRIES: tuple[Choice, ...] = (
    # 制造业 — 纺织服装、电气机械、食品（脐橙）、建材、电子
    ("1373", 2.0, ("果业", "食品"), S_MANUF), ("1353", 0.8, ("肉制品", "食品"), S_MANUF),
    ("1431", 0.8, ("米业", "食品"), S_MANUF), ("1530", 0.6, ("茶业",), S_MANUF),
    ("1512", 0.5, ("酒业",), S_MANUF), ("1763", 1.2, ("针织",), S_MANUF),
    ("1819", 2.0, ("服装", "服饰"), S_MANUF), ("1951", 0.8, ("鞋业",), S_MANUF),
    ("2110", 1.0, ("家具",), S_MANUF), ("2041", 0.8, ("竹业", "竹木制品"), S_MANUF),
    ("2231", 0.8, ("包装", "纸品包装"), S_MANUF), ("2625", 0.5, ("生物肥业",), S_MANUF),
    ("2740", 0.4, ("药业", "制药"), S_MANUF), ("2922", 0.8, ("塑业", "塑胶"), S_MANUF),
    ("3021", 1.0, ("建材", "水泥制品"), S_MANUF), ("3031", 0.6, ("新型墙材",), S_MANUF),
    ("3032", 0.6, ("石业",), S_MANUF), ("3311", 0.8, ("钢结构",), S_MANUF),
    ("3312", 0.6, ("门窗",), S_MANUF), ("3484", 1.0, ("机械", "精密机械"), S_MANUF),
    ("3525", 0.5, ("模具",), S_MANUF), ("3670", 0.8, ("汽车零部件",), S_MANUF),
    ("3823", 1.6, ("电气", "电气设备"), S_MANUF), ("3831", 0.8, ("电缆", "线缆"), S_MANUF),
    ("3841", 0.5, ("新能源", "锂电"), S_MANUF), ("3872", 0.6, ("照明",), S_MANUF),
    ("3982", 1.0, ("电子",), S_MANUF), ("3989", 0.8, ("电子科技",), S_MANUF),
    ("3976", 0.4, ("光电",), S_MANUF),
    # 批发业
    ("5121", 1.5, ("粮油贸易", "粮油"), S_WHOLE), ("5123", 2.0, ("农产品", "果业贸易"), S_WHOLE),
    ("5127", 1.0, ("酒业贸易", "茶叶贸易"), S_WHOLE), ("5165", 2.0, ("建材贸易", "建材"), S_WHOLE),
    ("5174", 1.0, ("五金贸易", "五金机电"), S_WHOLE), ("5172", 0.8, ("汽贸",), S_WHOLE),
    ("5162", 0.4, ("石化",), S_WHOLE), ("5154", 0.8, ("医疗器械",), S_WHOLE),
    ("5151", 0.6, ("医药",), S_WHOLE), ("5199", 3.9, ("商贸", "贸易"), S_WHOLE),
    # 零售业
    ("5212", 3.0, ("超市", "购物广场"), S_RETAIL), ("5211", 1.5, ("百货",), S_RETAIL),
    ("5261", 1.5, ("汽车销售服务",), S_RETAIL), ("5265", 0.8, ("石油", "能源"), S_RETAIL),
    ("5251", 3.0, ("大药房", "医药连锁"), S_RETAIL), ("5283", 2.2, ("家居",), S_RETAIL),
    # 建筑业
    ("4710", 2.5, ("建筑工程", "建设工程"), S_BUILD), ("4812", 1.0, ("路桥工程",), S_BUILD),
    ("4813", 1.0, ("市政工程",), S_BUILD), ("4822", 0.8, ("水利水电工程",), S_BUILD),
    ("4891", 1.2, ("园林绿化工程",), S_BUILD), ("4910", 0.8, ("电力安装工程",), S_BUILD),
    ("5012", 1.2, ("装饰工程", "装饰设计工程"), S_BUILD), ("4999", 0.5, ("安装工程",), S_BUILD),
    # 住宿餐饮
    ("6110", 0.8, ("酒店",), S_CATER), ("6210", 3.0, ("餐饮管理", "餐饮服务"), S_CATER),
    ("6220", 0.8, ("快餐",), S_CATER), ("6130", 0.4, ("文旅民宿",), S_CATER),
    # 软件和信息技术服务业
    ("6513", 1.5, ("软件", "软件开发"), S_SOFT), ("6531", 1.5, ("信息技术", "网络科技"), S_SOFT),
    ("6532", 0.5, ("物联网科技",), S_SOFT), ("6560", 0.5, ("信息咨询",), S_SOFT),
    # 交通运输、仓储和邮政
    ("5431", 3.0, ("物流", "运输"), S_TRANS), ("5421", 0.5, ("客运",), S_TRANS),
    ("5437", 1.0, ("城市配送", "供应链"), S_TRANS), ("5920", 0.7, ("仓储",), S_TRANS),
    ("6020", 0.5, ("快递",), S_TRANS),
    # 房地产
    ("7010", 1.0, ("房地产开发", "置业"), S_REDEV), ("7020", 1.5, ("物业管理", "物业服务"), S_PROP),
    ("7030", 0.6, ("房地产经纪",), S_SERV), ("7040", 0.4, ("房屋租赁",), S_SERV),
    # 租赁和商务服务
    ("7212", 1.0, ("投资", "投资管理"), S_SERV), ("7224", 0.8, ("供应链管理",), S_SERV),
    ("7263", 0.8, ("人力资源",), S_SERV), ("7291", 0.8, ("旅行社", "国际旅行社"), S_SERV),
    ("7259", 1.4, ("文化传媒", "广告"), S_SERV), ("7241", 0.8, ("财税咨询",), S_SERV),
    ("7243", 1.6, ("企业管理咨询",), S_SERV), ("7271", 0.3, ("保安服务",), S_SERV),
    ("7299", 0.5, ("商务服务",), S_SERV),
    # 科学研究和技术服务
    ("7320", 1.0, ("科技",), S_SERV), ("7511", 0.8, ("农业科技",), S_SERV),
    ("7514", 0.4, ("节能科技",), S_SERV), ("7516", 0.5, ("环保科技",), S_SERV),
    ("7520", 0.3, ("知识产权代理",), S_SERV),
    # 农业
    ("0153", 2.0, ("农业开发", "果业开发"), S_AGRI), ("0313", 1.2, ("牧业", "生猪养殖"), S_AGRI),
    ("0321", 0.5, ("禽业",), S_AGRI), ("0164", 0.5, ("茶业开发",), S_AGRI),
    ("0162", 0.5, ("油茶开发",), S_AGRI), ("0412", 0.3, ("渔业",), S_AGRI),
    # 居民服务、修理
    ("8010", 0.8, ("家政服务",), S_HOME), ("8111", 1.0, ("汽车服务", "汽车维修"), S_HOME),
    ("8211", 0.6, ("保洁服务",), S_HOME), ("8040", 0.4, ("美容美发",), S_HOME),
    # 文化体育
    ("8890", 0.5, ("文化艺术",), S_SERV), ("8870", 0.5, ("文化体育",), S_SERV),
)

INDIVIDUAL_INDUSTRIES: tuple[Choice, ...] = (
    ("5211", 3.0, ("百货商店", "百货店"), I_RETAIL), ("5212", 3.0, ("超市",), I_RETAIL),
    ("5213", 6.0, ("便利店", "小卖部"), I_RETAIL), ("5221", 2.0, ("粮油店",), I_RETAIL),
    ("5223", 3.0, ("水果店", "蔬菜店"), I_RETAIL), ("5224", 3.0, ("鲜肉店", "水产店"), I_RETAIL),
    ("5226", 3.0, ("烟酒店", "茶叶店"), I_RETAIL), ("5232", 4.0, ("服装店", "服饰店"), I_RETAIL),
    ("5233", 1.5, ("鞋店",), I_RETAIL), ("5234", 1.5, ("化妆品店",), I_RETAIL),
    ("5251", 1.5, ("药店",), I_RETAIL), ("5274", 2.0, ("手机店", "通讯店"), I_RETAIL),
    ("5281", 2.0, ("五金店",), I_RETAIL), ("5272", 1.5, ("家电商行",), I_RETAIL),
    ("5283", 1.0, ("家具店",), I_RETAIL), ("5263", 1.0, ("汽配店",), I_RETAIL),
    ("5241", 1.0, ("文具店",), I_RETAIL), ("5299", 3.0, ("商店", "商行"), I_RETAIL),
    ("6210", 6.0, ("饭店", "酒家", "农家乐"), I_CATER), ("6220", 3.0, ("快餐店",), I_CATER),
    ("6291", 7.0, ("小吃店", "粉店", "牛肉汤馆"), I_CATER), ("6231", 1.0, ("茶馆",), I_CATER),
    ("6239", 3.0, ("奶茶店", "饮品店"), I_CATER), ("6129", 2.0, ("旅馆", "宾馆"), I_CATER),
    ("6130", 1.0, ("民宿",), I_CATER),
    ("8040", 6.0, ("理发店", "美发店", "美容店"), I_HOME), ("8030", 1.0, ("干洗店",), I_HOME),
    ("8052", 1.0, ("足浴店",), I_HOME), ("8060", 1.0, ("照相馆", "摄影店"), I_HOME),
    ("8010", 1.0, ("家政服务部",), I_HOME), ("8111", 2.0, ("汽车维修店", "汽修厂"), I_HOME),
    ("8113", 1.5, ("摩托车维修部",), I_HOME), ("8132", 1.0, ("家电维修部",), I_HOME),
    ("0153", 5.0, ("脐橙种植场", "家庭农场"), I_AGRI), ("0141", 2.0, ("蔬菜种植场",), I_AGRI),
    ("0313", 2.0, ("养猪场",), I_AGRI), ("0321", 1.5, ("养鸡场",), I_AGRI),
    ("0412", 1.0, ("养鱼场",), I_AGRI), ("0142", 0.5, ("食用菌种植场",), I_AGRI),
    ("5431", 3.0, ("货运部", "运输部"), I_TRANS),
)

COOPERATIVE_INDUSTRIES: tuple[Choice, ...] = (
    ("0153", 5.0, ("脐橙种植",), COOP), ("0111", 2.0, ("水稻种植",), COOP),
    ("0141", 2.0, ("蔬菜种植",), COOP), ("0142", 1.0, ("食用菌种植",), COOP),
    ("0164", 1.0, ("茶叶种植",), COOP), ("0162", 1.5, ("油茶种植",), COOP),
    ("0171", 0.8, ("中药材种植",), COOP), ("0313", 1.5, ("生猪养殖",), COOP),
    ("0321", 1.0, ("家禽养殖",), COOP), ("0392", 0.5, ("蜜蜂养殖",), COOP),
    ("0412", 1.0, ("水产养殖",), COOP), ("0511", 0.5, ("种苗",), COOP),
    ("0512", 0.5, ("农机",), COOP),
)

HIGH_TECH_DIVISIONS = {"65"}
HIGH_TECH_SECTIONS = {"C", "M"}

# ID card area codes valid for a birth year: (code, first year, last year) as in stdnum's data.
_ID_AREAS: dict[str, tuple[tuple[str, int, int], ...]] = {
    "瑞金": (("362134", 1900, 1993), ("362102", 1994, 1997), ("360781", 1998, 2100)),
    "于都": (("362132", 1900, 1997), ("360731", 1998, 2100)),
    "会昌": (("362135", 1900, 1997), ("360733", 1998, 2100)),
    "兴国": (("362133", 1900, 1997), ("360732", 1998, 2100)),
    "石城": (("362137", 1900, 1997), ("360735", 1998, 2100)),
}


# ------------------------------------------------------------------------------------- records


@dataclass
class RegionRecord:
    code: str
    name: str
    level: str
    parent_code: str | None


@dataclass
class FigureRecord:
    year: int
    employees: int
    revenue_wan: Decimal
    assets_wan: Decimal
    taxes_wan: Decimal
    rd_wan: Decimal | None
    unemployment_insurance_wan: Decimal | None
    layoffs: int


@dataclass
class EnterpriseRecord:
    uscc: str
    name: str
    kind: str
    legal_rep: str
    legal_rep_id_number: str
    registered_on: dt.date
    registered_capital_wan: Decimal
    industry_code: str
    township_code: str  # 12 digits
    park: str | None
    address: str
    contact_name: str
    contact_phone: str
    is_high_tech: bool = False
    is_specialized: bool = False
    has_construction_qualification: bool = False
    figures: list[FigureRecord] = field(default_factory=list)


class DemoCountyExists(RuntimeError):
    """The demo county is already in the database."""


def _money(value: float) -> Decimal:
    return Decimal(f"{max(value, 0.0):.2f}")


def _weighted(rng: random.Random, items: tuple[Any, ...], weights: list[float]) -> Any:
    return rng.choices(items, weights=weights, k=1)[0]


# ------------------------------------------------------------------------------------- regions


def generate_regions(seed: int) -> list[RegionRecord]:
    """Province, prefecture, county, 15 townships/streets and 2-4 villages/communities each."""
    rng = random.Random(f"{seed}:regions")
    out = [
        RegionRecord(PROVINCE[0], PROVINCE[1], "province", None),
        RegionRecord(PREFECTURE[0], PREFECTURE[1], "prefecture", PROVINCE[0]),
        RegionRecord(COUNTY[0], COUNTY[1], "county", PREFECTURE[0]),
    ]
    used: set[str] = set()

    def village_name() -> str:
        while True:
            name = rng.choice(_VILLAGE_PRE) + rng.choice(_VILLAGE_SUF)
            if name not in used:
                used.add(name)
                return name

    communities = list(_COMMUNITY_WORDS)
    rng.shuffle(communities)
    for code3, name, _weight in TOWNSHIPS:
        tcode = COUNTY6 + code3 + "000"
        out.append(RegionRecord(tcode, name, "township", COUNTY[0]))
        n = rng.randint(2, 4)
        if name.endswith("街道"):  # all 社区
            for i in range(n):
                out.append(RegionRecord(tcode[:9] + f"{i + 1:03d}", communities.pop() + "社区", "village", tcode))
        else:
            first_village = 200
            if name.endswith("镇"):  # the town's seat is a 社区
                out.append(RegionRecord(tcode[:9] + "001", name[:-1] + "社区", "village", tcode))
                n -= 1
            for i in range(max(n, 1)):
                out.append(RegionRecord(tcode[:9] + f"{first_village + i + 1:03d}", village_name() + "村",
                                        "village", tcode))
    return out


# ------------------------------------------------------------------------------------- people


class _Gen:
    """Random streams for one generation run."""

    def __init__(self, seed: int, stream: str) -> None:
        self.rng = random.Random(f"{seed}:{stream}")
        self.fake = Faker("zh_CN")
        self.fake.seed_instance(seed)

    def person(self, male_share: float = 0.65) -> tuple[str, bool]:
        male = self.rng.random() < male_share
        first = self.fake.first_name_male() if male else self.fake.first_name_female()
        return self.fake.last_name() + first, male

    def mobile(self) -> str:
        return self.rng.choice(_MOBILE_PREFIXES) + f"{self.rng.randrange(10**8):08d}"

    def id_number(self, birth: dt.date, male: bool) -> str:
        home = self.rng.choices(list(_ID_AREAS), weights=[85, 5, 4, 3, 3], k=1)[0]
        area = next(code for code, first, last in _ID_AREAS[home] if first <= birth.year <= last)
        seq = self.rng.randrange(100) * 10 + self.rng.choice((1, 3, 5, 7, 9) if male else (0, 2, 4, 6, 8))
        body = f"{area}{birth:%Y%m%d}{seq:03d}"
        return body + ric.calc_check_digit(body + "0")

    def date_between(self, start: dt.date, end: dt.date) -> dt.date:
        return start + dt.timedelta(days=self.rng.randrange((end - start).days + 1))


# ------------------------------------------------------------------------------------- enterprises


def _registration_date(g: _Gen, kind: str) -> dt.date:
    """More registrations in later years (商事制度改革 from 2014); cooperatives exist from 2007."""
    first = 2008 if kind == "cooperative" else REGISTRATION_START.year
    years = list(range(first, REGISTRATION_END.year + 1))
    def weight(y: int) -> float:
        if y < 2005:
            return 1.0
        if y < 2014:
            return 2.5
        if y < 2020:
            return 6.0 if kind != "company" else 5.0
        return 8.0 if kind != "company" else 6.0
    year = g.rng.choices(years, weights=[weight(y) for y in years], k=1)[0]
    start = dt.date(year, 1, 1)
    end = min(dt.date(year, 12, 31), REGISTRATION_END)
    return g.date_between(start, end)


def _credit_code(g: _Gen, entity_class: str, registered_on: dt.date, used: set[str]) -> str:
    while True:
        if registered_on >= dt.date(2015, 10, 1):  # issued with the code: "MA" + serial
            body = "MA" + "".join(g.rng.choice(_ORG_ALPHABET) for _ in range(6))
        elif entity_class == "2":  # older individual businesses: "L" + digits
            body = "L" + "".join(g.rng.choice("0123456789") for _ in range(7))
        else:  # older organisation codes: digits
            body = "".join(g.rng.choice("0123456789") for _ in range(8))
        code = uscc.make("9" + entity_class + COUNTY6 + uscc.make_org_code(body))
        if code not in used:
            used.add(code)
            return code


def _brand(g: _Gen) -> str:
    if g.rng.random() < 0.2:
        prefix = g.fake.company_prefix()
        if 2 <= len(prefix) <= 3 and "公司" not in prefix:
            return prefix
    a, b = g.rng.sample(_BRAND_CHARS, 2)
    return a + b


def _capital(g: _Gen, kind: str, scale: float) -> Decimal:
    if kind == "individual":
        steps = (1, 2, 3, 5, 8, 10, 20, 30, 50)
    elif kind == "cooperative":
        steps = (10, 20, 50, 100, 200, 300, 500, 1000)
    else:
        steps = (10, 30, 50, 100, 200, 300, 500, 800, 1000, 2000, 3000, 5000, 10000, 20000, 50000)
    target = scale * g.rng.uniform(0.2, 1.5)
    best = min(steps, key=lambda s: abs(math.log(s) - math.log(max(target, 0.5))))
    return Decimal(best).quantize(Decimal("0.01"))


def _figures(g: _Gen, sector: Sector, z: float, kind: str, registered_on: dt.date, *, high_tech: bool,
             specialized: bool, section: str) -> list[FigureRecord]:
    """Figures for 2023-2025 (companies) or the last year only (some individuals, cooperatives)."""
    if kind == "company":
        years = [y for y in FIGURE_YEARS if y >= registered_on.year]
    else:
        years = [FIGURE_YEARS[-1]] if registered_on.year <= FIGURE_YEARS[-1] else []
    if not years:
        return []
    revenue = sector.median * math.exp(sector.sigma * z)
    # registered during a year: only part of that year's trade
    part_year = max(0.1, (12 - registered_on.month + 1) / 12)
    employees = max(1.0, revenue / sector.per_employee * math.exp(g.rng.gauss(0, 0.35)))
    if kind == "company":
        employees = max(employees, g.rng.choice((1, 2, 3, 3, 5)))
    asset_ratio = sector.asset_ratio * math.exp(g.rng.gauss(0, 0.4))
    tax_rate = g.rng.uniform(*sector.tax_rate)
    if high_tech or specialized:
        rd_rate = g.rng.uniform(0.03, 0.07)
    elif kind == "company" and section in {"C", "M", "I"} and g.rng.random() < 0.3:
        rd_rate = g.rng.uniform(0.003, 0.02)
    else:
        rd_rate = 0.0
    wage = g.rng.uniform(4.5, 7.5)  # 万元 a year
    rows: list[FigureRecord] = []
    for year in reversed(years):  # latest first, then backwards with year-on-year growth
        emp = max(1, round(employees))
        layoffs = 0
        if rows:
            later = rows[-1]
            if later.employees < emp:
                layoffs = min(emp - later.employees + g.rng.randint(0, 2), emp)
        elif kind == "company" and g.rng.random() < 0.05:
            layoffs = g.rng.randint(1, max(1, emp // 10))
        trade = revenue * (part_year if year == registered_on.year else 1.0)
        rows.append(FigureRecord(
            year=year,
            employees=emp,
            revenue_wan=_money(trade),
            assets_wan=_money(revenue * asset_ratio),
            taxes_wan=_money(trade * tax_rate),
            rd_wan=_money(trade * rd_rate) if kind == "company" else None,
            unemployment_insurance_wan=_money(emp * wage * 0.005) if kind == "company" else None,
            layoffs=layoffs,
        ))
        revenue /= math.exp(g.rng.gauss(0.06, 0.15))
        employees /= math.exp(g.rng.gauss(0.02, 0.08))
    rows.reverse()  # oldest first
    return rows


def generate_enterprises(seed: int, n: int, regions: list[RegionRecord] | None = None) -> list[EnterpriseRecord]:
    """``n`` market entities (about 75 % 个体工商户, 23 % 企业, 2 % 农民专业合作社), with names, people,
    credit codes and yearly figures.  Pure: no database access; the same arguments give the same
    records."""
    known = {i.code for i in industries.all_classes()}
    for code, *_rest in COMPANY_INDUSTRIES + INDIVIDUAL_INDUSTRIES + COOPERATIVE_INDUSTRIES:
        if code not in known:  # pragma: no cover - guards the tables above
            raise ValueError(f"unknown GB/T 4754-2017 class {code}")
    regions = regions if regions is not None else generate_regions(seed)
    townships = [r for r in regions if r.level == "township"]
    weights = {COUNTY6 + c + "000": w for c, _n, w in TOWNSHIPS}
    villages: dict[str, list[str]] = {}
    for r in regions:
        if r.level == "village" and r.parent_code:
            villages.setdefault(r.parent_code, []).append(r.name)
    park_by_name = {name: (COUNTY6 + code3 + "000", roads) for name, _lvl, code3, roads in PARKS}
    tname = {t.code: t.name for t in townships}

    g = _Gen(seed, "enterprises")
    used_codes: set[str] = set()
    used_names: set[str] = set()
    tables = {
        "company": (COMPANY_INDUSTRIES, [c[1] for c in COMPANY_INDUSTRIES]),
        "individual": (INDIVIDUAL_INDUSTRIES, [c[1] for c in INDIVIDUAL_INDUSTRIES]),
        "cooperative": (COOPERATIVE_INDUSTRIES, [c[1] for c in COOPERATIVE_INDUSTRIES]),
    }
    town_codes = tuple(t.code for t in townships)
    town_weights = [weights.get(c, 1) for c in town_codes]
    anchors = max(1, n // 6000)
    out: list[EnterpriseRecord] = []
    for _ in range(n):
        r = g.rng.random()
        kind = "individual" if r < 0.75 else ("company" if r < 0.98 else "cooperative")
        entity_class = {"company": "1", "individual": "2", "cooperative": "3"}[kind]
        table, tw = tables[kind]
        code, _w, words, sector = _weighted(g.rng, table, tw)
        ind = industries.get(code)
        section = ind.section if ind else ""
        division = code[:2]
        registered_on = _registration_date(g, kind)
        z = g.rng.gauss(0, 1)
        if kind == "company" and section == "C" and anchors > 0 and g.rng.random() < 0.01:
            z = g.rng.uniform(3.6, 4.2)  # one of the county's few large manufacturers
            anchors -= 1

        # place: parks take much of manufacturing and tech
        park = None
        if kind == "company":
            p = g.rng.random()
            if section == "C":
                park = ECON_PARK if p < 0.55 else (TECH_PARK if p < 0.72 else None)
            elif division == "65" or section == "M":
                park = TECH_PARK if p < 0.4 else None
            elif division in {"51", "54", "59"}:
                park = ECON_PARK if p < 0.15 else None
        if park:
            township, roads = park_by_name[park]
        else:
            township = _weighted(g.rng, town_codes, town_weights)
            roads = ROADS
        town = tname[township]
        village = g.rng.choice(villages.get(township) or [town])

        legal_rep, male = g.person(0.72 if kind == "company" else 0.55)
        latest = min(2002, registered_on.year - 20)
        earliest = max(1950, registered_on.year - 62)
        birth = g.date_between(dt.date(earliest, 1, 1), dt.date(latest, 12, 28))
        id_number = g.id_number(birth, male)
        contact = legal_rep if g.rng.random() < 0.6 or kind != "company" else g.person()[0]

        # name
        word = g.rng.choice(words)
        for attempt in range(100):
            if kind == "company":
                place = g.rng.choices(("瑞金市", "瑞金", "江西"), weights=(70, 20, 10 + 30 * (z > 1.5)), k=1)[0]
                tail = "有限公司"
                if z > 2 and g.rng.random() < 0.3:
                    tail = "股份有限公司"
                elif g.rng.random() < 0.1:
                    tail = "有限责任公司"
                name = f"{place}{_brand(g)}{word}{tail}"
            elif kind == "individual":
                surname = legal_rep[0]
                style = g.rng.random()
                if section == "A":
                    hamlet = village.removesuffix("村").removesuffix("社区")
                    shop = legal_rep if style < 0.5 else f"{hamlet}{_brand(g)}"
                elif style < 0.3:
                    shop = f"{surname}记"
                elif style < 0.45:
                    shop = f"老{surname}"
                else:
                    shop = _brand(g)
                name = f"瑞金市{town}{shop}{word}"
            else:
                name = f"瑞金市{village}{_brand(g) if attempt else ''}{word}专业合作社"
            if attempt > 50:
                name = f"{name}（{attempt - 49}）"
            if name not in used_names:
                used_names.add(name)
                break

        # address
        if park:
            address = f"江西省瑞金市{park.removeprefix(PLACE)}{g.rng.choice(roads)}{g.rng.randint(1, 99)}号"
        elif town.endswith("街道") or town == "象湖镇" or (kind == "company" and g.rng.random() < 0.5):
            address = f"江西省瑞金市{town}{g.rng.choice(roads)}{g.rng.randint(1, 399)}号"
        else:
            address = f"江西省瑞金市{town}{village}{g.rng.randint(1, 12)}组{g.rng.randint(1, 80)}号"

        high_tech = specialized = qualified = False
        if kind == "company":
            rough = sector.median * math.exp(sector.sigma * z)
            if section in HIGH_TECH_SECTIONS or division in HIGH_TECH_DIVISIONS:
                p = 0.12 + 0.3 * (rough >= 1000) + 0.25 * (rough >= 3000)
                high_tech = registered_on.year <= 2023 and g.rng.random() < p
            if section == "C" and rough >= 300:
                specialized = registered_on.year <= 2022 and g.rng.random() < (0.45 if high_tech else 0.15)
            if section == "E":
                qualified = g.rng.random() < (0.1 + 0.4 * (rough >= 1500))

        with_figures = kind == "company" or g.rng.random() < (0.3 if kind == "individual" else 0.5)
        figures = _figures(g, sector, z, kind, registered_on, high_tech=high_tech, specialized=specialized,
                           section=section) if with_figures else []
        scale = sector.median * math.exp(sector.sigma * z)
        out.append(EnterpriseRecord(
            uscc=_credit_code(g, entity_class, registered_on, used_codes),
            name=name,
            kind=kind,
            legal_rep=legal_rep,
            legal_rep_id_number=id_number,
            registered_on=registered_on,
            registered_capital_wan=_capital(g, kind, scale),
            industry_code=code,
            township_code=township,
            park=park,
            address=address,
            contact_name=contact,
            contact_phone=g.mobile(),
            is_high_tech=high_tech,
            is_specialized=specialized,
            has_construction_qualification=qualified,
            figures=figures,
        ))
    return out


# ------------------------------------------------------------------------------------- database


def _say(stdout: Any, text: str) -> None:
    if stdout is not None:
        stdout.write(text)


def build_demo_county(*, enterprises: int = 20000, seed: int = 2026, stdout: Any = None) -> dict[str, Any]:
    """Write the demo county: regions, departments, parks, ``enterprises`` market entities with
    their yearly figures, audit records and demo accounts (password ``settings.DEMO_PASSWORD``).
    Raises :class:`DemoCountyExists` when the county code is already in the database."""
    from django.conf import settings
    from django.db import transaction

    from yingshang.enterprises.models import Enterprise, YearFigure
    from yingshang.enterprises.services import derive_size

    from .audit import Entry, audit_record_many
    from .models import Department, Park, Region, Role
    from .services import user_create

    if enterprises < 0:
        raise ValueError("enterprises must be >= 0")
    if Region.objects.filter(code=COUNTY[0]).exists():
        raise DemoCountyExists(f"演示县 {COUNTY[1]}（{COUNTY[0]}）已存在 / the demo county {COUNTY[0]} already exists")

    counts: dict[str, Any] = {}
    with transaction.atomic():
        # regions, level by level so that parents have primary keys
        records = generate_regions(seed)
        by_code: dict[str, Region] = {}
        created_regions = 0
        for level in ("province", "prefecture", "county", "township", "village"):
            batch = []
            for rec in (r for r in records if r.level == level):
                existing = None
                if level in ("province", "prefecture"):  # shared with other counties
                    existing = Region.objects.filter(code=rec.code).first()
                if existing is not None:
                    by_code[rec.code] = existing
                    continue
                batch.append(Region(code=rec.code, name=rec.name, level=level,
                                    parent=by_code[rec.parent_code] if rec.parent_code else None))
            Region.objects.bulk_create(batch)
            if batch and batch[0].pk is None:  # backends without RETURNING
                batch = list(Region.objects.filter(code__in=[b.code for b in batch]))
            by_code.update({b.code: b for b in batch})
            created_regions += len(batch)
        county = by_code[COUNTY[0]]
        counts["regions"] = created_regions
        counts["townships"] = sum(1 for r in records if r.level == "township")
        counts["villages"] = sum(1 for r in records if r.level == "village")
        _say(stdout, f"regions: {created_regions} ({counts['townships']} townships/streets, "
                     f"{counts['villages']} villages/communities)")

        depts = [Department(code=c, name=n, short_name=s, region=county, is_office=o)
                 for c, n, s, o in DEPARTMENTS]
        for d in depts:
            d.save()
        dept = {d.code: d for d in depts}
        parks = [Park(name=name, level=lvl, region=by_code[COUNTY6 + code3 + "000"])
                 for name, lvl, code3, _r in PARKS]
        for p in parks:
            p.save()
        park_by_name = {p.name: p for p in parks}
        counts["departments"], counts["parks"] = len(depts), len(parks)
        entries = [Entry("demo.seed", "core.Region", "batch-1", f"{COUNTY[1]} 行政区划",
                         after={"count": created_regions, "county": COUNTY[0], "seed": seed})]
        entries += [Entry("demo.seed", "core.Department", str(d.pk), d.name,
                          after={"code": d.code, "name": d.name, "is_office": d.is_office}) for d in depts]
        entries += [Entry("demo.seed", "core.Park", str(p.pk), p.name,
                          after={"name": p.name, "level": p.level, "region": p.region.code}) for p in parks]
        audit_record_many(actor=None, entries=entries)

        # market entities
        recs = generate_enterprises(seed, enterprises, records)
        _say(stdout, f"generated {len(recs)} market entities")
        batch_size = 1000
        figures_total = 0
        candidates: list[tuple[Decimal, str, str]] = []  # 四上 companies: (revenue, uscc, section)
        for start in range(0, len(recs), batch_size):
            chunk = recs[start:start + batch_size]
            objs = []
            for rec in chunk:
                latest = rec.figures[-1] if rec.figures else None
                fig = YearFigure(**vars(latest)) if latest else None
                size, above = derive_size(rec.industry_code, fig, rec.has_construction_qualification)
                if above and rec.kind == "company" and latest is not None and latest.revenue_wan is not None:
                    section = industries.section_of(rec.industry_code) or ""
                    candidates.append((latest.revenue_wan, rec.uscc, section))
                objs.append(Enterprise(
                    uscc=rec.uscc, name=rec.name, kind=rec.kind, legal_rep=rec.legal_rep,
                    legal_rep_id_number=rec.legal_rep_id_number, registered_on=rec.registered_on,
                    registered_capital_wan=rec.registered_capital_wan, industry_code=rec.industry_code,
                    region=by_code[rec.township_code], park=park_by_name[rec.park] if rec.park else None,
                    address=rec.address, contact_name=rec.contact_name, contact_phone=rec.contact_phone,
                    is_high_tech=rec.is_high_tech, is_specialized=rec.is_specialized,
                    has_construction_qualification=rec.has_construction_qualification,
                    size_class=size, above_designated=above, figures_year=latest.year if latest else None,
                ))
            Enterprise.objects.bulk_create(objs, batch_size=batch_size)
            if objs and objs[0].pk is None:  # backends without RETURNING
                ids = dict(Enterprise.objects.filter(uscc__in=[o.uscc for o in objs]).values_list("uscc", "pk"))
                for o in objs:
                    o.pk = ids[o.uscc]
            figs = [YearFigure(enterprise_id=o.pk, **vars(f)) for o, rec in zip(objs, chunk) for f in rec.figures]
            YearFigure.objects.bulk_create(figs, batch_size=2000)
            figures_total += len(figs)
            n_batch = start // batch_size + 1
            audit_record_many(actor=None, entries=[Entry(
                "demo.seed", "enterprises.Enterprise", f"batch-{n_batch}", f"演示市场主体第 {n_batch} 批",
                after={"count": len(objs), "year_figures": len(figs), "first_uscc": objs[0].uscc,
                       "last_uscc": objs[-1].uscc},
            )])
            _say(stdout, f"  enterprises {start + len(objs)}/{len(recs)}")
        counts["enterprises"] = len(recs)
        counts["year_figures"] = figures_total
        counts["by_kind"] = dict(Counter(r.kind for r in recs))

        qs = Enterprise.objects.filter(region__parent=county)
        counts["above_designated"] = qs.filter(above_designated=True).count()
        counts["size_classes"] = {
            k: v
            for k, v in Counter(qs.exclude(size_class="").values_list("size_class", flat=True)).most_common()
        }
        counts["high_tech"] = qs.filter(is_high_tech=True).count()
        counts["specialized"] = qs.filter(is_specialized=True).count()
        counts["in_parks"] = qs.filter(park__isnull=False).count()

        # demo accounts
        people = _Gen(seed, "accounts")
        people.fake.seed_instance(seed + 100003)
        password = settings.DEMO_PASSWORD
        accounts: list[tuple[str, str, str]] = []

        def account(username: str, role: str, *, department: Department | None = None, enterprise: Any = None,
                    full_name: str = "", phone: str = "") -> None:
            full_name = full_name or people.person(0.6)[0]
            user = user_create(actor=None, username=username, password=password, role=role, full_name=full_name,
                               phone=phone or people.mobile(), department=department, enterprise=enterprise,
                               is_demo=True)
            label = str(Role(role).label)
            if department is not None:
                label += f"（{department.short_name}）"
            accounts.append((user.username, label, user.full_name))

        account("dispatcher", Role.DISPATCHER, department=dept["YSB"])
        account("leader", Role.LEADER)
        for code, short in (("GXJ", "gxj"), ("SCJG", "scjg"), ("RSJ", "rsj")):
            account(f"handler_{short}", Role.HANDLER, department=dept[code])
            account(f"head_{short}", Role.HEAD, department=dept[code])
        account("inspector", Role.INSPECTOR, department=dept["SCJG"])
        account("auditor", Role.AUDITOR)
        account("security", Role.SECURITY)
        # three 四上 companies, largest first, from different sections where possible
        candidates.sort(key=lambda c: (-c[0], c[1]))
        chosen: list[str] = []
        seen_sections: set[str] = set()
        for _rev, code, sec in candidates:
            if sec not in seen_sections:
                chosen.append(code)
                seen_sections.add(sec)
            if len(chosen) == 3:
                break
        for _rev, code, _sec in candidates:
            if len(chosen) == 3:
                break
            if code not in chosen:
                chosen.append(code)
        by_uscc = Enterprise.objects.in_bulk(chosen, field_name="uscc")
        picked = [by_uscc[c] for c in chosen]
        for i, ent in enumerate(picked, start=1):
            account(f"ent{i}", Role.ENTERPRISE, enterprise=ent, full_name=ent.contact_name,
                    phone=ent.contact_phone)
        counts["accounts"] = accounts
        counts["account_enterprises"] = [(f"ent{i}", e.name, e.uscc) for i, e in enumerate(picked, start=1)]
    return counts

"""Default appeal categories (the issue's list), with resolution limits in working days and the
keywords the rule-based suggester starts from.  The office edits them afterwards."""

DEFAULTS = [
    # code, name, resolve days (normal, urgent), keywords
    ("01", "政策咨询", 3, 1, "政策,咨询,补贴,奖补,申报,兑现,优惠,减免,条件"),
    ("02", "融资", 10, 3, "贷款,融资,银行,担保,授信,利率,资金,还款,续贷"),
    ("03", "用工", 10, 3, "招工,用工,工人,社保,人才,培训,工资,招聘,劳动"),
    ("04", "用地/厂房", 13, 5, "土地,用地,厂房,规划,租金,标准厂房,不动产,产权"),
    ("05", "审批办证", 5, 2, "审批,办证,许可,证照,营业执照,备案,资质,施工许可,验收"),
    ("06", "执法监管", 10, 3, "检查,执法,处罚,罚款,监管,整改,查封,投诉"),
    ("07", "水电气", 5, 1, "用电,停电,供水,停水,燃气,天然气,电力,管道,接入,网络"),
    ("08", "知识产权", 13, 5, "专利,商标,知识产权,侵权,版权"),
    ("09", "法律纠纷", 13, 5, "纠纷,欠款,合同,诉讼,仲裁,拖欠,账款,律师"),
    ("99", "其他", 10, 3, ""),
]



def ensure_default_categories(Category=None) -> None:  # type: ignore[no-untyped-def]
    if Category is None:
        from .models import Category
    for code, name, days, urgent, keywords in DEFAULTS:
        Category.objects.get_or_create(code=code, defaults={"name": name, "resolve_days": days,
                                                            "resolve_days_urgent": urgent, "keywords": keywords})

"""Category / lead-department suggestions and duplicate detection for appeals."""

from __future__ import annotations

import datetime as dt

import pytest
from tests.conftest import submit_appeal

from yingshang.appeals import suggest
from yingshang.appeals.demo import build_appeal_history
from yingshang.appeals.duplicates import possible_duplicates
from yingshang.core.demo import build_demo_county


@pytest.fixture(autouse=True)
def _fresh_model():  # type: ignore[no-untyped-def]
    suggest.clear_cache()
    yield
    suggest.clear_cache()


def test_tokens_drop_stop_words_and_punctuation():
    toks = suggest.tokens("我们公司厂区频繁停电，请协调供电公司！2026")
    assert "停电" in toks
    assert not {"我们", "公司", "，", "！", "2026"} & set(toks)


def test_keyword_fallback_without_history(appeal_county):
    out = suggest.suggest("近一个月停电三次，影响生产，请协调供电所尽快处理")
    assert out["method"] == "keywords"
    assert out["categories"][0][:2] == ("07", "水电气")
    assert 0 < out["categories"][0][2] <= 1
    loan = suggest.suggest("流动资金贷款到期，银行要求追加担保才能续贷")
    assert loan["categories"][0][0] == "02"
    assert suggest.suggest("天气不错")["categories"] == []


def test_keyword_fallback_uses_the_default_department(appeal_county):
    from yingshang.appeals.models import Category

    Category.objects.filter(code="07").update(default_department=appeal_county.dept_a)
    out = suggest.suggest("厂区停电")
    assert out["departments"][0][0] == appeal_county.dept_a.pk


def test_model_on_the_demo_history(db):
    build_demo_county(enterprises=300, seed=11)
    stats = build_appeal_history(seed=11, count=200, today=dt.date(2026, 6, 30))
    assert stats["appeals"] == 200
    out = suggest.suggest("园区厂房频繁停电，用电增容迟迟不能接入，影响生产")
    assert out["method"] == "model"
    assert out["categories"][0][0] == "07"
    assert len(out["categories"]) == 3 and len(out["departments"]) == 3
    assert abs(sum(c[2] for c in out["categories"])) <= 1.0001
    assert [c[2] for c in out["categories"]] == sorted((c[2] for c in out["categories"]), reverse=True)
    cached = suggest._cached
    suggest.suggest("银行抽贷断贷")
    assert suggest._cached is cached  # same history: same model
    result = suggest.evaluate(holdout=0.2, seed=1)
    print("\nsuggest.evaluate on 200 demo appeals:", result)
    for what in ("category", "department"):
        top1, top3 = result[f"{what}_top1"], result[f"{what}_top3"]
        assert 0 <= top1 <= top3 <= 1
    assert result["category_top1"] > result["baseline_category_top1"]
    assert result == suggest.evaluate(holdout=0.2, seed=1)  # reproducible


def test_model_retrains_when_history_grows(db):
    build_demo_county(enterprises=200, seed=12)
    build_appeal_history(seed=12, count=80, today=dt.date(2026, 6, 30))
    first = suggest.suggest("招工难")
    assert first["method"] == "model"
    key = suggest._cached.key
    build_appeal_history(seed=13, count=10, today=dt.date(2026, 6, 30))
    suggest.suggest("招工难")
    assert suggest._cached.key != key


def test_possible_duplicates(appeal_county):
    c = appeal_county
    first = submit_appeal(c)
    again = submit_appeal(c, title="园区厂房频繁停电", content="近一个月停电三次，影响生产，请尽快协调供电公司。")
    other_topic = submit_appeal(c, title="申请技术改造补贴", content="想了解今年技术改造补贴的申报条件。")
    from yingshang.appeals.models import Category

    other_ent = submit_appeal(c, actor=c.ent_user_b, enterprise=c.ent_b, category=Category.objects.get(code="07"))
    found = possible_duplicates(first)
    assert [a.pk for a, _s in found] == [again.pk]
    assert 0.5 <= found[0][1] <= 1
    assert other_ent.pk not in [a.pk for a, _s in possible_duplicates(first, threshold=0.0)]
    assert other_topic.pk not in [a.pk for a, _s in found]
    # outside the window
    from yingshang.appeals.models import Appeal

    Appeal.objects.filter(pk=again.pk).update(created_at=first.created_at - dt.timedelta(days=40))
    assert possible_duplicates(first) == []
    assert [a.pk for a, _s in possible_duplicates(first, days=60)] == [again.pk]

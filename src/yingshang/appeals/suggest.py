"""Suggest a category and a lead department for a new appeal from its title and content.

Two methods:

* ``model`` — a multinomial naive Bayes classifier (pure Python, Laplace smoothing) trained on the
  county's own dispatched history: every appeal with a lead department whose status is neither
  待派单 nor 已合并.  Labels are the category code and the lead department.  Used once the history
  has :data:`MIN_HISTORY` examples.
* ``keywords`` — the configured ``Category.keywords`` (and ``Category.default_department``), for a
  county that has not yet built up a history.

Text is segmented with jieba.  The trained model is cached per process, keyed by the number and the
largest id of the training rows, so it is retrained as the history grows.
"""

from __future__ import annotations

import logging
import math
import random
import re
import threading
from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any

import jieba

jieba.setLogLevel(logging.WARNING)

#: below this many dispatched appeals the keyword rules are used instead of the model
MIN_HISTORY = 50
ALPHA = 0.5  # Laplace / Lidstone smoothing

STOP_WORDS = frozenset("""
的 了 和 与 及 或 是 在 有 也 都 就 而 并 但 对 为 于 以 从 向 把 被 将 让 给 由 等 一 个 这 那 其 之 所 该 此 各
我 我们 你 你们 他 他们 它 本 贵 其他 另外 一些 一下 一直 已经 还 再 又 很 较 更 最 能 会 可 可以 要 需 需要 想
请 请求 希望 恳请 麻烦 帮助 帮忙 协调 解决 问题 情况 反映 诉求 目前 现在 近期 最近 今年 去年 由于 因为 所以 如果
公司 企业 我司 本公司 本企业 单位 相关 部门 有关 方面 进行 开展 影响 一些 没有 不 没 是否 什么 如何 怎么 多少
关于 尽快 及时 能否 是否 给予 予以 支持 感谢 谢谢 您好 你好 目前 已 未 仍 仍然 多次 一次 两次 三次
""".split())

_KEEP = re.compile(r"[\u4e00-\u9fffA-Za-z]")


def tokens(text: str) -> list[str]:
    """jieba tokens of ``text`` without stop words, punctuation, numbers and whitespace."""
    out = []
    for tok in jieba.lcut(text or ""):
        tok = tok.strip().lower()
        if tok and tok not in STOP_WORDS and _KEEP.search(tok):
            out.append(tok)
    return out


# ------------------------------------------------------------------------------------- the model


@dataclass
class NaiveBayes:
    """Multinomial naive Bayes over token counts."""

    alpha: float = ALPHA
    class_docs: Counter = field(default_factory=Counter)
    token_counts: dict[Hashable, Counter] = field(default_factory=lambda: defaultdict(Counter))
    class_tokens: Counter = field(default_factory=Counter)
    vocab: set[str] = field(default_factory=set)
    n_docs: int = 0

    def fit(self, docs: Iterable[list[str]], labels: Iterable[Hashable]) -> NaiveBayes:
        for toks, label in zip(docs, labels):
            self.n_docs += 1
            self.class_docs[label] += 1
            c = Counter(toks)
            self.token_counts[label].update(c)
            self.class_tokens[label] += sum(c.values())
            self.vocab.update(c)
        return self

    def posterior(self, toks: list[str]) -> list[tuple[Hashable, float]]:
        """(label, probability) for every class, most probable first."""
        if not self.n_docs:
            return []
        counts = Counter(t for t in toks if t in self.vocab)
        v = len(self.vocab)
        scores = {}
        for label, nd in self.class_docs.items():
            tc = self.token_counts[label]
            denom = math.log(self.class_tokens[label] + self.alpha * v)
            s = math.log(nd / self.n_docs)
            for tok, n in counts.items():
                s += n * (math.log(tc.get(tok, 0) + self.alpha) - denom)
            scores[label] = s
        top = max(scores.values())
        exp = {k: math.exp(s - top) for k, s in scores.items()}
        total = sum(exp.values())
        return sorted(((k, e / total) for k, e in exp.items()), key=lambda kv: (-kv[1], str(kv[0])))


@dataclass
class Model:
    category: NaiveBayes
    department: NaiveBayes
    key: tuple[int, int]


_lock = threading.Lock()
_cached: Model | None = None


def _history_qs():  # type: ignore[no-untyped-def]
    from .models import Appeal

    return (Appeal.objects.filter(lead_department__isnull=False)
            .exclude(status__in=[Appeal.Status.SUBMITTED, Appeal.Status.MERGED]))


def _history_key() -> tuple[int, int]:
    from django.db.models import Count, Max

    agg = _history_qs().aggregate(n=Count("id"), top=Max("id"))
    return agg["n"] or 0, agg["top"] or 0


def _history_rows() -> list[tuple[int, str, str, int]]:
    """(id, text, category code, lead department id), in id order."""
    rows = _history_qs().order_by("id").values_list("id", "title", "content", "category__code", "lead_department_id")
    return [(pk, f"{title}\n{content}", code, dept) for pk, title, content, code, dept in rows]


def _train(rows: list[tuple[int, str, str, int]], key: tuple[int, int] = (0, 0),
           toks: dict[int, list[str]] | None = None) -> Model:
    docs = [toks[r[0]] if toks else tokens(r[1]) for r in rows]
    return Model(category=NaiveBayes().fit(docs, [r[2] for r in rows]),
                 department=NaiveBayes().fit(docs, [r[3] for r in rows]), key=key)


def _model(key: tuple[int, int]) -> Model:
    global _cached
    with _lock:
        if _cached is None or _cached.key != key:
            _cached = _train(_history_rows(), key)
        return _cached


def clear_cache() -> None:
    global _cached
    with _lock:
        _cached = None


# ------------------------------------------------------------------------------------- suggestions


def _names() -> tuple[dict[str, tuple[str, bool]], dict[int, str]]:
    from yingshang.core.models import Department

    from .models import Category

    cats = {c: (n, a) for c, n, a in Category.objects.values_list("code", "name", "active")}
    depts = dict(Department.objects.values_list("id", "name"))
    return cats, depts


def _by_keywords(text: str, top: int) -> dict[str, Any]:
    from .models import Category

    low = (text or "").lower()
    scores: dict[str, float] = {}
    cats = list(Category.objects.filter(active=True).select_related("default_department"))
    for cat in cats:
        score = 0.0
        for kw in {k.strip().lower() for k in re.split(r"[,，、;；\s]+", cat.keywords or "") if k.strip()}:
            n = low.count(kw)
            score += n * len(kw)  # longer keywords (标准厂房) say more than short ones (厂房)
        if score:
            scores[cat.code] = score
    total = sum(scores.values())
    ranked = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
    by_code = {c.code: c for c in cats}
    categories = [(code, by_code[code].name, round(s / total, 4)) for code, s in ranked[:top]]
    # departments: the categories' configured default departments, else the history's usual lead
    dept_scores: dict[int, float] = defaultdict(float)
    dept_names: dict[int, str] = {}
    usual: dict[str, tuple[int, str]] = {}
    missing = [code for code, _s in ranked if by_code[code].default_department_id is None]
    if missing:
        seen = Counter(_history_qs().filter(category__code__in=missing)
                       .values_list("category__code", "lead_department_id", "lead_department__name"))
        for (code, dept_id, name), _n in seen.most_common():
            usual.setdefault(code, (dept_id, name))
    for code, s in ranked:
        cat = by_code[code]
        if cat.default_department is not None:
            dept_id, name = cat.default_department_id, cat.default_department.name
        elif code in usual:
            dept_id, name = usual[code]
        else:
            continue
        dept_scores[dept_id] += s / total
        dept_names[dept_id] = name
    dranked = sorted(dept_scores.items(), key=lambda kv: (-kv[1], kv[0]))
    departments = [(d, dept_names[d], round(s, 4)) for d, s in dranked[:top]]
    return {"categories": categories, "departments": departments, "method": "keywords"}


def suggest(text: str, top: int = 3) -> dict[str, Any]:
    """Suggested categories ``[(code, name, confidence)]`` and lead departments
    ``[(id, name, confidence)]``, best first, with the ``method`` used ("model" or "keywords").
    Confidences are the model's posterior probabilities (or the share of the keyword score).
    With no keyword match the keyword method returns empty lists."""
    key = _history_key()
    if key[0] < MIN_HISTORY:
        return _by_keywords(text, top)
    model = _model(key)
    toks = tokens(text)
    cats, depts = _names()
    categories = [(code, cats[code][0], round(p, 4)) for code, p in model.category.posterior(toks)
                  if code in cats and cats[code][1]][:top]
    departments = [(d, depts[d], round(p, 4)) for d, p in model.department.posterior(toks) if d in depts][:top]
    return {"categories": categories, "departments": departments, "method": "model"}


def evaluate(holdout: float = 0.2, seed: int = 1) -> dict[str, Any]:
    """Train on a random (seeded) ``1 - holdout`` share of the history and measure top-1 and top-3
    accuracy of the category and the lead department on the rest.  Also gives the majority-class
    baseline (always answering the most frequent label of the training part)."""
    if not 0 < holdout < 1:
        raise ValueError("holdout must be between 0 and 1")
    rows = _history_rows()
    out: dict[str, Any] = {"n": len(rows), "n_train": 0, "n_test": 0, "category_top1": None, "category_top3": None,
                           "department_top1": None, "department_top3": None, "baseline_category_top1": None,
                           "baseline_department_top1": None}
    if len(rows) < 2:
        return out
    rng = random.Random(seed)
    rows = rows[:]
    rng.shuffle(rows)
    n_test = min(len(rows) - 1, max(1, round(len(rows) * holdout)))
    test, train = rows[:n_test], rows[n_test:]
    toks = {r[0]: tokens(r[1]) for r in rows}
    model = _train(train, toks=toks)
    hits = Counter()
    for pk, _text, code, dept in test:
        cat_rank = [c for c, _p in model.category.posterior(toks[pk])]
        dept_rank = [d for d, _p in model.department.posterior(toks[pk])]
        hits["category_top1"] += cat_rank[:1] == [code]
        hits["category_top3"] += code in cat_rank[:3]
        hits["department_top1"] += dept_rank[:1] == [dept]
        hits["department_top3"] += dept in dept_rank[:3]
    major_cat = model.category.class_docs.most_common(1)[0][0]
    major_dept = model.department.class_docs.most_common(1)[0][0]
    hits["baseline_category_top1"] = sum(r[2] == major_cat for r in test)
    hits["baseline_department_top1"] = sum(r[3] == major_dept for r in test)
    out.update({"n_train": len(train), "n_test": n_test})
    for k in ("category_top1", "category_top3", "department_top1", "department_top3", "baseline_category_top1",
              "baseline_department_top1"):
        out[k] = round(hits[k] / n_test, 4)
    return out


_evaluations: dict[tuple[Any, ...], dict[str, Any]] = {}


def evaluate_current(holdout: float = 0.2, seed: int = 1) -> dict[str, Any]:
    """``evaluate`` on the history as it is now, remembered until the history changes."""
    key = (*_history_key(), holdout, seed)
    with _lock:
        found = _evaluations.get(key)
    if found is None:
        found = evaluate(holdout=holdout, seed=seed)
        found["min_history"] = MIN_HISTORY
        with _lock:
            _evaluations.clear()
            _evaluations[key] = found
    return found

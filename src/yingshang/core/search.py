"""Chinese text search for lists: the query is segmented with jieba (search mode), and a row matches
when every word of the query appears in at least one of the searched fields — so "研发补助" finds
"研发费用补助", and "高新 奖励" finds "高新技术企业认定奖励".  Words that say nothing on their own
(的、和、企业、政策 …) are dropped unless nothing else is left.  A substring match on the whole query
is always accepted too (codes, 文号, names typed exactly)."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from functools import lru_cache

from django.db.models import Q

_FILLER = frozenset("""
的 了 和 与 及 或 在 对 为 是 有 等 个 之 其 中 上 下 关于 有关 相关 若干 一些 以及 并 而 或者
企业 政策 措施 事项 办法 通知 意见 实施 实施细则 细则 支持 促进 推动 加快 进一步 我 我们 哪些 怎么 如何 什么
""".split())
_WORD = re.compile(r"[\u4e00-\u9fffA-Za-z0-9]")
_MAX_WORDS = 8


@lru_cache(maxsize=1)
def _jieba():  # type: ignore[no-untyped-def]
    import jieba

    jieba.setLogLevel(logging.WARNING)
    return jieba


@lru_cache(maxsize=512)
def words(query: str) -> tuple[str, ...]:
    """The query's search words, longest first, without fillers and words contained in a longer one."""
    query = (query or "").strip()[:100]
    if not query:
        return ()
    found: list[str] = []
    for part in query.split():
        for tok in _jieba().cut(part, cut_all=False):
            tok = tok.strip().lower()
            if tok and _WORD.search(tok) and tok not in found:
                found.append(tok)
    kept = [w for w in found if w not in _FILLER] or found
    kept.sort(key=len, reverse=True)
    out: list[str] = []
    for w in kept:
        if not any(w in longer for longer in out):
            out.append(w)
    return tuple(out[:_MAX_WORDS])


def text_q(query: str, fields: Sequence[str]) -> Q:
    """A filter: every query word in some field, or the whole query in some field."""
    query = (query or "").strip()
    if not query:
        return Q()
    whole = Q()
    for f in fields:
        whole |= Q(**{f"{f}__icontains": query})
    every = Q()
    for w in words(query):
        one = Q()
        for f in fields:
            one |= Q(**{f"{f}__icontains": w})
        every &= one
    return whole | every if words(query) else whole

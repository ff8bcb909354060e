"""Possible duplicates of an appeal: the same enterprise raising the same matter again (through
another channel, or a second time while the first is still open)."""

from __future__ import annotations

import datetime as dt

from .models import Appeal
from .suggest import tokens


def _token_set(appeal: Appeal) -> set[str]:
    return set(tokens(f"{appeal.title}\n{appeal.content}"))


def jaccard(a: set[str], b: set[str]) -> float:
    if not a and not b:
        return 0.0
    return len(a & b) / len(a | b)


def possible_duplicates(appeal: Appeal, days: int = 30, threshold: float = 0.5) -> list[tuple[Appeal, float]]:
    """Other appeals of the same enterprise created within ``days`` of this one (before or after),
    not merged, whose title + content are at least ``threshold`` similar (Jaccard over jieba tokens
    without stop words and punctuation); most similar first, then newest first."""
    mine = _token_set(appeal)
    if not mine:
        return []
    window = dt.timedelta(days=days)
    qs = (Appeal.objects.filter(enterprise_id=appeal.enterprise_id,
                                created_at__gte=appeal.created_at - window,
                                created_at__lte=appeal.created_at + window)
          .exclude(pk=appeal.pk).exclude(status=Appeal.Status.MERGED))
    out = []
    for other in qs:
        sim = jaccard(mine, _token_set(other))
        if sim >= threshold:
            out.append((other, round(sim, 4)))
    out.sort(key=lambda pair: (-pair[1], -pair[0].created_at.timestamp(), -pair[0].pk))
    return out

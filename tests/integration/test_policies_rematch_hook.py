"""An enterprise's changed data (figures entered on its page) re-checks it against the published
items: the enterprises app tells its listeners, the policies app re-matches after commit."""

from __future__ import annotations

import pytest

from yingshang.enterprises import hooks


@pytest.mark.django_db
def test_figures_change_notifies_the_policy_matcher(county, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from yingshang.enterprises.services import year_figure_set

    seen: list[list[int]] = []
    monkeypatch.setattr(hooks, "_listeners", [seen.append])
    year_figure_set(actor=county.dispatcher, enterprise=county.ent_a, year=2025, values={"employees": 400})
    assert seen == [[county.ent_a.pk]]


def test_policies_app_listens() -> None:
    from yingshang.policies import matching

    assert matching.rematch_on_commit in hooks._listeners

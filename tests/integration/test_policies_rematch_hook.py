"""An enterprise's changed data (figures entered on its page) re-checks it against the published
items: the enterprises app tells its listeners, the policies app re-matches after commit."""

from __future__ import annotations

import pytest
from tests.integration import test_policies_services as svc

from yingshang.enterprises import hooks

# fixtures shared with the services tests
_policy_facts = svc._policy_facts
inline_tasks = svc.inline_tasks


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


def test_a_registry_import_rematches_the_enterprises_it_changed(county, request,  # type: ignore[no-untyped-def]
                                                                django_capture_on_commit_callbacks) -> None:
    """A registry import that adds a qualifying company matches it; a re-import with its revenue below
    the bar takes the match away — through the hook, after commit, as a task."""
    import io

    from tests.conftest import make_uscc
    from tests.integration.test_import import HEAD, as_csv
    from tests.integration.test_policies_services import at, published_item

    from yingshang.enterprises import importer
    from yingshang.enterprises.models import Enterprise
    from yingshang.policies import matching
    from yingshang.policies.models import Match

    c = county
    town = c.town_a.code
    ran = request.getfixturevalue("inline_tasks")

    def load(revenue: int) -> None:
        data = [HEAD, [make_uscc(131), "新入库制造有限公司", "企业", "C1711", town, "2015-03-02", "", 2025, 400,
                       revenue, 20000, "否"]]
        with django_capture_on_commit_callbacks(execute=True):
            rep = importer.import_enterprises(stream=io.BytesIO(as_csv(data)), name="r.csv", actor=c.dispatcher)
        assert rep.rejected == 0

    with at(2026, 3, 2):
        item = published_item(c, code="GY-31", mode="auto_grant")
        matching.match_all()
        load(30000)
        new = Enterprise.objects.get(uscc=make_uscc(131))
        assert ("rematch_enterprises_task", {"enterprise_ids": [new.pk]}) in ran
        assert Match.objects.filter(item=item, enterprise=new).exists()
        load(100)
        assert not Match.objects.filter(item=item, enterprise=new).exists()

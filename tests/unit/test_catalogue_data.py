"""Consistency checks of the demo service catalogue (service_items/data/catalogue.json); no database."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from functools import cache
from importlib.resources import files

import pytest

ITEM_TYPES = {"01", "02", "03", "04", "05", "06", "07", "08", "09", "10", "20"}
LEVELS = {"county", "township", "village"}
TREES = {"enterprise", "personal"}


@cache
def catalogue() -> dict:
    text = (files("yingshang.service_items") / "data" / "catalogue.json").read_text(encoding="utf-8")
    return json.loads(text)


def items() -> list[dict]:
    return catalogue()["items"]


def bundles() -> list[dict]:
    return catalogue()["bundles"]


def items_by_code() -> dict[str, dict]:
    return {i["code"]: i for i in items()}


def walk(nodes: list[dict]) -> Iterator[dict]:
    for node in nodes:
        yield node
        yield from walk(node["children"])


def is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def test_top_level_shape() -> None:
    data = catalogue()
    assert data["version"] == 1
    assert "演示" in data["source"] or "synthetic" in data["source"]
    assert set(data) >= {"version", "source", "departments", "items", "bundles", "trees"}


def test_enough_items_and_bundles() -> None:
    assert len(items()) >= 100
    assert len(bundles()) >= 10


def test_codes_are_unique() -> None:
    item_codes = [i["code"] for i in items()]
    bundle_codes = [b["code"] for b in bundles()]
    dept_codes = [d["code"] for d in catalogue()["departments"]]
    assert len(item_codes) == len(set(item_codes))
    assert len(bundle_codes) == len(set(bundle_codes))
    assert len(dept_codes) == len(set(dept_codes))
    assert not set(item_codes) & set(bundle_codes)


def test_item_fields_are_well_formed() -> None:
    for item in items():
        assert item["item_type"] in ITEM_TYPES, item["code"]
        assert item["name"].strip() and len(item["name"]) <= 200, item["code"]
        assert item["levels"] and set(item["levels"]) <= LEVELS, item["code"]
        assert item["legal_basis"].strip() and item["conditions"].strip(), item["code"]
        assert item["fees"].strip() and item["window"].strip() and item["hours"].strip(), item["code"]
        assert isinstance(item["online"], bool) and isinstance(item["notify_commit"], bool), item["code"]


def test_time_limits() -> None:
    for item in items():
        legal, promised = item["legal_days"], item["promised_days"]
        assert is_int(legal) and is_int(promised), item["code"]
        # 即办件 are promised 0; otherwise 0 < promised <= legal.
        assert 0 <= promised <= legal, item["code"]
        if legal == 0:
            assert promised == 0, item["code"]
    assert any(i["promised_days"] == 0 for i in items())
    assert any(i["promised_days"] > 0 for i in items())


def test_every_department_is_listed() -> None:
    departments = {d["code"]: d for d in catalogue()["departments"]}
    for dept in departments.values():
        assert dept["name"].strip() and dept["short"].strip()
    for item in items():
        assert item["department"] in departments, item["code"]
        sup = item["supervising_department"]
        assert sup is None or sup in departments, item["code"]
    for bundle in bundles():
        lead = bundle.get("lead_department")
        assert lead is None or lead in departments, bundle["code"]


def test_licences_are_supervised() -> None:
    supervised = [i for i in items() if i["item_type"] == "01" and i["supervising_department"]]
    assert len(supervised) >= 20
    assert all(i["supervising_department"] != i["department"] for i in supervised)


def test_materials() -> None:
    for item in items():
        materials = item["materials"]
        assert materials, item["code"]
        names = [m["name"] for m in materials]
        assert len(names) == len(set(names)), item["code"]
        for m in materials:
            assert m["name"].strip() and len(m["name"]) <= 200, item["code"]
            assert isinstance(m["original"], bool) and isinstance(m["tolerance_allowed"], bool), item["code"]
            assert is_int(m["copies"]) and m["copies"] >= 1, item["code"]
            template = m["template"]
            assert template is None or (isinstance(template, str) and "." in template), item["code"]
        # 容缺受理 is for non-essential materials: never every material of an item.
        assert not all(m["tolerance_allowed"] for m in materials), item["code"]


def test_shared_material_names_are_really_shared() -> None:
    usage = Counter(name for item in items() for name in {m["name"] for m in item["materials"]})
    shared = [name for name, n in usage.items() if n >= 5]
    assert len(shared) >= 5, usage.most_common(10)
    for name in ("营业执照", "法定代表人身份证明", "申请人身份证件", "授权委托书", "经营场所使用证明", "户口簿"):
        assert usage[name] >= 5, name


def test_bundles() -> None:
    by_code = items_by_code()
    for bundle in bundles():
        assert bundle["tree"] in TREES, bundle["code"]
        assert bundle["name"].strip() and bundle["description"].strip(), bundle["code"]
        members = bundle["items"]
        assert len(members) >= 2 and len(members) == len(set(members)), bundle["code"]
        missing = [c for c in members if c not in by_code]
        assert not missing, (bundle["code"], missing)
        promised = [by_code[c]["promised_days"] for c in members]
        assert is_int(bundle["promised_days"]), bundle["code"]
        assert max(promised) <= bundle["promised_days"] <= sum(promised), bundle["code"]


def test_both_trees_present() -> None:
    assert sorted(t["tree"] for t in catalogue()["trees"]) == sorted(TREES)


@pytest.mark.parametrize("tree_name", sorted(TREES))
def test_tree_references_exist(tree_name: str) -> None:
    tree = next(t for t in catalogue()["trees"] if t["tree"] == tree_name)
    item_codes = set(items_by_code())
    bundle_tree = {b["code"]: b["tree"] for b in bundles()}
    for node in walk(tree["nodes"]):
        assert node["name"].strip()
        for code in node["items"]:
            assert code in item_codes, (node["name"], code)
        for code in node["bundles"]:
            assert code in bundle_tree, (node["name"], code)
            assert bundle_tree[code] == tree_name, (node["name"], code)


@pytest.mark.parametrize("tree_name", sorted(TREES))
def test_every_bundle_is_in_its_tree(tree_name: str) -> None:
    tree = next(t for t in catalogue()["trees"] if t["tree"] == tree_name)
    placed = {code for node in walk(tree["nodes"]) for code in node["bundles"]}
    expected = {b["code"] for b in bundles() if b["tree"] == tree_name}
    assert expected, tree_name
    assert expected <= placed, sorted(expected - placed)


@pytest.mark.parametrize("tree_name", sorted(TREES))
def test_every_branch_leads_somewhere(tree_name: str) -> None:
    tree = next(t for t in catalogue()["trees"] if t["tree"] == tree_name)

    def leads(node: dict) -> bool:
        return bool(node["items"] or node["bundles"]) or any(leads(child) for child in node["children"])

    assert tree["nodes"]
    for node in walk(tree["nodes"]):
        assert leads(node), node["name"]
        assert all(leads(child) for child in node["children"]), node["name"]

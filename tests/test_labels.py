"""`framescout.labels`, the one set of label rules: what a label may hold, the limits, the codes of the
refusals, the wire form and selector matching."""

from __future__ import annotations

import pytest

from framescout.labels import (
    CODES,
    MAX_KEY,
    MAX_LABELS,
    MAX_QUERY,
    MAX_VALUE,
    LabelError,
    check_labels,
    covers,
    describe,
    matches,
    parse_labels,
    parse_query,
    to_query,
)


def test_labels_parse_check_and_travel_as_one_query_value() -> None:
    parsed = parse_labels(["site=north", " cam = 3 ", "path=a/b:c", "empty="])
    assert parsed == {"site": "north", "cam": "3", "path": "a/b:c", "empty": ""}
    assert to_query(parsed) == "cam=3,empty=,path=a/b:c,site=north"
    assert parse_query(to_query(parsed)) == parsed
    assert parse_query(None) == parse_query(" ") == parse_query("") == {} and to_query({}) == ""
    assert describe(parsed) == "cam=3, empty=, path=a/b:c, site=north" and describe({}) == "all devices"


def test_the_longest_allowed_labels_fit_the_query_bound() -> None:
    widest = {f"{i:02d}".ljust(MAX_KEY, "k"): "v" * MAX_VALUE for i in range(MAX_LABELS)}
    assert check_labels(widest) == widest and len(to_query(widest)) == MAX_QUERY
    assert parse_query(to_query(widest)) == widest


@pytest.mark.parametrize(
    ("items", "code", "says"),
    [
        (["site"], "invalid_label", "label 'site': write it as key=value"),
        (["=north"], "invalid_label", "label key ''"),
        (["-site=north"], "invalid_label", "label key '-site'"),
        (["bad key=x"], "invalid_label", "label key 'bad key'"),
        ([f"{'k' * (MAX_KEY + 1)}=x"], "invalid_label", f"1-{MAX_KEY} letters"),
        (["site=north,south"], "invalid_label", "label site: value 'north,south'"),
        (["site=a=b"], "invalid_label", "label site: value 'a=b'"),
        (["site=north pole"], "invalid_label", "value 'north pole'"),
        (["site=nörth"], "invalid_label", "value 'nörth'"),
        (["site=line\nbreak"], "invalid_label", "label site"),
        ([f"site={'v' * (MAX_VALUE + 1)}"], "invalid_label", f"({MAX_VALUE} at most)"),
        (["site=a", "site=a"], "invalid_label", "label site is given twice"),
        ([f"k{i}=v" for i in range(MAX_LABELS + 1)], "too_many_labels", f"at most {MAX_LABELS}"),
    ],
)
def test_refusals_carry_the_api_code_and_name_the_label(items: list[str], code: str, says: str) -> None:
    with pytest.raises(LabelError) as refused:
        parse_labels(items)
    assert refused.value.code == code and says in refused.value.message and code in CODES


def test_a_json_mapping_is_checked_by_the_same_rules() -> None:
    assert check_labels({"site": "north"}) == {"site": "north"}
    for labels in ({"site": "north,south"}, {"a=b": "c"}, {" site": "x"}):
        with pytest.raises(LabelError) as refused:
            check_labels(labels)
        assert refused.value.code == "invalid_label"


def test_a_selector_reaches_devices_carrying_all_its_labels() -> None:
    device = {"site": "north", "cam": "3"}
    assert matches({}, device) and matches({"site": "north"}, device) and matches(device, device)
    assert not matches({"site": "south"}, device) and not matches({"site": "north", "mount": "pole"}, device)
    assert not matches({"site": ""}, {})  # an empty value is a value, not "any"
    assert covers({}, {"site": "north"}) and covers({"site": "north"}, device)
    assert not covers({"site": "north"}, {})

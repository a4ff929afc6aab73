"""The dashboard's rule-yield panel over HTTP on both stores (its table, ranked, and its chart), and the
chart's layout: corrections per reviewed frame stacked by kind of change."""

from __future__ import annotations

import re

import pytest

from framescout.predictions.box import Box
from framescout.server.web.charts import CHANGE_COLOURS, PLOT_BOTTOM, yield_chart
from framescout.store.corrections import Changes
from framescout.store.review import save_review
from framescout.store.rule_yield import RuleYield
from server.conftest import Env
from server.web.test_pages import sign_in
from server.web.test_review_order import cams
from yield_frames import frame, predict

pytestmark = pytest.mark.both_backends

CAR = Box("car", 10, 10, 50, 50, 0.6)


def test_the_dashboard_ranks_the_rules_reviewers_corrected_most(env: Env) -> None:
    proj, store = cams(env), env.store
    busy = [frame(store, proj, i, [CAR], rule="low", version="1") for i in range(2)]
    calm = frame(store, proj, 5, [CAR], rule="random", version="1")
    frame(store, proj, 6, [CAR], rule="random", version="1")  # kept, not reviewed
    predict(env.client, env.auth(), calm, "2", [CAR, Box("dog", 100, 10, 140, 50, 0.3)])
    save_review(
        store.db, proj, busy[0], [Box("person", 10, 10, 50, 50), Box("car", 120, 50, 160, 90)], reviewer="r"
    )
    save_review(store.db, proj, busy[1], [], reviewer="r")
    save_review(store.db, proj, calm, [Box("car", 10, 10, 50, 50)], reviewer="r")
    sign_in(env)
    page = env.client.get("/ui/p/cams")
    assert page.status_code == 200
    table = page.text.split('id="rule-yield-table"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r'<tr data-rule="([^"]+)" data-version="([^"]*)">(.*?)</tr>', table, re.S)
    cells = [
        (rule, version, re.findall(r'<td class="num[^"]*">([^<]*)</td>', body))
        for rule, version, body in rows
    ]
    assert cells == [  # kept, reviewed, added, removed, relabelled, moved, unchanged, per frame
        ("low", "1", ["2", "2", "1", "1", "1", "0", "0", "1.50"]),
        ("random", "2", ["1", "1", "0", "1", "0", "0", "0", "1.00"]),
        ("random", "1", ["2", "1", "0", "0", "0", "0", "1", "0.00"]),
    ]
    chart = page.text.split('id="rule-yield-chart"', 1)[1].split("</svg>", 1)[0]
    assert chart.count("<rect") == 4  # low: added, removed, relabelled; random v2: removed
    assert "low · v1: 1 relabelled over 2 reviewed frame(s)" in chart
    versions = page.text.split('id="model-versions"', 1)[1].split("</table>", 1)[0]
    assert re.search(r'data-version="1">.*?class="num reviewed">3<', versions, re.S)  # the same pairing


def test_the_yield_chart_stacks_changes_per_reviewed_frame() -> None:
    rows = [
        RuleYield("low", "1", 4, Changes(reviewed=2, added=2, moved=1)),
        RuleYield("random", None, 3, Changes(reviewed=4, unchanged=3, removed=1)),
        RuleYield("every", "1", 5),  # no review: no bar
    ]
    chart = yield_chart(rows, width=400, height=200)
    assert [t for _, t in chart.y_ticks] == ["0", "1", "2"]  # low's 1.5 per frame on a 0..2 axis
    added, moved, removed = chart.bars
    assert (added.colour, moved.colour, removed.colour) == (
        CHANGE_COLOURS["added"], CHANGE_COLOURS["moved"], CHANGE_COLOURS["removed"]
    )  # fmt: skip
    assert added.y + added.height == pytest.approx(
        200 - PLOT_BOTTOM
    ) and moved.y + moved.height == pytest.approx(added.y)
    assert added.height == pytest.approx(2 * moved.height) and added.height == pytest.approx(
        4 * removed.height
    )
    assert [label for _, label in chart.x_labels] == ["low · v1", "random"]
    assert chart.legend[0] == (CHANGE_COLOURS["added"], "added", 2)
    assert yield_chart([RuleYield("every", "1", 5)]).empty
    assert yield_chart([RuleYield("calm", "1", 5, Changes(reviewed=3, unchanged=3))]).empty

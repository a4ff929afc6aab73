"""The rule-yield panel and the review queue's order in a real browser: Debian's Chromium driven by
Playwright against a real ``framescout serve``. Frames go up through the SDK with their predictions;
the reviews are saved in the server's store. Choosing an order in the review page's select opens that
order's first frame, and the choice is remembered. Screenshots go to ``test-output/screenshots/``."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from PIL import Image as PILImage

from framescout import Predictions
from framescout.client import Client
from framescout.predictions.box import Box
from framescout.server.process import ServerProcess
from framescout.store import Store
from framescout.store.accounts import get_project, get_workspace
from framescout.store.review import save_review
from server.web.conftest import signed_in_page
from server.web.test_browser_review import SHOTS

pytestmark = pytest.mark.slow


class YieldServer:
    def __init__(self, server: ServerProcess, key: str, ids: dict[str, str]) -> None:
        self.server, self.key, self.ids = server, key, ids

    @property
    def url(self) -> str:
        return self.server.url


def _jpeg(seed: int) -> bytes:
    out = io.BytesIO()
    PILImage.new("RGB", (96, 64), (seed * 40 % 256, 120, 200 - seed * 10)).save(out, format="JPEG")
    return out.getvalue()


def _cars(*confidences: float) -> Predictions:
    """Cars at (10, 10, 50, 50), then further right for each next one."""
    n = len(confidences)
    boxes = [[10 + 40 * i, 10, 50 + 40 * i, 50] for i in range(n)]
    return Predictions.from_arrays(boxes, list(confidences), [0] * n, class_name=["car"] * n)


@pytest.fixture(scope="module")
def yield_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[YieldServer]:
    data = tmp_path_factory.mktemp("yield") / "data"
    server = ServerProcess(data)
    key = server.create_key("acme")
    server.cli("projects", "create", "acme/street")
    frames = [  # name, rule, confidences: the reviewed four first (oldest), then the queue
        ("shifted", "near", (0.45,)),
        ("crowded", "near", (0.45, 0.5)),
        ("fixed", "random", (0.5,)),
        ("kept", "low", (0.5,)),
        ("old", "random", (0.9,)),
        ("mid", "low", (0.2,)),
        ("new", "random", (0.6,)),
        ("bare", "low", ()),
    ]
    with server, Client(server.url, key) as client:
        ids = {}
        for i, (name, rule, confidences) in enumerate(frames):
            result = client.upload_image(
                "acme/street",
                _jpeg(i),
                name=f"{name}.jpg",
                sampling_rule=rule,
                model_version="2" if rule == "near" else "1",
                predictions=_cars(*confidences) if confidences else None,
            )
            ids[name] = result.id
        store = Store.open(data)
        try:
            with store.db.reading() as session:
                proj = get_project(session, get_workspace(session, "acme"), "street")
            moved_and_added = [Box("car", 30, 30, 70, 60), Box("car", 60, 5, 90, 30)]
            save_review(store.db, proj, ids["shifted"], moved_and_added, reviewer="r")
            relabelled_one_removed = [Box("person", 10, 10, 50, 50)]
            save_review(store.db, proj, ids["crowded"], relabelled_one_removed, reviewer="r")
            save_review(store.db, proj, ids["fixed"], [Box("dog", 10, 10, 50, 50)], reviewer="r")
            save_review(store.db, proj, ids["kept"], [Box("car", 10, 10, 50, 50)], reviewer="r")
        finally:
            store.close()
        yield YieldServer(server, key, ids)


def test_the_rule_yield_panel_and_the_queue_order_in_the_browser(yield_server: YieldServer, browser) -> None:  # type: ignore[no-untyped-def]
    SHOTS.mkdir(parents=True, exist_ok=True)
    ids = yield_server.ids
    context, page, errors = signed_in_page(browser, yield_server)

    page.goto(f"{yield_server.url}/ui/p/street")
    rows = page.locator("#rule-yield-table tbody tr")
    assert [rows.nth(i).get_attribute("data-rule") for i in range(rows.count())] == ["near", "random", "low"]
    assert page.locator("#rule-yield-table tbody tr .per-frame").all_inner_texts() == ["2.00", "1.00", "0.00"]
    assert page.locator("#rule-yield-chart rect.bar").count() == 5  # near: one of each kind; random: 1
    page.locator("#rule-yield").scroll_into_view_if_needed()
    page.locator("#rule-yield").screenshot(path=str(SHOTS / "dashboard-rule-yield.png"))

    def current() -> str:
        return str(page.url).split("?")[0].rsplit("/", 1)[1]

    page.goto(f"{yield_server.url}/ui/p/street/review")  # the default: newest first
    assert current() == ids["bare"]
    assert page.input_value("#queue-order") == "newest"
    for order, first in (("uncertainty", "mid"), ("yield", "new"), ("oldest", "old")):
        with page.expect_navigation():
            page.select_option("#queue-order", order)
        assert current() == ids[first], order
        assert page.input_value("#queue-order") == order
    page.screenshot(path=str(SHOTS / "review-queue-order.png"))
    page.goto(f"{yield_server.url}/ui/p/street/review")  # remembered for this browser
    assert current() == ids["old"]
    assert errors == []
    context.close()

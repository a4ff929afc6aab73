"""The Evaluation page on real data over a real server: coco-tiny with the real NanoDet-m predictions as
version 1, the COCO annotations as ground truth and a degraded version 2 (the fixture of
``server/test_evaluation_live.py``). Over HTTP: the numbers on the page are `evaluate`'s on the boxes the
server stores, a confusion cell and a per-class count open exactly their frames in the image browser,
two versions side by side, the empty state. In Chromium: the same, with screenshots."""

from __future__ import annotations

import re
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from framescout.evaluation import Evaluation, evaluate
from framescout.server.web.browse import PAGE_SIZE
from server.test_evaluation_live import Measured, measured  # noqa: F401 (the module's fixture)
from server.web.test_browser_review import SHOTS, _sign_in
from server.web.test_pages import sign_in

pytestmark = pytest.mark.slow
PAGE = "/ui/p/evalcoco/evaluation"
HTML = {"Accept": "text/html"}


@pytest.fixture(scope="module")
def ui(measured: Measured) -> Iterator[httpx.Client]:  # noqa: F811
    with httpx.Client(base_url=measured.server.url, timeout=60) as client:
        signed = sign_in(SimpleNamespace(client=client, key=measured.key))
        assert signed.status_code == 303, signed.text
        yield client


@pytest.fixture(scope="module")
def expected(measured: Measured) -> dict[str, Evaluation]:  # noqa: F811
    """`evaluate` on the stored boxes: version 1 alone, and both versions on their shared frames."""
    shared = {i.image_id for i in measured.stored["1"]} & {i.image_id for i in measured.stored["2"]}
    return {
        "1": evaluate(measured.stored["1"]),
        "1|2": evaluate([i for i in measured.stored["1"] if i.image_id in shared]),
        "2|1": evaluate([i for i in measured.stored["2"] if i.image_id in shared]),
    }


def _row(html: str, attribute: str) -> str:
    found = re.search(rf"<tr {attribute}[^>]*>(.*?)</tr>", html, re.S)
    assert found, attribute
    return found.group(1)


def _cells(row: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]


def _browsed(ui: httpx.Client, href: str) -> set[str]:
    """The image ids the browser lists behind ``href`` (every page)."""
    ids: set[str] = set()
    page = 1
    while True:
        html = ui.get(f"{href}&page={page}".replace("&amp;", "&"), headers=HTML).text
        found = re.findall(r'data-image-id="([^"]+)"', html)
        ids.update(found)
        if len(found) < PAGE_SIZE:
            return ids
        page += 1


def _biggest_cell(evaluation: Evaluation, kind: str) -> Any:
    """The off-diagonal cell with the most images of a kind (``fp``: background row, else confused)."""
    cells = [
        c
        for c in evaluation.confusion.cells
        if (c.truth is None if kind == "fp" else (c.truth and c.predicted and c.truth != c.predicted))
    ]
    return max(cells, key=lambda c: (len(c.image_ids), c.predicted or ""))


def test_the_page_shows_evaluate_s_numbers(ui: httpx.Client, expected: dict[str, Evaluation]) -> None:
    html = ui.get(PAGE, headers=HTML).text
    one = expected["1"]
    assert 'class="active">Evaluation</a>' in html
    versions = _cells(_row(html, 'data-version="1"'))
    assert versions[1:7] == [
        str(one.images), str(one.images), str(one.ground_truth_boxes), str(one.predictions),
        f"{one.ap:.3f}", f"{one.ap50:.3f}",
    ]  # fmt: skip
    assert '<tr data-version="2" class="chosen">' in html  # the newest version with reviewed frames
    assert '<section class="card panel" data-version="2"' in html
    name = max(one.per_class, key=lambda n: (one.per_class[n].support, n))
    page1 = ui.get(f"{PAGE}?model_version=1", headers=HTML).text
    assert f'Version 1 <span class="muted">on {one.images} frames' in page1
    table = page1[page1.index('class="grid compact per-class"') :]
    metrics = one.per_class[name]
    row = _cells(_row(table, f'data-class="{name}"'))
    assert row[:8] == [
        name, f"{metrics.ap:.3f}", f"{metrics.ap50:.3f}", f"{metrics.precision:.3f}", f"{metrics.recall:.3f}",
        f"{metrics.f1:.3f}", f"{metrics.best_threshold:.3f}", str(metrics.support),
    ]  # fmt: skip
    assert row[8:] == [str(one.errors[name].false_positives), str(one.errors[name].misses)]
    assert len(re.findall(r'<tr data-class="', table.split("</table>")[0])) == len(one.per_class)
    assert page1.count('class="pr-line"') == 2  # all classes and the most frequent one
    assert f'data-name="{name}"' in page1
    matrix = page1[page1.index('<table class="confusion"') :]
    k = len(one.confusion.classes)
    assert matrix.count('<td class="cell') == (k + 1) ** 2


def test_a_confusion_cell_and_a_class_count_open_exactly_their_frames(
    ui: httpx.Client, expected: dict[str, Evaluation]
) -> None:
    html = ui.get(f"{PAGE}?model_version=1", headers=HTML).text
    one = expected["1"]
    for kind in ("fp", "confused"):
        cell = _biggest_cell(one, kind)
        pattern = (
            rf'data-truth="{cell.truth or ""}" data-predicted="{cell.predicted or ""}"[^>]*><a href="([^"]+)"'
        )
        href = re.search(pattern, html)
        assert href, (cell.truth, cell.predicted)
        assert _browsed(ui, href.group(1)) == set(cell.image_ids)
        assert str(cell.count) in re.search(pattern + r">(\d+)<", html).group(2)  # type: ignore[union-attr]
    name = max(one.errors, key=lambda n: one.errors[n].misses)
    miss = re.search(
        rf'<tr data-class="{re.escape(name)}">.*?<td class="num miss"><a href="([^"]+)"', html, re.S
    )
    assert miss
    browsed = ui.get(miss.group(1).replace("&amp;", "&"), headers=HTML).text
    assert f"missed {name} by version 1" in browsed
    assert _browsed(ui, miss.group(1)) == {i for i, _ in one.errors[name].missed_images}


def test_two_versions_side_by_side_on_the_same_frames(
    ui: httpx.Client, expected: dict[str, Evaluation]
) -> None:
    html = ui.get(f"{PAGE}?model_version=1&compare=2", headers=HTML).text
    base, other = expected["1|2"], expected["2|1"]
    assert base.ap is not None and other.ap is not None and other.ap < base.ap  # the degraded one
    comparison = html[html.index('id="comparison"') :].split("</section>")[0]
    first = re.search(r"<tbody>\s*<tr>(.*?)</tr>", comparison, re.S)
    assert first
    assert _cells(first.group(1)) == [
        "AP @[.5:.95]", f"{base.ap:.3f}", f"{other.ap:.3f}", f"{other.ap - base.ap:+.3f}"
    ]  # fmt: skip
    assert html.count('<section class="card panel"') == 2 and 'class="panels two"' in html
    assert html.count('<rect class="bar"') == 2 * len([n for n, m in base.per_class.items() if m.support])
    second = html[html.index('<section class="card panel" data-version="2"') :]
    cell = _biggest_cell(other, "fp")
    href = re.search(rf'data-truth="" data-predicted="{cell.predicted}"[^>]*><a href="([^"]+)"', second)
    assert href and "eval_compare=1" in href.group(1)
    assert _browsed(ui, href.group(1)) == set(cell.image_ids)


def test_empty_state_and_bad_parameters(measured: Measured, ui: httpx.Client) -> None:  # noqa: F811
    measured.server.cli("projects", "create", "acme/nothing-yet")
    empty = ui.get("/ui/p/nothing-yet/evaluation", headers=HTML)
    assert empty.status_code == 200 and 'id="eval-empty"' in empty.text
    assert "framescout models predict acme/nothing-yet VERSION" in empty.text
    unknown = ui.get(f"{PAGE}?model_version=9", headers=HTML)
    assert unknown.status_code == 404 and "model_version_not_found" in unknown.text
    same = ui.get(f"{PAGE}?model_version=1&compare=1", headers=HTML)
    assert same.status_code == 422 and "compare must name another version" in same.text
    bare = ui.get("/ui/p/evalcoco/images?eval=fp&eval_class=dog")
    assert bare.status_code == 422 and bare.json()["error"]["code"] == "invalid_filter"
    incomplete = ui.get("/ui/p/evalcoco/images?eval_version=1&eval=fp")
    assert incomplete.status_code == 422 and "eval=fp needs eval_class" in incomplete.text


def test_the_evaluation_page_in_the_browser(  # type: ignore[no-untyped-def]
    measured: Measured,  # noqa: F811
    expected: dict[str, Evaluation],
    browser,
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1500, "height": 1000})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    _sign_in(page, SimpleNamespace(url=measured.server.url, key=measured.key))  # type: ignore[arg-type]
    errors.clear()  # signing in tries a wrong key first: that 401 is meant
    page.goto(f"{measured.server.url}/ui/p/evalcoco")
    page.click("nav.tabs a:text('Evaluation')")
    page.select_option("select[name=model_version]", "1")
    page.click("#eval-filters button[type=submit]")
    page.wait_for_url(re.compile(r"[?&]model_version=1(&|$)"))
    assert page.locator("#versions tbody tr").count() == 2
    page.locator("#versions").screenshot(path=str(SHOTS / "evaluation-versions.png"))
    one = expected["1"]
    assert page.inner_text(".panel .big.ap") == f"{one.ap:.3f}"
    assert page.locator(".panel svg.pr-chart polyline.pr-line").count() == 2
    page.locator(".panel svg.pr-chart").screenshot(path=str(SHOTS / "evaluation-pr-chart.png"))
    page.locator(".panel table.confusion").screenshot(path=str(SHOTS / "evaluation-confusion.png"))

    page.select_option("select[name=compare]", "2")
    page.click("#eval-filters button[type=submit]")
    page.wait_for_url(re.compile(r"[?&]compare=2(&|$)"))  # the click does not wait for the new page
    assert page.locator(".panels.two .panel").count() == 2
    page.screenshot(path=str(SHOTS / "evaluation-side-by-side.png"), full_page=True)

    page.select_option("select[name=compare]", "")
    page.click("#eval-filters button[type=submit]")
    page.wait_for_url(re.compile(r"[?&]compare=(&|$)"))
    cell = _biggest_cell(one, "confused")
    selector = f'.panel table.confusion td[data-truth="{cell.truth}"][data-predicted="{cell.predicted}"] a'
    assert page.inner_text(selector) == str(cell.count)
    page.click(selector)
    page.wait_for_selector("#eval-selection")
    assert f"{cell.truth} predicted as {cell.predicted} by version 1" in page.inner_text("#eval-selection")
    shown = page.eval_on_selector_all("#thumbs li", "els => els.map(e => e.dataset.imageId)")
    assert sorted(shown) == sorted(cell.image_ids)
    assert (
        page.inner_text("#result-count")
        == f"{len(cell.image_ids)} image{'' if len(cell.image_ids) == 1 else 's'}"
    )
    page.screenshot(path=str(SHOTS / "evaluation-cell-frames.png"), full_page=True)
    page.click("#eval-selection a")
    assert "/evaluation" in page.url and page.locator("table.confusion").count() == 1
    assert errors == []
    context.close()


def test_under_a_rule_filter_the_page_and_its_links_keep_to_that_rule(
    measured: Measured,  # noqa: F811
    ui: httpx.Client,
) -> None:
    random_frames = measured.stored["1"][::2]  # the fixture kept every other frame by "random"
    narrowed = evaluate(random_frames)
    html = ui.get(f"{PAGE}?model_version=1&rule=random", headers=HTML).text
    assert f'Version 1 <span class="muted">on {len(random_frames)} frames' in html
    assert f'<div class="big ap">{narrowed.ap:.3f}</div>' in html
    cell = _biggest_cell(narrowed, "fp")
    href = re.search(rf'data-truth="" data-predicted="{cell.predicted}"[^>]*><a href="([^"]+)"', html)
    assert href and "rule=random" in href.group(1)
    assert _browsed(ui, href.group(1)) == set(cell.image_ids)
    assert set(cell.image_ids) != set(_biggest_cell(evaluate(measured.stored["1"]), "fp").image_ids)

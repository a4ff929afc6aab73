"""The Rules page in a real browser (Debian's Chromium through Playwright) against a real
``framescout serve``: view the pushed rules, a bad save that shows the key error beside the editor, a
good save that the API then serves, and the diff between the two versions. Screenshots go to the
test's temporary folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from framescout.client import Client
from framescout.server.process import ServerProcess
from helpers import NIGHT_RULES
from server.web.test_browser_review import UiServer, _sign_in, _watch_csp

pytestmark = pytest.mark.slow  # the module-scoped Chromium fixture `browser` is in conftest.py

RULES = NIGHT_RULES


@pytest.fixture(scope="module")
def rules_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UiServer]:
    server = ServerProcess(tmp_path_factory.mktemp("ui-rules") / "data")
    key = server.create_key("acme")
    server.cli("projects", "create", "acme/cams")
    with server, Client(server.url, key) as client:
        client.push_rules("acme/cams", RULES)
        yield UiServer(server, key, {})


def test_view_fix_save_and_diff_the_rules_in_the_browser(  # type: ignore[no-untyped-def]
    rules_server: UiServer, browser, tmp_path: Path
) -> None:
    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    violations = _watch_csp(page)
    _sign_in(page, rules_server, reviewer="Rita Rules")
    page.goto(f"{rules_server.url}/ui/p/cams")
    page.click("nav.tabs a:text('Rules')")
    page.wait_for_url(f"{rules_server.url}/ui/p/cams/rules")

    # View: the text as pushed, with the ETag the API answers.
    served = rules_server.api("/api/v1/projects/acme/cams/rules")
    assert page.inner_text("#current-etag") == served.headers["etag"].strip('"')
    assert page.inner_text("#current-text").strip() == RULES.strip()
    assert page.inner_text("#current-version") == "1"
    page.screenshot(path=str(tmp_path / "rules-view.png"), full_page=True)

    # A bad save: the key path and its line beside the editor; nothing stored.
    page.fill("#rules-editor", RULES.replace("below: 0.4", "below: 4"))
    page.click("#rules-form button[type=submit]")
    page.wait_for_selector("#problems code.key")
    assert page.inner_text("#problems code.key") == "rules[0].below"
    said = page.inner_text("#problems")
    assert "line 5" in said and "less than or equal to 1" in said
    assert "below: 4" in page.input_value("#rules-editor")  # the text as typed, to fix
    page.screenshot(path=str(tmp_path / "rules-bad-save.png"), full_page=True)
    assert rules_server.api("/api/v1/projects/acme/cams/rules").text == RULES

    # A good save: a new version, pushed by the signed-in reviewer, served by the API.
    page.fill("#rules-editor", RULES.replace("below: 0.4", "below: 0.3"))
    page.click("#rules-form button[type=submit]")
    page.wait_for_selector("#saved")
    assert page.inner_text("#saved") == "Saved as version 2."
    assert page.inner_text("#current-version") == "2" and page.inner_text("#current-who") == "Rita Rules"
    assert rules_server.api("/api/v1/projects/acme/cams/rules").text == RULES.replace("0.4", "0.3")

    # The diff between version 1 and version 2, rendered by the server.
    page.select_option("#diff-form select[name=from]", label="version 1")
    page.select_option("#diff-form select[name=to]", label="version 2")
    page.click("#diff-form button[type=submit]")
    page.wait_for_selector("#diff")
    assert page.inner_text("#diff .del") == "-    below: 0.4"
    assert page.inner_text("#diff .add") == "+    below: 0.3"
    assert page.locator("#history tbody tr").count() == 2
    page.screenshot(path=str(tmp_path / "rules-diff.png"), full_page=True)
    assert all((tmp_path / f"rules-{n}.png").stat().st_size > 10_000 for n in ("view", "bad-save", "diff"))
    assert errors == [] and violations == []
    history = httpx.get(
        f"{rules_server.url}/api/v1/projects/acme/cams/rules/history",
        headers={"Authorization": f"Bearer {rules_server.key}"},
        timeout=30,
    ).json()
    assert (history[0]["version"], history[0]["pushed_by"]) == (2, "Rita Rules")

"""The Devices page and the dashboard's per-device chart in a real browser: Debian's Chromium driven by
Playwright against a real ``framescout serve``, the fleet's heartbeats posted over HTTP to its real
route and frames uploaded by two devices. Screenshots go to ``test-output/screenshots/``."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from PIL import Image as PILImage

from framescout.client import Client
from framescout.server.process import ServerProcess
from framescout.store import Store
from server.web.fleet import CALM, FLAGGED, post_fleet
from server.web.test_browser_review import SHOTS, _sign_in

pytestmark = pytest.mark.slow


class FleetServer:
    """A real server with project ``acme/street``, the fleet of `post_fleet` and frames from two devices."""

    def __init__(self, server: ServerProcess, key: str) -> None:
        self.server, self.key = server, key

    @property
    def url(self) -> str:
        return self.server.url


def _jpeg(seed: int) -> bytes:
    image = PILImage.new("RGB", (96, 64), (seed * 40 % 256, 120, 200 - seed * 10))
    out = io.BytesIO()
    image.save(out, format="JPEG")
    return out.getvalue()


@pytest.fixture(scope="module")
def fleet_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FleetServer]:
    data = tmp_path_factory.mktemp("fleet") / "data"
    server = ServerProcess(data)
    key = server.create_key("acme")
    server.cli("projects", "create", "acme/street")
    with server, Client(server.url, key) as client, httpx.Client(base_url=server.url, timeout=30) as http:

        def post(device_id: str, body: dict[str, Any]) -> int:
            url = f"/api/v1/projects/acme/street/devices/{device_id}/heartbeat"
            return http.post(url, json=body, headers={"Authorization": f"Bearer {key}"}).status_code

        store = Store.open(data)
        try:
            post_fleet(post, store)
        finally:
            store.close()
        for i in range(6):
            device = "cam-gate" if i < 4 else "cam-yard"
            client.upload_image(
                "acme/street", _jpeg(i), name=f"f{i}.jpg", sampling_rule="random", device_id=device
            )
        yield FleetServer(server, key)


def test_the_devices_page_in_the_browser(fleet_server: FleetServer, browser) -> None:  # type: ignore[no-untyped-def]
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    _sign_in(page, fleet_server)  # type: ignore[arg-type]
    errors.clear()  # signing in tries a wrong key first: that 401 is meant
    page.goto(f"{fleet_server.url}/ui/p/street")

    # The dashboard's kept frames, per rule then per device.
    assert page.locator("#kept-chart rect.bar").count() == 1
    page.click("#kept-by a:text('per device')")
    page.wait_for_url("**/ui/p/street?kept_by=device#kept")
    legend = page.locator("#kept .legend li").all_inner_texts()
    assert [" ".join(t.split()) for t in legend] == ["cam-gate 4", "cam-yard 2"]
    page.screenshot(path=str(SHOTS / "dashboard-by-device.png"), full_page=True)

    # The Devices tab: the three flagged devices on top, each with its reason.
    page.click("nav.tabs a:text('Devices')")
    page.wait_for_url(f"{fleet_server.url}/ui/p/street/devices")
    flagged = page.locator("#flagged-devices tbody tr")
    assert [flagged.nth(i).get_attribute("data-device-id") for i in range(flagged.count())] == sorted(FLAGGED)
    others = page.locator("#devices tbody tr")
    assert [others.nth(i).get_attribute("data-device-id") for i in range(others.count())] == CALM
    assert page.inner_text("#devices-flagged") == "3" and page.inner_text("#devices-online") == "3"
    yard = page.locator("tr[data-device-id=cam-yard]")
    assert "nothing detected in 95% of its recent frames, against 5% before" in yard.inner_text()
    assert "offline: no heartbeat for 30 min" in page.inner_text("tr[data-device-id=cam-dock]")
    gate = page.locator("tr[data-device-id=cam-gate]")
    assert gate.locator("svg.spark rect").count() >= 6
    top = page.locator("#flagged-devices").bounding_box()
    rest = page.locator("#devices").bounding_box()
    assert top and rest and top["y"] + top["height"] <= rest["y"]  # flagged ones drawn above the rest
    page.screenshot(path=str(SHOTS / "devices.png"), full_page=True)

    # A device's name opens its frames in the image browser.
    gate.locator("a").first.click()
    page.wait_for_url("**/ui/p/street/images?device_id=cam-gate")
    assert page.locator("#thumbs li").count() == 4
    assert errors == []
    context.close()

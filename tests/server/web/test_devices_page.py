"""The Devices page over HTTP, on both backends: heartbeats posted to the app's real route, the page
read back: flagged devices first with their reason, the others after, every column filled from the
heartbeats, the nav link, and an empty fleet."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest

from server.conftest import Env
from server.web.fleet import CALM, FLAGGED, post_fleet
from server.web.test_pages import sign_in

pytestmark = pytest.mark.both_backends


def rows_of(page: str, table: str) -> list[str]:
    found = re.search(rf'<table class="grid devices" id="{table}">(.*?)</table>', page, re.S)
    assert found, f"no table {table}"
    return re.findall(r'<tr class="device[^"]*" data-device-id="([^"]+)"', found.group(1))


def row(page: str, device_id: str) -> str:
    found = re.search(rf'<tr class="device[^"]*" data-device-id="{device_id}">(.*?)</tr>', page, re.S)
    assert found, device_id
    return found.group(0)


def text(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def test_the_devices_page_lists_flagged_devices_first(env: Env) -> None:
    def post(device_id: str, body: dict[str, Any]) -> int:
        url = f"/api/v1/projects/acme/cams/devices/{device_id}/heartbeat"
        return int(env.client.post(url, json=body, headers=env.auth()).status_code)

    post_fleet(post, env.store)
    sign_in(env)
    page = env.client.get("/ui/p/cams/devices")
    assert page.status_code == 200, page.text
    assert '<a href="/ui/p/cams/devices" class="active">Devices</a>' in page.text
    assert rows_of(page.text, "flagged-devices") == sorted(FLAGGED)
    assert rows_of(page.text, "devices") == CALM
    for device_id, kind in FLAGGED.items():
        assert f'class="flag flag-{kind}"' in row(page.text, device_id), device_id
    assert "offline: no heartbeat for 30 min" in text(row(page.text, "cam-dock"))
    assert "nothing detected in 95% of its recent frames, against 5% before" in text(
        row(page.text, "cam-yard")
    )
    assert "spool backlog up from 0 to 70 frames over the last 3 heartbeats" in text(
        row(page.text, "cam-roof")
    )
    lab = row(page.text, "cam-lab")
    assert "state-offline" in lab and "flag" not in lab.replace("flagged", "")  # stopped on purpose

    gate = row(page.text, "cam-gate")
    assert "state-online" in gate and "site=gate" in text(gate)
    assert '<code title="&#34;4c1d9a2b77e0f00d&#34;">4c1d9a2b</code>' in gate
    assert "low-confidence 18" in text(gate) and "random 3" in text(gate)
    assert len(re.findall(r"<rect ", gate)) >= 6  # kept per rule between each of its six heartbeats
    assert "framescout 0.9.0" in text(gate)
    tiles = {
        k: re.search(rf'id="devices-{k}">(\d+)<', page.text)
        for k in ("online", "stale", "offline", "flagged")
    }
    assert {k: int(m.group(1)) for k, m in tiles.items() if m} == {
        "online": 3,
        "stale": 0,
        "offline": 2,
        "flagged": 3,
    }


def test_an_empty_fleet_says_how_devices_appear(env: Env) -> None:
    sign_in(env)
    page = env.client.get("/ui/p/cams/devices")
    assert page.status_code == 200 and "No device has sent a heartbeat to this project yet" in page.text
    assert "framescout collect --server … --project acme/cams" in html.unescape(page.text)

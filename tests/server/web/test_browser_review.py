"""The review UI in a real browser: Debian's Chromium driven by Playwright against a real
``framescout serve`` holding real photos with the real NanoDet-m model's boxes as pre-labels.

Sign in, open the project, read the dashboard, filter the image browser, review an image with the
keyboard and the mouse (accept a box, fix a class, draw a box), export COCO from the export page and
load it with pycocotools. Screenshots of the dashboard and the review page go to ``test-output/``.
Without ../shared the same flow runs on drawn scenes with fixed boxes."""

from __future__ import annotations

import io
import json
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image as PILImage

from framescout import Predictions
from framescout.client import Client
from framescout.server.process import ServerProcess

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[3]
SHARED = ROOT.parent / "shared"
SHOTS = ROOT / "test-output" / "screenshots"


@dataclass
class UiServer:
    server: ServerProcess
    key: str
    images: dict[str, str]  # file name -> image id

    @property
    def url(self) -> str:
        return self.server.url

    def api(self, path: str) -> httpx.Response:
        return httpx.get(f"{self.url}{path}", headers={"Authorization": f"Bearer {self.key}"}, timeout=30)


def _real_photos() -> list[tuple[str, bytes, Any]] | None:
    """Sample photos and coco-tiny images with the real NanoDet-m model's boxes (when ../shared is here)."""
    nanodet = SHARED / "models" / "nanodet-m" / "nanodet_m.onnx"
    coco = SHARED / "data" / "coco-tiny" / "val2017"
    if not nanodet.exists() or not coco.exists():
        return None
    from framescout.models import OnnxDetector, load_class_names

    detector = OnnxDetector(nanodet, class_names=load_class_names(nanodet.parent / "coco.names"))
    paths = [SHARED / "data" / "samples" / n for n in ("bus.jpg", "dog.jpg", "person.jpg")]
    paths += sorted(coco.glob("*.jpg"))[:9]
    return [(p.name, p.read_bytes(), detector.predict(p, confidence=0.3)) for p in paths]


def _drawn_photos() -> list[tuple[str, bytes, Any]]:
    """Without ../shared: drawn scenes with fixed boxes, so the UI is still tested end to end."""
    from PIL import ImageDraw

    names = ["bus.jpg", "dog.jpg", "person.jpg", *(f"scene{i}.jpg" for i in range(9))]
    out = []
    for i, name in enumerate(names):
        image = PILImage.new("RGB", (640, 480), (40 + 15 * i, 90, 140))
        draw = ImageDraw.Draw(image)
        boxes = [(60 + 10 * i, 80, 260, 300), (320, 120 + 5 * i, 560, 400), (30, 20, 120, 90)]
        for box in boxes:
            draw.rectangle(box, outline=(255, 255, 255), width=4)
        data = io.BytesIO()
        image.save(data, format="JPEG", quality=90)
        confidence = [0.62, 0.41 + 0.02 * i, 0.35]
        predictions = Predictions.from_arrays(
            boxes, confidence, [0, 2, 0], class_name=["person", "car", "person"]
        )
        out.append((name, data.getvalue(), predictions))
    return out


@pytest.fixture(scope="module")
def ui_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UiServer]:
    photos = _real_photos() or _drawn_photos()
    server = ServerProcess(tmp_path_factory.mktemp("ui") / "data")
    key = server.create_key("acme")
    server.cli("projects", "create", "acme/street")
    images: dict[str, str] = {}
    recorded = time.time() - 6 * 3600  # frames a collector recorded over six hours, uploaded now
    with server, Client(server.url, key) as client:
        for i, (name, data, predictions) in enumerate(photos):
            unsure = bool(len(predictions)) and float(predictions.confidence.min()) < 0.5
            lowest = float(predictions.confidence.min()) if len(predictions) else 1.0
            seen = {"observed_at": recorded + i * 1800} if i else {}  # the first frame does not say
            result = client.upload_image(
                "acme/street",
                data,
                name=name,
                predictions=predictions,
                sampling_rule="low-confidence" if unsure else "random",
                sampling_reason=(
                    f"1 box(es) below confidence 0.50 (lowest {lowest:.2f})" if unsure else "1% of traffic"
                ),
                metadata={"rule_kind": "confidence_below" if unsure else "random", **seen},
                model_version="1" if i % 2 else "2",
                tags=["night"] if i % 3 == 0 else [],
            )
            images[name] = result.id
        # An end user's bug report, so the dashboard has one to show.
        httpx.post(
            f"{server.url}/api/v1/projects/acme/street/bug-reports",
            headers={"Authorization": f"Bearer {key}"},
            data={"severity": "no_detections", "description": "nothing detected at the back door"},
            timeout=30,
        ).raise_for_status()
        yield UiServer(server, key, images)


def _wait_until(page, expression: str, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    """Poll ``expression`` from the test side. (``page.wait_for_function`` polls with ``eval`` inside
    the page, which the UI's Content-Security-Policy rightly refuses.)"""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"timed out waiting for {expression}"
        time.sleep(0.05)


def _watch_csp(page) -> list[str]:  # type: ignore[no-untyped-def]
    """Collect Content-Security-Policy violations: console messages and ``securitypolicyviolation``
    events (recorded by a listener installed before any page script runs)."""
    found: list[str] = []
    page.on(
        "console",
        lambda m: (
            found.append(m.text) if "Content Security Policy" in m.text or "Refused to" in m.text else None
        ),
    )
    page.add_init_script(
        "document.addEventListener('securitypolicyviolation', e => "
        "console.error('Refused to load: CSP violation ' + e.violatedDirective + ' ' + e.blockedURI))"
    )
    return found


def _assert_labels_readable(page) -> None:  # type: ignore[no-untyped-def]
    """No two box labels on the image overlap, and no status text in the box list is cut off."""
    overlapping = page.evaluate(
        """() => {
        const r = [...document.querySelectorAll('#overlay rect.label-bg')]
          .map(e => e.getBoundingClientRect());
        const hits = [];
        for (let i = 0; i < r.length; i++) for (let j = i + 1; j < r.length; j++)
          if (r[i].left < r[j].right - 0.5 && r[j].left < r[i].right - 0.5 &&
              r[i].top < r[j].bottom - 0.5 && r[j].top < r[i].bottom - 0.5) hits.push([i + 1, j + 1]);
        return hits;
      }"""
    )
    assert page.locator("#overlay rect.label-bg").count() >= 2
    assert overlapping == [], f"labels of boxes {overlapping} overlap"
    cut = page.evaluate(
        "[...document.querySelectorAll('#box-list .info')]"
        ".filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.textContent)"
    )
    assert cut == [], f"status text cut off: {cut}"
    texts = page.evaluate("[...document.querySelectorAll('#box-list .info')].map(e => e.textContent)")
    assert all(t.startswith("model ") and t.endswith(" · undecided") for t in texts), texts


def _sign_in(page, ui: UiServer, reviewer: str = "Alice Reviewer") -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{ui.url}/ui/")
    assert "/ui/login" in page.url  # not signed in: redirected
    page.fill("input[name=api_key]", "not-a-key")
    page.click("button[type=submit]")
    assert "not valid" in page.inner_text("[role=alert]")
    page.fill("input[name=api_key]", ui.key)
    page.fill("input[name=reviewer]", reviewer)
    page.click("button[type=submit]")
    page.wait_for_url(f"{ui.url}/ui/")


def test_review_in_the_browser_then_export_coco(ui_server: UiServer, browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from pycocotools.coco import COCO

    SHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1400, "height": 900}, accept_downloads=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    console_errors: list[str] = []  # e.g. a 401 on /favicon.ico, which every page used to log
    page.on(
        "console", lambda m: console_errors.append(f"{m.text} {m.location}") if m.type == "error" else None
    )
    csp_headers: list[str] = []
    page.on(
        "response",
        lambda r: (
            csp_headers.append(r.headers.get("content-security-policy", "")) if "/ui" in r.url else None
        ),
    )
    violations = _watch_csp(page)

    # Sign in and open the project from the list.
    _sign_in(page, ui_server)
    assert page.locator("#projects").inner_text().count("street") >= 1
    page.click("#projects a:text('street')")
    page.wait_for_url(f"{ui_server.url}/ui/p/street")

    # Dashboard: counts and real charts.
    assert page.inner_text("#total-images") == str(len(ui_server.images))
    assert page.inner_text("#open-bugs") == "1"
    assert page.locator("#kept-chart rect.bar").count() >= 5  # six hours of frames: not one bar
    assert page.inner_text("#kept-basis") == "by observed time; 1 frame without one by upload time"
    assert page.locator("#confidence-chart rect.bar").count() >= 1
    assert page.locator("#model-versions tbody tr").count() == 2
    assert "100% kept by confidence rules" not in page.inner_text("#model-versions")

    # Image browser: filters narrow the grid.
    page.click("nav.tabs a:text('Images')")
    assert page.locator("#thumbs li").count() == len(ui_server.images)
    _wait_until(
        page, "[...document.querySelectorAll('#thumbs img')].every(i => i.complete && i.naturalWidth)"
    )
    page.screenshot(path=str(SHOTS / "images.png"), full_page=True)
    page.select_option("select[name=tag]", "night")
    page.click("#filters button[type=submit]")
    night = sum(1 for i in range(len(ui_server.images)) if i % 3 == 0)
    assert page.locator("#thumbs li").count() == night
    page.click("a:text('Clear')")

    # Review the bus photo: its NanoDet boxes are pre-labels.
    bus_id = ui_server.images["bus.jpg"]
    page.goto(f"{ui_server.url}/ui/p/street/images/{bus_id}")
    page.wait_for_selector("#overlay g.box")
    before = page.evaluate("window.framescoutReview.boxes()")
    assert len(before) >= 2, before
    assert all(b["state"] == "pending" and b["source"] == "prediction" for b in before)
    _assert_labels_readable(page)

    page.keyboard.press("a")  # accept box 1 (selection moves to box 2)
    page.fill("#new-class", "van")  # fix box 2's class: a class the model does not know
    page.keyboard.press("Enter")
    page.keyboard.press("Escape")
    page.keyboard.press("Tab")  # on to box 3 (if any), then reject the rest with r
    for _ in range(len(before) - 2):
        page.keyboard.press("r")

    # Delete a box by mistake, then undo.
    decided = page.evaluate("window.framescoutReview.boxes()")
    page.keyboard.press("Delete")
    assert len(page.evaluate("window.framescoutReview.boxes()")) == len(before) - 1
    page.keyboard.press("Control+z")
    assert page.evaluate("window.framescoutReview.boxes()") == decided

    # Draw a new box with the mouse.
    page.keyboard.press("n")
    box = page.locator("#overlay").bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] * 0.05, box["y"] + box["height"] * 0.05)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.15, box["y"] + box["height"] * 0.12, steps=5)
    page.mouse.up()
    after = page.evaluate("window.framescoutReview.boxes()")
    assert len(after) == len(before) + 1
    drawn = after[-1]
    assert drawn["source"] == "drawn" and drawn["state"] == "accepted"

    # Resize the new (selected) box by its bottom-right corner, then move it by its body.
    def drag(selector: str, dx: float, dy: float) -> None:
        handle = page.locator(selector).bounding_box()
        assert handle is not None, selector
        x, y = handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2
        page.mouse.move(x, y)
        page.mouse.down()
        page.mouse.move(x + dx, y + dy, steps=4)
        page.mouse.up()

    drag("#overlay g.box.selected rect.handle-se", 30, 20)
    resized = page.evaluate("window.framescoutReview.boxes()")[-1]
    assert resized["x_min"] == pytest.approx(drawn["x_min"]) and resized["x_max"] > drawn["x_max"] + 10
    assert resized["y_max"] > drawn["y_max"] + 5
    drag("#overlay g.box.selected rect.frame", 25, 0)
    moved = page.evaluate("window.framescoutReview.boxes()")[-1]
    assert moved["x_min"] > resized["x_min"] + 10
    assert moved["x_max"] - moved["x_min"] == pytest.approx(resized["x_max"] - resized["x_min"])
    drawn = moved
    page.screenshot(path=str(SHOTS / "review.png"), full_page=True)

    # Save & next: the accepted, corrected and drawn boxes become ground truth, by Alice.
    page.keyboard.press("s")
    page.wait_for_url(lambda url: bus_id not in url)
    record = ui_server.api(f"/api/v1/projects/acme/street/images/{bus_id}").json()
    assert record["review_status"] == "reviewed"
    assert record["reviewed_by"] == "Alice Reviewer"
    truth = [a for a in record["annotations"] if a["kind"] == "ground_truth"]
    predictions = [a for a in record["annotations"] if a["kind"] == "prediction"]
    assert len(predictions) == len(before)  # the model's boxes are kept apart, untouched
    assert [a["class_name"] for a in truth] == [before[0]["class"], "van", "van"]
    assert truth[0]["x_min"] == pytest.approx(before[0]["x_min"])
    assert all(a["created_by"] == "Alice Reviewer" for a in truth)
    width = record["width"]
    assert truth[2]["x_min"] == pytest.approx(drawn["x_min"], abs=0.5)
    assert truth[2]["x_max"] == pytest.approx(drawn["x_max"], abs=0.5)
    assert 0.05 * width < truth[2]["x_min"] < 0.2 * width

    # The next image: accept all & next with one key.
    second = page.url.split("/images/")[1].split("?")[0]
    page.wait_for_selector("#overlay")
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: second not in url)
    second_record = ui_server.api(f"/api/v1/projects/acme/street/images/{second}").json()
    assert second_record["review_status"] == "reviewed"
    second_truth = [a for a in second_record["annotations"] if a["kind"] == "ground_truth"]
    second_predictions = [a for a in second_record["annotations"] if a["kind"] == "prediction"]
    assert len(second_truth) == len(second_predictions)

    # The dashboard now counts the two reviews per model version, and the correction of the bus.
    page.goto(f"{ui_server.url}/ui/p/street")
    reviewed = page.evaluate(
        "[...document.querySelectorAll('#model-versions tbody tr')]"
        ".map(r => [r.dataset.version, r.querySelector('.reviewed').textContent])"
    )
    assert sum(int(n) for _, n in reviewed) == 2, reviewed
    bus_version = page.inner_text(
        f"#model-versions tr[data-version='{record['model_version']}'] td.corrected"
    )
    assert "(1 of 1)" in bus_version or "(1 of 2)" in bus_version, bus_version  # the bus: corrected
    page.screenshot(path=str(SHOTS / "dashboard.png"), full_page=True)

    # Export COCO from the export page and read it with pycocotools.
    page.goto(f"{ui_server.url}/ui/p/street/export")
    page.screenshot(path=str(SHOTS / "export.png"), full_page=True)
    page.select_option("select[name=format]", "coco")
    with page.expect_download() as download_info:
        page.click("#export-form button[type=submit]")
    archive = tmp_path / "export.zip"
    download_info.value.save_as(archive)
    with zipfile.ZipFile(archive) as zf:
        zf.extractall(tmp_path / "coco")
    annotation_files = sorted((tmp_path / "coco").rglob("*.json"))
    assert annotation_files, list((tmp_path / "coco").rglob("*"))
    coco_images, coco_boxes, names = 0, 0, set()
    for path in annotation_files:
        coco = COCO(str(path))
        coco_images += len(coco.getImgIds())
        coco_boxes += len(coco.getAnnIds())
        names |= {c["name"] for c in coco.loadCats(coco.getCatIds())}
        for image in coco.loadImgs(coco.getImgIds()):
            assert (path.parent / image["file_name"]).is_file()
    assert coco_images == 2
    assert coco_boxes == len(truth) + len(second_truth)
    assert "van" in names
    assert not errors, errors
    # The one error expected: the deliberate sign-in with a bad key answers 401.
    assert [e for e in console_errors if "/ui/login'" not in e] == [], console_errors
    assert len(console_errors) <= 1, console_errors
    # Every UI response carried the strict policy, and the browser reported no violation of it.
    assert csp_headers and all("script-src 'self'" in h for h in csp_headers), set(csp_headers)
    assert not violations, violations
    context.close()


def test_keyboard_reject_image_and_csrf(ui_server: UiServer, browser) -> None:  # type: ignore[no-untyped-def]
    """Shift+X rejects an image (excluded from exports); a forged save without the token is refused."""
    context = browser.new_context(viewport={"width": 1200, "height": 800})
    page = context.new_page()
    violations = _watch_csp(page)
    _sign_in(page, ui_server, reviewer="Bob")
    dog_id = ui_server.images["dog.jpg"]
    page.goto(f"{ui_server.url}/ui/p/street/images/{dog_id}")
    page.wait_for_selector("#overlay")
    forged = page.evaluate(
        """async (url) => (await fetch(url, {method: 'POST', headers: {'Content-Type': 'application/json'},
                body: JSON.stringify({status: 'reviewed', boxes: []})})).status""",
        f"/ui/p/street/images/{dog_id}/review",
    )
    assert forged == 403
    page.keyboard.press("Shift+X")
    page.wait_for_url(lambda url: dog_id not in url)
    record = ui_server.api(f"/api/v1/projects/acme/street/images/{dog_id}").json()
    assert record["review_status"] == "rejected"
    assert record["reviewed_by"] == "Bob"
    assert not [a for a in record["annotations"] if a["kind"] == "ground_truth"]
    listing = ui_server.api("/api/v1/projects/acme/street/images?status=rejected").json()
    assert [im["id"] for im in listing["images"]] == [dog_id]
    assert not violations, violations
    context.close()


def test_csp_is_enforced_and_docs_still_load(ui_server: UiServer, browser) -> None:  # type: ignore[no-untyped-def]
    """The policy really binds (an injected inline script is refused and reported), while /docs, which
    loads Swagger UI from a CDN with an inline bootstrap, is not under it."""
    context = browser.new_context()
    page = context.new_page()
    violations = _watch_csp(page)
    page.goto(f"{ui_server.url}/ui/login")
    page.evaluate(
        "() => { const s = document.createElement('script'); s.textContent = 'window.injected = 1';"
        " document.body.appendChild(s); }"
    )
    page.wait_for_timeout(200)
    assert page.evaluate("window.injected") is None
    assert violations, "the injected inline script was not reported as a CSP violation"
    docs = page.goto(f"{ui_server.url}/docs")
    assert docs is not None and "script-src" not in docs.headers.get("content-security-policy", "")
    assert docs.headers["x-content-type-options"] == "nosniff"
    context.close()


def test_signed_out_pages_redirect_and_scripts_get_json(ui_server: UiServer) -> None:
    page = httpx.get(f"{ui_server.url}/ui/p/street", headers={"Accept": "text/html"})
    assert page.status_code == 303 and page.headers["location"].startswith("/ui/login?next=")
    script = httpx.post(f"{ui_server.url}/ui/p/street/images/x/review", json={"status": "reviewed"})
    assert script.status_code == 401
    assert json.loads(script.text)["error"]["code"] == "sign_in_required"


def test_a_roboflow_upload_shows_its_source_and_prelabels(ui_server: UiServer, browser) -> None:  # type: ignore[no-untyped-def]
    """An image inferred through hosted inference, then uploaded bare through the Roboflow-compatible
    route (what ``workspace.active_learning()`` does): the browser and the review page say where it
    came from, and its boxes are that inference's predictions."""
    nanodet = SHARED / "models" / "nanodet-m" / "nanodet_m.onnx"
    coco = SHARED / "data" / "coco-tiny" / "val2017"
    if not nanodet.exists() or not coco.exists():
        pytest.skip(f"needs the NanoDet-m model and coco-tiny in {SHARED}")
    import base64

    ui_server.server.cli(
        "models", "add", "acme/street", "1", "--onnx", str(nanodet), "--format", "nanodet",
        "--classes", str(nanodet.with_name("coco.names")),
    )  # fmt: skip
    path = sorted(coco.glob("*.jpg"))[10]  # not among the fixture's uploads
    sent = io.BytesIO()
    PILImage.open(path).convert("RGB").save(sent, format="PNG")  # as roboflow's model.predict sends it
    answer = httpx.post(
        f"{ui_server.url}/street/1?api_key={ui_server.key}",
        content=base64.b64encode(sent.getvalue()),
        timeout=60,
    )
    assert answer.status_code == 200 and answer.json()["predictions"], answer.text
    uploaded = httpx.post(
        f"{ui_server.url}/dataset/street/upload?api_key={ui_server.key}&name={path.name}",
        files={"file": (path.name, path.read_bytes(), "image/jpeg")},
        timeout=60,
    ).json()
    image_id = uploaded["id"]

    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    console_errors: list[str] = []
    page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    _sign_in(page, ui_server)
    console_errors.clear()  # the deliberate bad sign-in's 401
    page.goto(f"{ui_server.url}/ui/p/street/images")
    card = page.locator(f"#thumbs li[data-image-id='{image_id}']")
    assert card.locator(".pill.source").inner_text() == "roboflow client"
    assert f"{len(answer.json()['predictions'])} pred" in card.inner_text()
    _wait_until(
        page, "[...document.querySelectorAll('#thumbs img')].every(i => i.complete && i.naturalWidth)"
    )
    page.screenshot(path=str(SHOTS / "images.png"), full_page=True)
    page.goto(f"{ui_server.url}/ui/p/street/images/{image_id}")
    page.wait_for_selector("#overlay g.box")
    assert page.inner_text("#image-source") == "roboflow client"
    assert page.inner_text("#prelabels").startswith("from hosted inference street/1")
    boxes = page.evaluate("window.framescoutReview.boxes()")
    assert len(boxes) == len(answer.json()["predictions"]) and all(b["source"] == "prediction" for b in boxes)
    page.screenshot(path=str(SHOTS / "review-roboflow.png"), full_page=True)
    assert console_errors == [], console_errors
    context.close()

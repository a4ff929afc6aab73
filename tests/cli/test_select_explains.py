"""`framescout select` explains itself: per-pick scores in the JSON, a table on the terminal, and a
self-contained HTML contact sheet with the picked images, their boxes and scores."""

from __future__ import annotations

import base64
import io
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from helpers import framescout

SHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture
def folder(tmp_path: Path, coco_tiny: Path) -> Path:
    pool = tmp_path / "pool"
    pool.mkdir()
    sources = sorted((coco_tiny / "val2017").glob("*.jpg"))[:10]
    for src in sources:
        shutil.copy(src, pool / src.name)
    shutil.copy(sources[0], pool / "copy-a.jpg")  # exact duplicates of the first image
    shutil.copy(sources[0], pool / "copy-b.jpg")
    return pool


def embedded_jpegs(page: str) -> list[Image.Image]:
    found = re.findall(r"src='data:image/jpeg;base64,([A-Za-z0-9+/=]+)'", page)
    return [Image.open(io.BytesIO(base64.b64decode(b))) for b in found]


def test_kcenter_pick_explained_in_json_table_and_sheet(folder: Path, tmp_path: Path) -> None:
    out, sheet = tmp_path / "pick.json", tmp_path / "reports" / "pick.html"
    result = framescout(
        "select", "--images", str(folder), "--budget", "10", "--strategy", "kcenter",
        "--out", str(out), "--report", str(sheet), "--show", "3",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = json.loads(out.read_text())["picked"]
    assert len(rows) == 10  # the whole pool after duplicates: every group is explained
    assert rows[0]["distance_at_pick"] is None  # random start: nothing labelled
    assert rows[0]["why"] == "first k-center pick (random start, nothing labelled)"
    distances = [r["distance_at_pick"] for r in rows[1:]]
    assert all(isinstance(d, float) and d > 0 for d in distances)
    assert distances == sorted(distances, reverse=True)  # farthest first
    assert all("from the labelled set and earlier picks" in r["why"] for r in rows[1:])
    assert all(r["uncertainty"] == {} and r["ranked_by"] is None for r in rows)  # no model given
    first = next(p for p in sorted(folder.glob("0*.jpg")))
    groups = {Path(r["path"]).name: r["duplicate_group"] for r in rows}
    everyone = json.loads(out.read_text())["duplicates"]
    assert set(everyone.values()) == {str(first)}
    assert groups[first.name]["size"] == 3
    assert sorted(Path(m).name for m in groups[first.name]["members"]) == ["copy-a.jpg", "copy-b.jpg"]
    assert all(g["size"] == 1 for name, g in groups.items() if name != first.name)
    # the table: on stderr, three rows
    assert "why picked (kcenter; first 3 of 10)" in result.stderr
    table_rows = [line for line in result.stderr.splitlines() if re.match(r"^│ +\d+ │", line)]
    assert len(table_rows) == 3
    # the contact sheet: self-contained, one decodable thumbnail per pick, written atomically
    assert f"contact sheet of 10 pick(s): {sheet}" in result.stdout
    page = sheet.read_text()
    assert "<script" not in page and not re.search(r"(src|href)=['\"]?(https?:)?//", page)
    thumbs = embedded_jpegs(page)
    assert len(thumbs) == 10 and all(max(t.size) <= 320 for t in thumbs)
    for row in rows:
        assert Path(row["path"]).name in page
    assert "duplicate group</td><td>3 image(s)" in page and "copy-a.jpg" in page
    assert [p.name for p in sheet.parent.iterdir()] == ["pick.html"]  # no temporary file left


def test_model_pick_shows_uncertainty_and_boxes(folder: Path, tmp_path: Path, nanodet_path: Path) -> None:
    out, sheet = tmp_path / "pick.json", tmp_path / "sheet.html"
    result = framescout(
        "select", "--images", str(folder), "--budget", "4", "--strategy", "least_confidence",
        "--model", str(nanodet_path), "--classes", str(nanodet_path.with_name("coco.names")),
        "--out", str(out), "--report", str(sheet),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = json.loads(out.read_text())["picked"]
    values = [r["uncertainty"]["least_confidence"] for r in rows]
    assert values == sorted(values, reverse=True) and all(0 < v <= 1 for v in values)
    assert [r["uncertainty_rank"] for r in rows] == [1, 2, 3, 4]
    assert all(
        r["ranked_by"] == "least_confidence" and r["boxes"] == sum(r["classes"].values()) for r in rows
    )
    assert rows[0]["why"].startswith(f"least_confidence {values[0]:.3f} (#1 of 10)")
    assert "least_confidence" in result.stderr and "#1" in result.stderr
    page = sheet.read_text()
    assert len(embedded_jpegs(page)) == 4
    drawn = page.count("stroke='#ff2d55'")
    assert drawn == sum(min(r["boxes"], 20) for r in rows) and drawn > 0  # the 20 most confident each
    assert f"{values[0]:.3f}" in page
    if CHROMIUM.exists():  # the page as a browser shows it, for the record (no network needed)
        SHOTS.mkdir(parents=True, exist_ok=True)
        shot = SHOTS / "select-contact-sheet.png"
        subprocess.run(
            [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
             f"--screenshot={shot}", "--window-size=1440,900", sheet.as_uri()],
            capture_output=True, timeout=60, check=False,
        )  # fmt: skip
        assert Image.open(shot).size == (1440, 900)


def test_a_report_path_that_is_a_folder_is_refused_before_scanning(folder: Path, tmp_path: Path) -> None:
    result = framescout("select", "--images", str(folder), "--budget", "2", "--report", str(tmp_path))
    assert result.returncode == 1 and "is a folder; give the HTML file to write" in result.stderr
    assert "Traceback" not in result.stderr and "picked" not in result.stdout


def test_default_pick_with_a_model_explains_every_pick_by_its_score_components(
    folder: Path, tmp_path: Path, nanodet_path: Path
) -> None:
    out = tmp_path / "pick.json"
    model = ["--model", str(nanodet_path), "--classes", str(nanodet_path.with_name("coco.names"))]
    result = framescout("select", "--images", str(folder), "--budget", "10", *model, "--out", str(out))
    assert result.returncode == 0, result.stderr
    report = json.loads(out.read_text())
    assert report["strategy"] == "errors_normalised" and report["budget_boxes"] is None
    rows = report["picked"]
    assert len(rows) == 10
    for row in rows:  # every pick says why: the parts of its score
        parts = row["score_components"]
        assert parts["expected_errors"] == pytest.approx(
            parts["expected_false_positives"] + parts["expected_misses"], abs=1e-5
        )
        expected = parts["expected_errors"] / (parts["expected_objects"] + 3)
        assert parts["score"] == pytest.approx(expected, abs=1e-5)
        assert parts["score"] == pytest.approx(row["uncertainty"]["errors_normalised"], abs=1e-5)
        assert parts["class_weight"] == 1.0 and 0 <= parts["reported_boxes"] <= row["boxes"]
        assert row["why"].startswith("errors_normalised ") and "expected errors" in row["why"]
        assert all(0 <= b["chance_of_error"] <= 1 for b in row["doubtful_boxes"])
    scores = [r["score_components"]["score"] for r in rows]
    assert scores == sorted(scores, reverse=True)
    assert "errors" in result.stderr and "misses" in result.stderr  # the table shows the parts too


def test_box_budget_and_class_weights(folder: Path, tmp_path: Path, nanodet_path: Path) -> None:
    out, weights = tmp_path / "pick.json", tmp_path / "eval.json"
    weights.write_text(json.dumps({"per_class": {"person": {"support": 900, "ap50": 0.7}}}))
    result = framescout(
        "select", "--images", str(folder), "--budget-boxes", "12", "--model", str(nanodet_path),
        "--classes", str(nanodet_path.with_name("coco.names")), "--class-weights", str(weights),
        "--out", str(out), "--show", "0",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads(out.read_text())
    assert report["budget_boxes"] == 12 and report["budget"] is None
    boxes = [r["score_components"]["reported_boxes"] for r in report["picked"]]
    assert sum(boxes) >= 12 and sum(boxes[:-1]) < 12  # the shortest prefix that reaches the budget
    assert "expected boxes)" in result.stdout
    weighted = [r for r in report["picked"] if r["classes"].get("person")]
    assert any(r["score_components"]["class_weight"] != 1.0 for r in weighted)


def test_class_weights_naming_no_predicted_class_say_so(
    folder: Path, tmp_path: Path, nanodet_path: Path
) -> None:
    weights = tmp_path / "eval.json"
    weights.write_text(json.dumps({"per_class": {"forklift": {"support": 9, "ap50": 0.2}}}))
    result = framescout(
        "select", "--images", str(folder), "--budget", "2", "--model", str(nanodet_path),
        "--classes", str(nanodet_path.with_name("coco.names")), "--class-weights", str(weights),
        "--show", "0",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "none of the 1 class(es) in --class-weights is among the" in " ".join(result.stdout.split())


def test_a_box_budget_the_pool_cannot_reach_says_so(folder: Path, nanodet_path: Path) -> None:
    result = framescout(
        "select", "--images", str(folder), "--budget-boxes", "100000", "--model", str(nanodet_path),
        "--classes", str(nanodet_path.with_name("coco.names")), "--show", "0",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "fewer than --budget-boxes 100000: every image was picked" in " ".join(result.stdout.split())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "give --budget N (images) or --budget-boxes N"),
        (["--budget-boxes", "5"], "--budget-boxes counts predicted boxes: give --model"),
        (["--budget", "2", "--class-weights", "nope.json"], "--class-weights nope.json: cannot read"),
    ],
)
def test_budget_and_weight_errors_are_one_line(folder: Path, args: list[str], message: str) -> None:
    result = framescout("select", "--images", str(folder), *args)
    assert result.returncode == 1 and message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def test_class_weights_file_that_is_neither_format(folder: Path, tmp_path: Path) -> None:
    bad = tmp_path / "w.json"
    bad.write_text('{"images": []}')
    result = framescout("select", "--images", str(folder), "--budget", "2", "--class-weights", str(bad))
    assert result.returncode == 1 and "expected an evaluation (per_class) or COCO" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"per_class": {"person": {"support": 1e400}}}', "support must be a finite number"),
        ('{"per_class": {"person": {"support": 9, "ap50": NaN}}}', "ap50 must be a finite number"),
        ('{"categories": [{"id": 1}], "annotations": []}', "every COCO category needs an id"),
        ("[1, 2]", "expected a JSON object"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),  # was a RecursionError traceback
    ],
    ids=["infinite-support", "nan-ap50", "nameless-category", "a-list", "deep"],
)
def test_a_class_weights_file_that_is_not_weights_fails_in_one_line(
    folder: Path, tmp_path: Path, nanodet_path: Path, text: str, message: str
) -> None:
    """An infinite support was an OverflowError traceback, a category without a name a KeyError one, and
    a NaN AP50 a NaN weight that ranked the pool by NaN scores (exit 0, NaN in the JSON)."""
    weights, out = tmp_path / "weights.json", tmp_path / "pick.json"
    weights.write_text(text)
    result = framescout(
        "select", "--images", str(folder), "--budget", "2", "--model", str(nanodet_path),
        "--class-weights", str(weights), "--out", str(out),
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    assert f"--class-weights {weights}: " in result.stderr and message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_class_weights_without_a_model_are_refused(folder: Path, tmp_path: Path) -> None:
    """Weights scale predicted boxes' errors: without predictions they were silently ignored."""
    weights = tmp_path / "weights.json"
    weights.write_text('{"per_class": {"person": {"support": 9, "ap50": 0.2}}}')
    result = framescout("select", "--images", str(folder), "--budget", "2", "--class-weights", str(weights))
    assert result.returncode == 1 and "--class-weights weighs predicted boxes: give --model" in result.stderr


def test_a_file_name_that_is_not_utf8_is_shown_on_the_contact_sheet(
    folder: Path, tmp_path: Path, coco_tiny: Path
) -> None:
    """Linux file names are bytes: one that is not UTF-8 made --report a UnicodeEncodeError traceback
    (after --out was written)."""
    odd = folder / b"odd\xffname.jpg".decode("utf-8", "surrogateescape")
    shutil.copy(sorted((coco_tiny / "val2017").glob("*.jpg"))[20], odd)  # not in the pool yet
    sheet, out = tmp_path / "sheet.html", tmp_path / "pick.json"
    result = framescout(
        "select", "--images", str(folder), "--budget", "20", "--strategy", "random",
        "--report", str(sheet), "--out", str(out),
    )  # fmt: skip
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    assert "odd\\udcffname.jpg" in sheet.read_text(encoding="utf-8")

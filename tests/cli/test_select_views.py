"""`framescout select --views`: the detector's stability across views reaches every pick's explanation."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from helpers import framescout


def test_views_score_stability_for_every_pick(tmp_path: Path, coco_tiny: Path, nanodet_path: Path) -> None:
    pool = tmp_path / "pool"
    pool.mkdir()
    for src in sorted((coco_tiny / "val2017").glob("*.jpg"))[:3]:
        shutil.copy(src, pool / src.name)
    out = tmp_path / "pick.json"
    model = ["--model", str(nanodet_path), "--classes", str(nanodet_path.parent / "coco.names")]
    pick = ["--images", str(pool), "--budget", "2", "--out", str(out)]
    result = framescout("select", *pick, *model, "--views", "flip, noise")
    assert result.returncode == 0, result.stderr
    picked = json.loads(out.read_text())["picked"]
    assert len(picked) == 2
    for row in picked:
        parts = row["score_components"]
        assert 0.0 <= parts["stability"] <= 1.0 and parts["only_in_other_views"] >= 0
        assert "disagreement across views" in row["why"]

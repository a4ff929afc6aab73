"""The novelty-by-features rules (``outlier``, ``scene_change``) on a real stream with real cuts: the
first frame of a new scene is kept, the steady frames around it are not; with an ONNX encoder too;
prediction-only frames are not theirs; `Sampler.swap` keeps a warm model when the rule is unchanged;
their configuration is validated with key paths."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from framescout import Predictions
from framescout.sampling import ConfigError, ManualClock, Sampler, parse_config
from framescout.sampling.rules import EmbeddingOutlier, SceneChange
from video_cut import BROADCAST_CUTS, broadcast, cut_stream

NONE = Predictions.empty()


def sampler_of(*rules: dict[str, Any]) -> Sampler:
    return parse_config({"rules": list(rules)}).build(ManualClock(0.0))


def kept(sampler: Sampler, start: int = 0, stop: int | None = None) -> list[int]:
    """Indexes of the frames ``sampler`` keeps, fed at 25 fps from frame ``start``."""
    stream = cut_stream()
    out = []
    for i in range(start, len(stream.frames) if stop is None else stop):
        if sampler.decide(NONE, image=stream.frames[i], timestamp=i / 25).keep:
            out.append(i)
    return out


@pytest.mark.parametrize(
    ("rule", "cuts"),
    [
        ({"type": "scene_change"}, (0, 1)),
        ({"type": "outlier", "window": 24}, (0, 1)),
        # back to a scene the window still holds frames of: like a recent frame, so not an outlier
        ({"type": "outlier"}, (0,)),
    ],
    ids=["scene_change", "outlier-short-window", "outlier"],
)
def test_a_cut_to_another_scene_is_kept_and_steady_frames_are_not(
    rule: dict[str, Any], cuts: tuple[int, ...]
) -> None:
    assert kept(sampler_of(rule)) == [cut_stream().cuts[i] for i in cuts]


@pytest.mark.parametrize("kind", ["outlier", "scene_change"])
def test_a_broadcasts_own_cuts_are_kept(kind: str) -> None:
    """soccer.mp4 as it is: a wipe and a cut in 370 frames of a moving broadcast camera. The outlier
    rule keeps exactly the two; scene_change also keeps one fast camera move (0.025 away)."""
    sampler = sampler_of({"type": kind})
    frames = broadcast()
    found = [i for i, f in enumerate(frames) if sampler.decide(NONE, image=f, timestamp=i / 30).keep]
    assert set(BROADCAST_CUTS) <= set(found) and len(found) <= len(BROADCAST_CUTS) + 1
    if kind == "outlier":
        assert found == list(BROADCAST_CUTS)


@pytest.mark.parametrize("kind", ["outlier", "scene_change"])
def test_without_the_floor_the_percentile_alone_keeps_steady_frames(kind: str) -> None:
    """Why ``min_distance`` exists: some steady frame is always the farthest of its window."""
    cut = cut_stream().cuts[0]
    assert kept(sampler_of({"type": kind}), 0, cut) == []
    assert kept(sampler_of({"type": kind, "min_distance": 0, "percentile": 0.1}), 0, cut) != []


def test_the_reason_gives_the_numbers_behind_the_keep() -> None:
    stream = cut_stream()
    sampler = sampler_of({"type": "outlier", "name": "new"}, {"type": "scene_change"})
    decisions = [sampler.decide(NONE, image=f, timestamp=i / 25) for i, f in enumerate(stream.frames)]
    first = decisions[stream.cuts[0]]
    assert first.rule == "new" and first.rule_kind == "outlier"
    assert first.reason.startswith("outlier: distance 0.") and "0 of the last 60 as far" in first.reason
    # the scene_change rule saw the cut too (it sees every frame): it restarted, so no later keep
    assert [i for i, d in enumerate(decisions) if d.keep] == list(stream.cuts)


def test_every_describes_one_frame_in_n_and_still_finds_the_cut() -> None:
    (first, second) = kept(sampler_of({"type": "scene_change", "every": 3}))
    cut, back = cut_stream().cuts
    assert cut <= first < cut + 3 and back <= second < back + 3


def test_a_frame_without_pixels_is_not_theirs_and_leaves_the_model_alone() -> None:
    stream = cut_stream()
    sampler = sampler_of({"type": "outlier", "warmup": 4, "window": 8})
    assert not any(sampler.decide(NONE, timestamp=i).keep for i in range(50))  # prediction-only replay
    # still cold: the first four frames with pixels only warm it up, even at the cut
    cut = stream.cuts[0]
    assert [sampler.decide(NONE, image=stream.frames[i], timestamp=i).keep for i in range(cut, cut + 4)] == [
        False
    ] * 4


def test_a_swap_keeps_the_warm_model_of_an_unchanged_rule_and_restarts_a_changed_one() -> None:
    cut = cut_stream().cuts[0]
    scene = {"type": "scene_change", "name": "scene"}
    other = {"type": "random", "name": "sometimes", "probability": 0.0}
    running = sampler_of(scene, other)
    assert kept(running, 0, cut - 2) == []
    swap = running.swap(sampler_of(scene, {**other, "probability": 0.000001}))
    assert swap.kept == ("scene",) and swap.changed == ("sometimes",)
    assert kept(running, cut - 2, cut + 3) == [cut]  # warm: the cut right after the swap is kept

    fresh = sampler_of(scene)
    assert kept(fresh, 0, cut - 2) == []
    swap = fresh.swap(sampler_of({**scene, "smoothing": 0.2}))
    assert swap.changed == ("scene",)
    assert kept(fresh, cut - 2, cut + 3) == []  # a new model warms up (8 frames) and misses this cut


def test_rules_with_the_same_features_describe_a_frame_once() -> None:
    sampler = sampler_of({"type": "outlier"}, {"type": "scene_change"})
    outlier, scene = sampler.rules
    assert isinstance(outlier, EmbeddingOutlier) and isinstance(scene, SceneChange)
    assert outlier._features is scene._features


def test_an_onnx_encoder_finds_the_cuts_too(nanodet_path: Path, tmp_path: Path) -> None:
    pytest.importorskip("onnx", reason="onnx (dev extra) edits the graph to expose a layer")
    from onnx_graphs import nanodet_feature_encoder

    encoder = nanodet_feature_encoder(nanodet_path, tmp_path)
    sampler = sampler_of({"type": "scene_change", "embedder": encoder, "every": 2})
    (first, second) = kept(sampler)
    cut, back = cut_stream().cuts
    assert cut <= first < cut + 2 and back <= second < back + 2


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({"embedder": "clip"}, "rules[0].embedder: use color-texture, or {onnx: path/to/encoder.onnx}"),
        ({"embedder": {"onnx": "enc.pt"}}, "rules[0].embedder.onnx: must be the path of an .onnx file"),
        ({"embedder": {"onnx": "e.onnx", "sise": 1}}, "rules[0].embedder.sise: unknown key (did you mean"),
        ({"embedder": {"size": [224, 224]}}, "rules[0].embedder.onnx: required key is missing"),
        ({"percentile": 0.5}, "rules[0].percentile: Input should be less than 0.5"),
        ({"window": 8}, "rules[0]: warmup (16) cannot exceed window (8)"),
        ({"every": 0}, "rules[0].every: Input should be greater than or equal to 1"),
    ],
)
def test_bad_settings_are_refused_with_their_key_path(rule: dict[str, Any], expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config({"rules": [{"type": "outlier", **rule}]})
    assert expected in str(info.value)


def test_an_encoder_the_device_lacks_is_valid_but_cannot_be_built(tmp_path: Path) -> None:
    config = parse_config(
        {"rules": [{"type": "scene_change", "embedder": {"onnx": str(tmp_path / "x.onnx")}}]}
    )
    with pytest.raises(ValueError, match="cannot load ONNX encoder"):
        config.build()


def test_the_notes_say_prediction_only_replays_do_not_apply_them() -> None:
    config = parse_config(
        {"rules": [{"type": "scene_change", "name": "cuts"}, {"type": "confidence", "below": 0.3}]}
    )
    (note,) = config.notes()
    assert note.startswith("cuts: ") and "'rules explain' never keep a frame by them" in note

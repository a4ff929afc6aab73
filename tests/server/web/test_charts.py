"""SVG chart layout: stacked bars add up, heights scale with counts, empty data draws nothing."""

from __future__ import annotations

import pytest

from framescout.server.web.charts import OTHER_COLOUR, PALETTE, PLOT_BOTTOM, histogram_chart, kept_chart
from framescout.store.rule_stats import OTHER_DEVICES, KeptOverTime


def test_kept_chart_stacks_rules_per_bucket_on_a_round_axis() -> None:
    kept = KeptOverTime(
        "day", ["2026-11-01", "2026-11-02"], ["low", "random"], {"low": [6, 0], "random": [3, 1]}
    )
    chart = kept_chart(kept, width=500, height=200)
    assert not chart.empty and [t for _, t in chart.y_ticks] == ["0", "5", "10"]
    first = [b for b in chart.bars if b.title.startswith("2026-11-01")]
    assert len(first) == 2 and len({b.x for b in first}) == 1
    low, random = first
    assert low.y + low.height == pytest.approx(200 - PLOT_BOTTOM)  # the first rule sits on the axis
    assert random.y + random.height == pytest.approx(low.y)  # the next one on top of it
    assert low.height == pytest.approx(2 * random.height)
    assert [name for _, name, _ in chart.legend] == ["low", "random"]
    assert [label for _, label in chart.x_labels] == ["11-01", "11-02"]


def test_kept_chart_by_device_names_the_devices_and_greys_the_rest() -> None:
    kept = KeptOverTime(
        "hour",
        ["2026-11-01 09:00"],
        ["cam-a", OTHER_DEVICES],
        {"cam-a": [3], OTHER_DEVICES: [2]},
        by="device",
    )
    chart = kept_chart(kept)
    assert [b.title for b in chart.bars] == [
        "2026-11-01 09:00: 3 kept from cam-a",
        "2026-11-01 09:00: 2 kept from (other devices)",
    ]
    assert chart.legend == [(PALETTE[0], "cam-a", 3), (OTHER_COLOUR, OTHER_DEVICES, 2)]


def test_histogram_and_empty_charts() -> None:
    chart = histogram_chart([0, 4, 2, 0])
    heights = [b.height for b in chart.bars]
    assert heights[0] == 0 and heights[1] == pytest.approx(2 * heights[2])
    assert "0.25–0.50: 4 prediction(s)" in chart.bars[1].title
    assert histogram_chart([0, 0]).empty and kept_chart(KeptOverTime("day", [], [], {})).empty

"""Charts as inline SVG, laid out in Python: no JavaScript charting library, nothing fetched from a CDN,
and the page is complete (and testable) as soon as the HTML arrives."""

from __future__ import annotations

from dataclasses import dataclass, field

from framescout.store.corrections import CHANGE_KINDS
from framescout.store.rule_stats import OTHER_DEVICES, KeptOverTime
from framescout.store.rule_yield import RuleYield

PALETTE = (
    "#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed",
    "#0891b2", "#db2777", "#65a30d", "#ea580c", "#475569",
)  # fmt: skip
OTHER_COLOUR = "#9ca3af"


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    colour: str
    title: str


@dataclass
class Chart:
    """Everything a template needs to draw one bar chart."""

    width: int
    height: int
    bars: list[Bar] = field(default_factory=list)
    x_labels: list[tuple[float, str]] = field(default_factory=list)
    y_ticks: list[tuple[float, str]] = field(default_factory=list)
    legend: list[tuple[str, str, int]] = field(default_factory=list)  # (colour, name, total)
    empty: bool = True


PLOT_LEFT, PLOT_RIGHT, PLOT_BOTTOM, PLOT_TOP = 40, 16, 22, 8
MAX_BAR_WIDTH = 48.0


def _nice_max(value: int) -> int:
    """A round axis maximum at or above ``value`` (1, 2, 5 × 10^k)."""
    if value <= 0:
        return 1
    magnitude = 1
    while magnitude * 10 <= value:
        magnitude *= 10
    for step in (1, 2, 5, 10):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude


def _nice_ceiling(value: float) -> float:
    """`_nice_max` for values that may be fractions (0.2, 0.5, 1, 2, 5, … at or above ``value``)."""
    if value <= 0:
        return 1.0
    shift = 1.0
    while value * shift < 1:
        shift *= 10
    return _nice_max(int(value * shift - 1e-9) + 1) / shift


def _axis(chart: Chart, top_value: float) -> float:
    """Add y ticks for 0..top_value and return pixels per unit."""
    plot_height = chart.height - PLOT_BOTTOM - PLOT_TOP
    scale = plot_height / top_value
    for fraction in (0, 0.5, 1):
        value = top_value * fraction
        label = f"{value:g}" if value != int(value) else str(int(value))
        chart.y_ticks.append((chart.height - PLOT_BOTTOM - value * scale, label))
    return scale


def kept_chart(kept: KeptOverTime, *, width: int = 1000, height: int = 240) -> Chart:
    """Stacked bars: kept frames per time bucket, one colour per sampling rule (or per device, the rest
    of the fleet in grey)."""
    chart = Chart(width, height)
    if not kept.buckets:
        return chart
    colours = {rule: PALETTE[i % len(PALETTE)] for i, rule in enumerate(kept.rules)}
    colours[OTHER_DEVICES] = OTHER_COLOUR
    verb = "kept from" if kept.by == "device" else "kept by"
    totals = [sum(kept.counts[r][i] for r in kept.rules) for i in range(len(kept.buckets))]
    scale = _axis(chart, _nice_max(max(totals)))
    slot = _stack(chart, kept.buckets, kept.rules, kept.counts, colours, scale, verb, PLOT_LEFT, PLOT_RIGHT)
    every = max(1, len(kept.buckets) // 6)
    for i in range(0, len(kept.buckets), every):
        label = kept.buckets[i][5:] if kept.unit == "day" else kept.buckets[i][8:]
        chart.x_labels.append((PLOT_LEFT + (i + 0.5) * slot, label))
    chart.legend = [(colours[r], r, sum(kept.counts[r])) for r in kept.rules]
    chart.empty = False
    return chart


def sparkline_chart(
    buckets: list[str],
    counts: dict[str, list[int]],
    colours: dict[str, str],
    *,
    width: int = 160,
    height: int = 32,
) -> Chart:
    """A small stacked-bar chart without axes (the Devices page's kept frames per rule, per heartbeat):
    ``counts`` maps each series to a count per bucket; ``colours`` gives each series its colour, the
    same on every row."""
    chart = Chart(width, height)
    totals = [sum(column) for column in zip(*counts.values(), strict=True)] if counts else []
    if not buckets or not any(totals):
        return chart
    scale = (height - 2) / max(totals)
    series = [name for name in colours if name in counts]
    _stack(chart, buckets, series, counts, colours, scale, "kept by", 0, 0, bottom=0)
    chart.legend = [(colours[name], name, sum(counts[name])) for name in series if sum(counts[name])]
    chart.empty = False
    return chart


def _stack(
    chart: Chart,
    buckets: list[str],
    series: list[str],
    counts: dict[str, list[int]],
    colours: dict[str, str],
    scale: float,
    verb: str,
    left: float,
    right: float,
    *,
    bottom: float = PLOT_BOTTOM,
) -> float:
    """Add one stacked bar per bucket, the series in order from the axis up; returns the slot width."""
    slot = (chart.width - left - right) / len(buckets)
    bar_width = min(max(slot * 0.8, 1.0), MAX_BAR_WIDTH)
    for i, bucket in enumerate(buckets):
        base = float(chart.height - bottom)
        x = left + i * slot + (slot - bar_width) / 2
        for name in series:
            n = counts[name][i]
            if not n:
                continue
            h = n * scale
            base -= h
            chart.bars.append(Bar(x, base, bar_width, h, colours[name], f"{bucket}: {n} {verb} {name}"))
    return slot


def histogram_chart(counts: list[int], *, width: int = 1000, height: int = 220) -> Chart:
    """Bars over equal confidence bins in [0, 1]."""
    chart = Chart(width, height)
    if not any(counts):
        return chart
    scale = _axis(chart, _nice_max(max(counts)))
    slot = (width - PLOT_LEFT - PLOT_RIGHT) / len(counts)
    for i, n in enumerate(counts):
        lo, hi = i / len(counts), (i + 1) / len(counts)
        h = n * scale
        chart.bars.append(
            Bar(
                PLOT_LEFT + i * slot + 1,
                height - PLOT_BOTTOM - h,
                max(slot - 2, 1.0),
                h,
                "#2563eb",
                f"confidence {lo:.2f}–{hi:.2f}: {n} prediction(s)",
            )
        )
    for value in (0.0, 0.25, 0.5, 0.75, 1.0):
        chart.x_labels.append((PLOT_LEFT + value * (width - PLOT_LEFT - PLOT_RIGHT), f"{value:.2f}"))
    chart.empty = False
    return chart


CHANGE_COLOURS = {"added": "#16a34a", "removed": "#dc2626", "relabelled": "#d97706", "moved": "#7c3aed"}
YIELD_BARS = 12


def yield_chart(
    rows: list[RuleYield], *, width: int = 1000, height: int = 220, top: int = YIELD_BARS
) -> Chart:
    """Stacked bars: corrections per reviewed frame of each rule under each model version (the ``top``
    highest, in ``rows``' order), one colour per kind of change."""
    chart = Chart(width, height)
    ranked = [r for r in rows if r.changes is not None and r.corrections_per_reviewed_frame is not None][:top]
    if not ranked or not any(r.corrections_per_reviewed_frame for r in ranked):
        return chart
    scale = _axis(chart, _nice_ceiling(max(r.corrections_per_reviewed_frame or 0.0 for r in ranked)))
    slot = (width - PLOT_LEFT - PLOT_RIGHT) / len(ranked)
    bar_width = min(max(slot * 0.8, 1.0), MAX_BAR_WIDTH)
    totals = dict.fromkeys(CHANGE_KINDS, 0)
    for i, row in enumerate(ranked):
        assert row.changes is not None
        label = f"{row.rule} · v{row.model_version}" if row.model_version is not None else row.rule
        base = float(height - PLOT_BOTTOM)
        x = PLOT_LEFT + i * slot + (slot - bar_width) / 2
        for kind in CHANGE_KINDS:
            n = getattr(row.changes, kind)
            totals[kind] += n
            if not n:
                continue
            h = n / row.changes.reviewed * scale
            base -= h
            title = f"{label}: {n} {kind} over {row.changes.reviewed} reviewed frame(s)"
            chart.bars.append(Bar(x, base, bar_width, h, CHANGE_COLOURS[kind], title))
        chart.x_labels.append((PLOT_LEFT + (i + 0.5) * slot, label if len(label) <= 18 else label[:17] + "…"))
    chart.legend = [(CHANGE_COLOURS[kind], kind, totals[kind]) for kind in CHANGE_KINDS]
    chart.empty = False
    return chart

"""A contact sheet of a pick: one self-contained HTML page with a thumbnail per picked image, its
predicted boxes and the scores that put it there (`framescout select --report out.html`).

Thumbnails are embedded as base64 JPEG and boxes drawn as inline SVG over them: no script, no CDN,
nothing beside the file. The page is written to a temporary file and renamed into place."""

from __future__ import annotations

import base64
import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from framescout.atomic import write_file_atomically
from framescout.imaging import ImageError, decode_image, encode_jpeg, to_bgr
from framescout.predictions import Predictions
from framescout.selection.explain import PickDetail

THUMB = 320
"""Longer side of a thumbnail, in pixels."""
MAX_SHEET = 500
"""Picks shown on one sheet (the first ones); the page says when there were more."""
MAX_BOXES = 20
"""Boxes drawn per thumbnail (the most confident); the first `MAX_LABELS` of them are labelled."""
MAX_LABELS = 8

_CSS = """
body{font:13px/1.4 system-ui,sans-serif;margin:16px;background:#f6f6f6;color:#222}
h1{font-size:18px;margin:0 0 4px}p.sum{margin:0 0 12px;color:#555}
.grid{display:flex;flex-wrap:wrap;gap:12px}
figure{margin:0;background:#fff;border:1px solid #ddd;border-radius:4px;padding:8px;width:336px}
.t{position:relative;margin:0 auto}.t img,.t svg{position:absolute;left:0;top:0}
figcaption{margin-top:6px;word-break:break-all}figcaption b{font-size:14px}
table{border-collapse:collapse;margin-top:4px;width:100%}td{padding:1px 4px;border-top:1px solid #eee}
td:first-child{color:#666;width:45%}.why{color:#064;margin:4px 0}.bad{color:#a00}
svg text{font:11px sans-serif;fill:#fff}
"""


@dataclass(frozen=True)
class SheetEntry:
    """One picked image: how to read it, its predictions, the explanation and duplicate group."""

    name: str
    read: Callable[[], bytes]
    detail: PickDetail
    predictions: Predictions | None = None
    duplicates: Sequence[str] = ()


def write_contact_sheet(path: Path, entries: Sequence[SheetEntry], *, title: str, summary: str) -> int:
    """Write the sheet to ``path`` atomically; return the number of cards on it."""
    shown = entries[:MAX_SHEET]
    more = f" Showing the first {len(shown)} of {len(entries)} picks." if len(entries) > len(shown) else ""
    cards = "\n".join(_card(entry) for entry in shown)
    page = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><p class='sum'>{html.escape(summary + more)}</p>"
        f"<div class='grid'>{cards}</div></body></html>\n"
    )
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    # a file name that is not UTF-8 reaches here with surrogates: shown as \udcff, not a crash
    data = page.encode("utf-8", "backslashreplace")
    write_file_atomically(target, data, prefix=f".{target.name}.", shared=True)  # an ordinary file
    return len(shown)


def _card(entry: SheetEntry) -> str:
    d = entry.detail
    try:
        picture = _thumbnail(entry.read(), entry.predictions)
    except (OSError, ImageError) as exc:
        picture = f"<p class='bad'>could not read the image: {html.escape(str(exc))}</p>"
    rows = [(name, f"{value:.3f}") for name, value in d.uncertainty.items()]
    if d.uncertainty_rank is not None and d.measure:
        rows.append((f"rank by {d.measure}", f"#{d.uncertainty_rank}"))
    if d.distance_at_pick is not None:
        rows.append(("distance at pick", f"{d.distance_at_pick:.3f}"))
    if d.distance_to_labelled is not None:
        rows.append(("distance to labelled", f"{d.distance_to_labelled:.3f}"))
    if d.boxes is not None:
        top = ", ".join(f"{c} x{k}" for c, k in list(d.classes.items())[:6])
        more = ", ..." if len(d.classes) > 6 else ""
        rows.append(("boxes", f"{d.boxes}: {top}{more}" if d.boxes else "none"))
    rows.append(("duplicate group", f"{1 + len(entry.duplicates)} image(s)"))
    if entry.duplicates:
        rows.append(("duplicates", ", ".join(Path(n).name for n in list(entry.duplicates)[:5])))
    table = "".join(f"<tr><td>{html.escape(k)}</td><td>{html.escape(v)}</td></tr>" for k, v in rows)
    return (
        f"<figure>{picture}<figcaption title='{html.escape(entry.name, quote=True)}'>"
        f"<b>#{d.rank}</b> {html.escape(Path(entry.name).name)}"
        f"<div class='why'>{html.escape(d.reason)}</div><table>{table}</table></figcaption></figure>"
    )


def _thumbnail(data: bytes, predictions: Predictions | None) -> str:
    """A base64 JPEG thumbnail with the predicted boxes drawn as SVG in the same coordinates."""
    image = decode_image(data)
    full_w = image.size[0]
    image.thumbnail((THUMB, THUMB))
    w, h = image.size
    scale = w / full_w if full_w else 1.0
    jpeg = base64.b64encode(encode_jpeg(to_bgr(image), quality=80)).decode()
    shapes = []
    if predictions is not None and len(predictions):
        order = predictions.confidence.argsort()[::-1][:MAX_BOXES]
        for n, i in enumerate(map(int, order)):
            x1, y1, x2, y2 = (float(v) * scale for v in predictions.xyxy[i])
            shapes.append(
                f"<rect x='{x1:.1f}' y='{y1:.1f}' width='{max(x2 - x1, 1):.1f}' "
                f"height='{max(y2 - y1, 1):.1f}' fill='none' stroke='#ff2d55' stroke-width='2'/>"
            )
            if n < MAX_LABELS:
                label = f"{predictions.class_name[i]} {float(predictions.confidence[i]):.2f}"
                top = max(y1 - 13, 0)
                shapes.append(
                    f"<rect x='{x1:.1f}' y='{top:.1f}' width='{7 * len(label):.0f}' height='13' "
                    f"fill='#ff2d55'/><text x='{x1 + 2:.1f}' y='{top + 10:.1f}'>{html.escape(label)}</text>"
                )
    return (
        f"<div class='t' style='width:{w}px;height:{h}px'>"
        f"<img alt='' width='{w}' height='{h}' src='data:image/jpeg;base64,{jpeg}'>"
        f"<svg width='{w}' height='{h}' viewBox='0 0 {w} {h}'>{''.join(shapes)}</svg></div>"
    )

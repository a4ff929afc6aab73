"""What the review page says about pre-labels the server made itself (label assist)."""

from __future__ import annotations

from dataclasses import dataclass

from framescout.store.label_assist import DONE, FAILED, RUNNING
from framescout.store.models import LabelAssist


@dataclass(frozen=True)
class AssistNote:
    """One line of the review page's facts: ``state`` (done/running/failed), the text, a detail."""

    state: str
    text: str
    detail: str = ""


def assist_note(row: LabelAssist | None) -> AssistNote | None:
    """The note for an image's label-assist record; ``None`` when there is nothing to say (never
    assisted, or skipped because predictions or a review arrived first)."""
    if row is None:
        return None
    model = f"model v{row.model_version}"
    if row.state == DONE:
        boxes = f"{row.boxes} box{'es' if row.boxes != 1 else ''}" if row.boxes is not None else ""
        when = f"{row.finished_at:%Y-%m-%d %H:%M} UTC" if row.finished_at else ""
        return AssistNote(
            DONE, f"pre-labelled by the server with {model}", ", ".join(p for p in (boxes, when) if p)
        )
    if row.state == RUNNING:
        return AssistNote(RUNNING, f"being pre-labelled by the server with {model}")
    if row.state == FAILED:
        return AssistNote(FAILED, f"the server could not pre-label it with {model}", row.error or "")
    return None

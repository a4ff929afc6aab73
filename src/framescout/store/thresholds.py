"""The threshold a sampling reason names, read back out of the reason text the rule wrote.

The collector uploads each kept frame's reason ("1 box(es) below confidence 0.40 (lowest 0.31)"); the
dashboard shows the thresholds in force per model version from those texts, so frames uploaded before
thresholds were stored show theirs too. One pattern per reason text framescout's rules write.
"""

from __future__ import annotations

import re

_NUMBER = r"(\d+(?:\.\d+)?)"
_THRESHOLD_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(rf"below confidence {_NUMBER}"), "< {0}"),  # confidence_below
    # threshold_schedule from: evaluation with per-class thresholds, then every threshold_schedule
    (
        re.compile(
            rf"below {_NUMBER}, the threshold for model version \S+ for (.+?) \((?:evaluation|fallback)"
        ),
        "{1} < {0}",
    ),
    (re.compile(rf"below {_NUMBER}, the threshold for model version"), "< {0}"),
    (re.compile(rf"with confidence in \[{_NUMBER}, {_NUMBER}\]"), "in [{0}, {1}]"),  # confidence_between
    (re.compile(rf"within ±{_NUMBER} of {_NUMBER}"), "{1} ± {0}"),  # confidence_near
    (re.compile(rf"class threshold \(e\.g\. (.+?) {_NUMBER} < {_NUMBER}\)"), "{0} < {2}"),  # per class
    (re.compile(rf" in \[{_NUMBER}, {_NUMBER}\]%"), "in [{0}, {1}]%"),  # the guide's conditionals
    (re.compile(rf" ≥ {_NUMBER}$"), "≥ {0}"),  # uncertainty
)


def parse_threshold(reason: str | None) -> str | None:
    """The threshold a sampling reason names (``"1 box(es) below confidence 0.40 (lowest 0.31)"`` →
    ``"< 0.40"``), for the reason texts framescout's rules write; ``None`` when it names none."""
    if not reason:
        return None
    for pattern, shape in _THRESHOLD_PATTERNS:
        found = pattern.search(reason)
        if found:
            return shape.format(*found.groups())
    return None


_SOURCE = re.compile(r", the threshold for model version .*?\(((?:evaluation of|fallback:) .*)\)$")


def parse_source(reason: str | None) -> str | None:
    """Where a ``from: evaluation`` schedule's threshold came from, as its reason says (``"1 box(es)
    below 0.55, the threshold for model version 2 (evaluation of v2 on 312 reviewed frames)"`` →
    ``"evaluation of v2 on 312 reviewed frames"``); ``None`` for every other reason."""
    found = _SOURCE.search(reason or "")
    return found.group(1) if found else None

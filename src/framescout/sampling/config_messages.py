"""Pydantic's validation errors as the messages ``framescout rules check`` prints.

Each error becomes ``key.path: message``: list indexes as ``rules[1]``, the rule's name when it has
one (``rules[1] (low-confidence).below``), no trace of the discriminator pydantic inserts, a
did-you-mean for unknown keys and the list of rule types for an unknown ``type``.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Any, get_args

from pydantic import BaseModel

from framescout.sampling.rule_configs import RULE_TYPES, RuleConfigBase

_QUIET_KINDS = ("extra_forbidden", "missing", "union_tag_invalid", "union_tag_not_found", "value_error")
"""Error kinds whose message already says what was wrong, so the offending value is not repeated."""


_LOCATED = re.compile(r"^(rules\[\d+\])(?: \([^)]*\))?: (.*)$", re.DOTALL)
"""A whole-document check's message that starts with the rule it is about (``rules[2]: ...``)."""


@dataclass(frozen=True)
class Problem:
    """One offending key: its plain ``key`` path (``rules[1].limits.per_minute``, ``""`` for the whole
    document), where a person reads it (``rules[1] (night).limits.per_minute``) and what is wrong."""

    key: str
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


def describe(error: Any, data: Any, root: type[BaseModel]) -> str:
    """One error of ``root.model_validate(data)`` as ``key.path: message``."""
    return str(diagnose(error, data, root))


def diagnose(error: Any, data: Any, root: type[BaseModel]) -> Problem:
    """One error of ``root.model_validate(data)`` as a `Problem` (what `describe` prints)."""
    loc = list(error["loc"])
    parts: list[str] = []
    keys: list[str] = []
    node: Any = data
    i = 0
    while i < len(loc):
        key = loc[i]
        if isinstance(key, int):
            parts[-1] += f"[{key}]"
            keys[-1] += f"[{key}]"
            node = node[key] if isinstance(node, list) and key < len(node) else None
            if isinstance(node, dict) and isinstance(node.get("name"), str):
                parts[-1] += f" ({node['name']})"
            if (
                i + 1 < len(loc)
                and loc[i + 1] in RULE_TYPES
                and isinstance(node, dict)
                and "rules" in parts[0]
            ):
                i += 1  # pydantic inserts the discriminator value; users never wrote it
        else:
            parts.append(str(key))
            keys.append(str(key))
            node = node.get(key) if isinstance(node, dict) else None
            if key == "embedder" and i + 1 < len(loc) and loc[i + 1] == "onnx":
                i += 1  # the tag of the encoder form (`rule_configs.Embedder`), not a key users wrote
        i += 1
    where = ".".join(parts) or "(top level)"
    path = ".".join(keys)
    kind, message = error["type"], error["msg"]
    if kind == "extra_forbidden":
        message = f"unknown key{_did_you_mean(error, root)}"
    elif kind == "union_tag_invalid":
        message = (
            f"unknown rule type {error['input'].get('type')!r}; use one of {', '.join(sorted(RULE_TYPES))}"
        )
        where += ".type"
        path += ".type"
    elif kind == "union_tag_not_found":
        message = f"missing 'type'; use one of {', '.join(sorted(RULE_TYPES))}"
    elif kind == "missing":
        message = "required key is missing"
    elif message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    if kind not in _QUIET_KINDS:
        shown = error.get("input")
        if not isinstance(shown, dict | list):
            message += f" (got {shown!r})"
    located = _LOCATED.match(message) if not path else None
    if located:  # a whole-document check (unique names) that names its rule in the message
        path = located[1]
    return Problem(path, where, message)


def _did_you_mean(error: Any, root: type[BaseModel]) -> str:
    """The closest key the section allows, else the list of keys it allows."""
    loc = error["loc"]
    bad = str(loc[-1])
    model: type[BaseModel] = root
    inner = loc[:-1]
    if loc[0] == "rules" and len(loc) >= 3:
        model, inner = RULE_TYPES.get(str(loc[2]), RuleConfigBase), loc[3:-1]
    for key in inner:
        model = _section(model, str(key)) or model
    fields = [f.alias or name for name, f in model.model_fields.items()]
    close = difflib.get_close_matches(bad, fields, n=1)
    return f" (did you mean {close[0]!r}?)" if close else f"; allowed: {', '.join(sorted(fields))}"


def _section(model: type[BaseModel], key: str) -> type[BaseModel] | None:
    """The model of ``model``'s ``key`` when that key is a nested section (``limits``, ``novelty``)."""
    field = model.model_fields.get(key)
    return _model_in(field.annotation) if field is not None else None


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The first `BaseModel` inside an annotation such as ``Annotated[LimitsConfig, ...] | None``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None

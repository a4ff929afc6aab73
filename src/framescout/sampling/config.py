"""Sampling configuration: YAML or JSON, validated with Pydantic, turned into a `Sampler`.

Unknown keys, wrong types and impossible values are rejected with a message naming the key path,
e.g. ``rules[1] (low-confidence).below: must be at most 1``.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from framescout.sampling.clock import Clock, system_clock
from framescout.sampling.engine import Sampler
from framescout.sampling.limiter import parse_limits
from framescout.sampling.rules import (
    ClassesPresent,
    ConfidenceBelow,
    ConfidenceBetween,
    ConfidenceNear,
    DetectionCount,
    EveryNth,
    NothingDetected,
    PerClassBelow,
    RandomSample,
    RoboflowConditionals,
    Rule,
    ThresholdSchedule,
    TimeQuota,
    UncertaintyAbove,
)


class ConfigError(ValueError):
    """A sampling configuration that cannot be used; the message names every offending key."""


# ----------------------------------------------------------------------------- value parsers
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|sec|m|min|h|hr|d|day)?s?\s*$")
_UNITS = {
    None: 1.0,
    "ms": 0.001,
    "s": 1.0,
    "sec": 1.0,
    "m": 60.0,
    "min": 60.0,
    "h": 3600.0,
    "hr": 3600.0,
    "d": 86400.0,
    "day": 86400.0,
}


def _duration(value: Any) -> Any:
    """``"15m"``, ``"1h"``, ``"30s"``, ``"1d"`` or a number of seconds, to seconds."""
    if isinstance(value, str):
        match = _DURATION.match(value.lower())
        if not match:
            raise ValueError(f"cannot read {value!r} as a duration; write e.g. '30s', '15m', '1h', '1d'")
        return float(match.group(1)) * _UNITS[match.group(2)]
    return value


def _fraction(value: Any) -> Any:
    """``"0.5%"`` or ``0.005`` to a fraction."""
    if isinstance(value, str) and value.strip().endswith("%"):
        try:
            return float(value.strip()[:-1]) / 100.0
        except ValueError:
            raise ValueError(f"cannot read {value!r} as a percentage") from None
    return value


Duration = Annotated[float, BeforeValidator(_duration), Field(gt=0)]
Fraction = Annotated[float, BeforeValidator(_fraction), Field(ge=0, le=1)]
Count = Annotated[int, Field(ge=0)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LimitsConfig(_Strict):
    """Caps on kept frames; any mix of periods."""

    per_second: Annotated[int, Field(gt=0)] | None = None
    per_minute: Annotated[int, Field(gt=0)] | None = None
    per_hour: Annotated[int, Field(gt=0)] | None = None
    per_day: Annotated[int, Field(gt=0)] | None = None

    def spec(self) -> dict[str, int]:
        return {k: v for k, v in self.model_dump().items() if v is not None}


def _limits_field(value: Any) -> Any:
    """Accept the `limits` library's text form (``"10/minute; 200/hour"``) as well as a mapping."""
    if not isinstance(value, str):
        return value
    out: dict[str, int] = {}
    for item in parse_limits(value):
        period = item.GRANULARITY.name
        if item.multiples != 1 or period not in ("second", "minute", "hour", "day"):
            raise ValueError(
                f"{value!r}: use whole periods (second, minute, hour, day), e.g. '10/minute; 200/hour'"
            )
        out[f"per_{period}"] = item.amount
    return out


Limits = Annotated[LimitsConfig, BeforeValidator(_limits_field)]


class _RuleConfig(_Strict):
    name: str | None = Field(default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    tags: list[Annotated[str, Field(min_length=1, max_length=64)]] = []
    limits: Limits | None = None

    def common(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "tags": self.tags,
            "limits": self.limits.spec() if self.limits else None,
        }

    def build(self, seed: int | None) -> Rule:  # pragma: no cover - every subclass overrides
        raise NotImplementedError


class RandomConfig(_RuleConfig):
    type: Literal["random"]
    probability: Fraction

    def build(self, seed: int | None) -> Rule:
        return RandomSample(self.probability, seed=seed, **self.common())


class QuotaConfig(_RuleConfig):
    """ "N frames every T", spread over the window."""

    type: Literal["quota"]
    count: Annotated[int, Field(ge=1)]
    every: Duration

    def build(self, seed: int | None) -> Rule:
        return TimeQuota(self.count, self.every, seed=seed, **self.common())


class ConfidenceConfig(_RuleConfig):
    """Exactly one of ``below``, ``between``, ``near`` (with ``epsilon``) or ``per_class``."""

    type: Literal["confidence"]
    below: Fraction | None = None
    between: tuple[Fraction, Fraction] | None = None
    near: Fraction | None = None
    epsilon: Fraction | None = None
    per_class: dict[str, Fraction] | None = None
    default: Fraction | None = None
    min_count: Annotated[int, Field(ge=1)] = 1
    classes: list[str] | None = None

    @model_validator(mode="after")
    def _one_mode(self) -> ConfidenceConfig:
        modes = [k for k in ("below", "between", "near", "per_class") if getattr(self, k) is not None]
        if len(modes) != 1:
            raise ValueError(
                "give exactly one of below, between, near or per_class"
                + (f" (got {', '.join(modes)})" if modes else "")
            )
        if self.between is not None and self.between[0] > self.between[1]:
            raise ValueError(f"between: low {self.between[0]} is above high {self.between[1]}")
        if (self.near is None) != (self.epsilon is None):
            raise ValueError("near and epsilon go together")
        if self.default is not None and self.per_class is None:
            raise ValueError("default only applies to per_class")
        return self

    def build(self, seed: int | None) -> Rule:
        common = self.common()
        if self.below is not None:
            return ConfidenceBelow(self.below, classes=self.classes, **common)
        if self.between is not None:
            return ConfidenceBetween(*self.between, min_count=self.min_count, classes=self.classes, **common)
        if self.near is not None and self.epsilon is not None:
            return ConfidenceNear(
                self.near, self.epsilon, min_count=self.min_count, classes=self.classes, **common
            )
        assert self.per_class is not None
        return PerClassBelow(self.per_class, default=self.default, **common)


class ScheduleConfig(_RuleConfig):
    """Below-threshold sampling whose threshold rises with the model version."""

    type: Literal["threshold_schedule"]
    schedule: Annotated[dict[str, Fraction], Field(min_length=1)]
    default: Fraction | None = None
    classes: list[str] | None = None

    @field_validator("schedule", mode="before")
    @classmethod
    def _keys_as_text(cls, value: Any) -> Any:
        return {str(k): v for k, v in value.items()} if isinstance(value, Mapping) else value

    def build(self, seed: int | None) -> Rule:
        return ThresholdSchedule(self.schedule, default=self.default, classes=self.classes, **self.common())


class NothingDetectedConfig(_RuleConfig):
    type: Literal["nothing_detected"]
    classes: list[str] | None = None

    def build(self, seed: int | None) -> Rule:
        return NothingDetected(classes=self.classes, **self.common())


class Conditionals(_Strict):
    """The guide's ``conditionals`` dict: Roboflow's keys, Roboflow's defaults."""

    required_objects_count: Count = 1
    required_class_count: Count = 0
    target_classes: list[str] = []
    minimum_size_requirement: float = float("-inf")
    maximum_size_requirement: float = float("inf")
    confidence_interval: tuple[
        Annotated[float, Field(ge=0, le=100)], Annotated[float, Field(ge=0, le=100)]
    ] = (
        30,
        99,
    )
    similarity_confidence_threshold: Annotated[float, Field(ge=0, le=1)] | None = None
    similarity_timeout_limit: Annotated[int, Field(ge=1)] | None = None
    required_class_variance_count: Count | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Conditionals:
        low, high = self.confidence_interval
        if low > high:
            raise ValueError(f"confidence_interval: low {low} is above high {high}")
        if self.minimum_size_requirement >= self.maximum_size_requirement:
            raise ValueError("minimum_size_requirement must be below maximum_size_requirement")
        return self


class ConditionalsConfig(_RuleConfig):
    type: Literal["conditionals"]
    conditionals: Conditionals = Conditionals()

    def build(self, seed: int | None) -> Rule:
        return RoboflowConditionals(**self.conditionals.model_dump(), **self.common())


class DetectionCountConfig(_RuleConfig):
    type: Literal["detection_count"]
    more_than: Count | None = None
    less_than: Count | None = None
    classes: list[str] | None = None
    min_confidence: Fraction = 0.0

    @model_validator(mode="after")
    def _bound(self) -> DetectionCountConfig:
        if self.more_than is None and self.less_than is None:
            raise ValueError("give more_than, less_than or both")
        return self

    def build(self, seed: int | None) -> Rule:
        return DetectionCount(
            more_than=self.more_than,
            less_than=self.less_than,
            classes=self.classes,
            min_confidence=self.min_confidence,
            **self.common(),
        )


class ClassesPresentConfig(_RuleConfig):
    type: Literal["classes_present"]
    any_of: list[str] = []
    all_of: list[str] = []
    min_confidence: Fraction = 0.0

    @model_validator(mode="after")
    def _some(self) -> ClassesPresentConfig:
        if not self.any_of and not self.all_of:
            raise ValueError("give any_of, all_of or both")
        return self

    def build(self, seed: int | None) -> Rule:
        return ClassesPresent(
            any_of=self.any_of, all_of=self.all_of, min_confidence=self.min_confidence, **self.common()
        )


class EveryNthConfig(_RuleConfig):
    type: Literal["every_nth"]
    class_name: str = Field(alias="class")
    n: Annotated[int, Field(ge=1)]
    min_confidence: Fraction = 0.0

    def build(self, seed: int | None) -> Rule:
        return EveryNth(self.class_name, self.n, min_confidence=self.min_confidence, **self.common())


class UncertaintyConfig(_RuleConfig):
    type: Literal["uncertainty"]
    measure: Literal["least_confidence", "margin", "entropy"]
    above: Fraction
    aggregate: Literal["max", "mean"] = "max"
    empty: Fraction = 0.0

    def build(self, seed: int | None) -> Rule:
        return UncertaintyAbove(
            self.measure, self.above, aggregate=self.aggregate, empty=self.empty, **self.common()
        )


RuleConfig = Annotated[
    RandomConfig
    | QuotaConfig
    | ConfidenceConfig
    | ScheduleConfig
    | NothingDetectedConfig
    | ConditionalsConfig
    | DetectionCountConfig
    | ClassesPresentConfig
    | EveryNthConfig
    | UncertaintyConfig,
    Field(discriminator="type"),
]
RULE_TYPES: dict[str, type[_RuleConfig]] = {
    m.model_fields["type"].annotation.__args__[0]: m  # type: ignore[union-attr]
    for m in (
        RandomConfig,
        QuotaConfig,
        ConfidenceConfig,
        ScheduleConfig,
        NothingDetectedConfig,
        ConditionalsConfig,
        DetectionCountConfig,
        ClassesPresentConfig,
        EveryNthConfig,
        UncertaintyConfig,
    )
}


class NoveltyConfig(_Strict):
    """Skip kept frames that look like recently kept ones (the guide's similarity keys).

    ``threshold`` is the highest similarity (1 = identical) a frame may have to the reference and
    still be kept; ``timeout_limit`` forces a refresh after that many look-alikes in a row."""

    threshold: Annotated[float, Field(ge=0, le=1)]
    timeout_limit: Annotated[int, Field(ge=1)] | None = None
    window: Annotated[int, Field(ge=1, le=1000)] = 1
    embedder: Literal["phash", "color-texture"] = "phash"


class SamplingConfig(_Strict):
    """A whole rule stack: tried in order, first matching rule with credit keeps the frame."""

    version: Literal[1] = 1
    seed: int | None = None
    limits: Limits | None = None
    novelty: NoveltyConfig | None = None
    storage: str | None = Field(default=None, description="a `limits` storage URI, e.g. redis://host:6379")
    rules: Annotated[list[RuleConfig], Field(min_length=1)]

    @model_validator(mode="after")
    def _unique_names(self) -> SamplingConfig:
        seen: set[str] = set()
        for i, rule in enumerate(self.rules):
            name = rule.name or rule.type
            if name in seen:
                raise ValueError(f"rules[{i}]: the name {name!r} is used twice; give each rule a unique name")
            seen.add(name)
        return self

    def build(self, clock: Clock = system_clock) -> Sampler:
        """The `Sampler` this configuration describes."""
        rules = [rule.build(self.seed) for rule in self.rules]
        return Sampler(
            rules,
            limits=self.limits.spec() if self.limits else None,
            seed=self.seed,
            clock=clock,
            storage=self.storage,
        )

    def novelty_settings(self) -> NoveltyConfig | None:
        """The novelty stage to run on kept frames: the ``novelty`` section, or else the guide's
        ``similarity_confidence_threshold`` / ``similarity_timeout_limit`` from a conditionals rule."""
        if self.novelty is not None:
            return self.novelty
        for rule in self.rules:
            if (
                isinstance(rule, ConditionalsConfig)
                and rule.conditionals.similarity_confidence_threshold is not None
            ):
                return NoveltyConfig(
                    threshold=rule.conditionals.similarity_confidence_threshold,
                    timeout_limit=rule.conditionals.similarity_timeout_limit,
                )
        return None

    def notes(self) -> list[str]:
        """Things worth telling the user about a valid configuration."""
        novelty = self.novelty_settings()
        if novelty is None:
            return []
        source = "the novelty section" if self.novelty else "the conditionals' similarity keys"
        return [
            f"novelty ({source}): the collector skips kept frames whose similarity to the last kept frame "
            f"is above {novelty.threshold:g}; it compares images, so prediction-only replays such as "
            "'rules explain' do not apply it"
        ]


# ----------------------------------------------------------------------------- loading
def parse_config(data: Any, source: str = "config") -> SamplingConfig:
    """Validate already-parsed data; raise `ConfigError` naming every bad key."""
    try:
        return SamplingConfig.model_validate(data)
    except ValidationError as exc:
        lines = [_describe(error, data) for error in exc.errors()]
        raise ConfigError(
            f"{source} is not a valid sampling configuration:\n  " + "\n  ".join(lines)
        ) from None


def load_config(path: str | Path) -> SamplingConfig:
    """Read and validate a YAML or JSON sampling configuration file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise ConfigError(f"{where}: invalid YAML: {getattr(exc, 'problem', None) or exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping with a 'rules' list at the top level")
    return parse_config(data, str(path))


def _describe(error: Any, data: Any) -> str:
    """One error as ``key.path: message``, with the rule's name and a did-you-mean for unknown keys."""
    loc = list(error["loc"])
    parts: list[str] = []
    node: Any = data
    i = 0
    while i < len(loc):
        key = loc[i]
        if isinstance(key, int):
            parts[-1] += f"[{key}]"
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
            node = node.get(key) if isinstance(node, dict) else None
        i += 1
    where = ".".join(parts) or "(top level)"
    kind, message = error["type"], error["msg"]
    if kind == "extra_forbidden":
        message = f"unknown key{_did_you_mean(error, data)}"
    elif kind == "union_tag_invalid":
        message = (
            f"unknown rule type {error['input'].get('type')!r}; use one of {', '.join(sorted(RULE_TYPES))}"
        )
        where += ".type"
    elif kind == "union_tag_not_found":
        message = f"missing 'type'; use one of {', '.join(sorted(RULE_TYPES))}"
    elif kind == "missing":
        message = "required key is missing"
    elif message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    if kind not in ("extra_forbidden", "missing", "union_tag_invalid", "union_tag_not_found", "value_error"):
        shown = error.get("input")
        if not isinstance(shown, dict | list):
            message += f" (got {shown!r})"
    return f"{where}: {message}"


def _did_you_mean(error: Any, data: Any) -> str:
    loc = error["loc"]
    bad = str(loc[-1])
    model: type[BaseModel] = SamplingConfig
    sections: dict[str, type[BaseModel]] = {
        "limits": LimitsConfig,
        "novelty": NoveltyConfig,
        "conditionals": Conditionals,
    }
    inner = loc[:-1]
    if loc[0] == "rules" and len(loc) >= 3:
        model, inner = RULE_TYPES.get(str(loc[2]), _RuleConfig), loc[3:-1]
    for key in inner:
        model = sections.get(str(key), model)
    fields = [f.alias or name for name, f in model.model_fields.items()]
    close = difflib.get_close_matches(bad, fields, n=1)
    return f" (did you mean {close[0]!r}?)" if close else f"; allowed: {', '.join(sorted(fields))}"

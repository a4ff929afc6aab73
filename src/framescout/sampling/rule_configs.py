"""One Pydantic model per rule type, and the registry the configuration schema is derived from.

Each model is the schema of one ``type:`` (its keys and their checks) and builds its `Rule`
(``build``). `rule_type` registers a model under its ``type`` literal; `RULE_TYPES` and the
`RuleConfig` union that `SamplingConfig.rules` validates against both come from that one registry, so
a new rule type is one decorated class here (and its `Rule` in `sampling/rules/`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar, Union, get_args

from pydantic import Discriminator, Field, FiniteFloat, Tag, field_validator, model_validator

from framescout.sampling import rules
from framescout.sampling.config_types import (
    BatchConfig,
    Count,
    Duration,
    Fraction,
    Limits,
    ProjectSlug,
    StorageUri,
    StrictModel,
)

RULE_TYPES: dict[str, type[RuleConfigBase]] = {}
"""Every rule type by the name configurations give it (``"confidence"``), in registration order."""

_Model = TypeVar("_Model", bound="RuleConfigBase")


def rule_type(model: type[_Model]) -> type[_Model]:
    """Register ``model`` under the value of its ``type: Literal[...]`` field."""
    (name,) = get_args(model.model_fields["type"].annotation)
    RULE_TYPES[name] = model
    return model


class RuleConfigBase(StrictModel):
    """The keys every rule takes: an optional unique ``name``, ``tags``, per-rule ``limits`` and the
    ``storage`` they are counted in (default: the file's top-level ``storage``), and where its frames
    go: a destination ``project`` of the same workspace and a labelling ``batch``
    (`framescout.sampling.routing`; both default to the collector's own)."""

    type: str
    name: str | None = Field(default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    tags: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(default_factory=list)
    limits: Limits | None = None
    storage: StorageUri | None = None
    project: ProjectSlug | None = None
    batch: BatchConfig | None = None

    def common(self) -> dict[str, Any]:
        """The keyword arguments every `Rule` takes."""
        return {
            "name": self.name,
            "tags": self.tags,
            "limits": self.limits.spec() if self.limits else None,
            "storage": self.storage,
        }

    def build(self, seed: int | None) -> rules.Rule:  # pragma: no cover - every rule type overrides
        """The `Rule` this section describes (``seed`` drives the random ones)."""
        raise NotImplementedError


@rule_type
class RandomConfig(RuleConfigBase):
    type: Literal["random"]
    probability: Fraction

    def build(self, seed: int | None) -> rules.Rule:
        return rules.RandomSample(self.probability, seed=seed, **self.common())


@rule_type
class QuotaConfig(RuleConfigBase):
    """ "N frames every T", spread over the window."""

    type: Literal["quota"]
    count: Annotated[int, Field(ge=1)]
    every: Duration

    def build(self, seed: int | None) -> rules.Rule:
        return rules.TimeQuota(self.count, self.every, seed=seed, **self.common())


@rule_type
class ConfidenceConfig(RuleConfigBase):
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

    def build(self, seed: int | None) -> rules.Rule:
        common = self.common()
        if self.below is not None:
            return rules.ConfidenceBelow(self.below, classes=self.classes, **common)
        if self.between is not None:
            return rules.ConfidenceBetween(
                *self.between, min_count=self.min_count, classes=self.classes, **common
            )
        if self.near is not None and self.epsilon is not None:
            return rules.ConfidenceNear(
                self.near, self.epsilon, min_count=self.min_count, classes=self.classes, **common
            )
        assert self.per_class is not None
        return rules.PerClassBelow(self.per_class, default=self.default, **common)


@rule_type
class ScheduleConfig(RuleConfigBase):
    """Below-threshold sampling whose threshold rises with the model version: written per version
    (``schedule``), or measured per version on the reviewed frames (``from: evaluation``, with a
    ``fallback`` for versions not measured yet, an optional ``floor`` and ``per_class`` thresholds;
    `framescout.sampling.evaluated`)."""

    type: Literal["threshold_schedule"]
    schedule: Annotated[dict[str, Fraction], Field(min_length=1)] | None = None
    default: Fraction | None = None
    classes: list[str] | None = None
    source: Literal["evaluation"] | None = Field(default=None, alias="from")
    fallback: Fraction | None = None
    floor: Fraction | None = None
    per_class: bool | None = None

    @field_validator("schedule", mode="before")
    @classmethod
    def _keys_as_text(cls, value: Any) -> Any:
        return {str(k): v for k, v in value.items()} if isinstance(value, Mapping) else value

    @model_validator(mode="after")
    def _one_source(self) -> ScheduleConfig:
        if self.source is None:
            given = [k for k in ("fallback", "floor", "per_class") if getattr(self, k) is not None]
            if given:
                raise ValueError(f"{', '.join(given)} take effect only with from: evaluation")
            if self.schedule is None:
                raise ValueError("give schedule: {version: threshold}, or from: evaluation with a fallback")
            return self
        if self.schedule is not None or self.default is not None:
            raise ValueError(
                "from: evaluation measures each version's threshold: drop schedule and default "
                "(fallback holds versions not measured yet)"
            )
        if self.fallback is None:
            raise ValueError("from: evaluation needs fallback: the threshold of a version not measured yet")
        if self.floor is not None and self.fallback < self.floor:
            raise ValueError(f"fallback {self.fallback} is below the floor {self.floor}")
        return self

    @property
    def evaluated(self) -> bool:
        """Whether the thresholds come from the server's evaluations (``from: evaluation``)."""
        return self.source == "evaluation"

    def build(self, seed: int | None) -> rules.Rule:
        if self.source == "evaluation":
            assert self.fallback is not None
            return rules.EvaluatedSchedule(
                fallback=self.fallback,
                floor=self.floor,
                per_class=bool(self.per_class),
                classes=self.classes,
                **self.common(),
            )
        assert self.schedule is not None
        return rules.ThresholdSchedule(
            self.schedule, default=self.default, classes=self.classes, **self.common()
        )


@rule_type
class NothingDetectedConfig(RuleConfigBase):
    type: Literal["nothing_detected"]
    classes: list[str] | None = None

    def build(self, seed: int | None) -> rules.Rule:
        return rules.NothingDetected(classes=self.classes, **self.common())


class Conditionals(StrictModel):
    """The guide's ``conditionals`` dict: Roboflow's keys, Roboflow's defaults."""

    required_objects_count: Count = 1
    required_class_count: Count = 0
    target_classes: list[str] = Field(default_factory=list)
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


@rule_type
class ConditionalsConfig(RuleConfigBase):
    type: Literal["conditionals"]
    conditionals: Conditionals = Conditionals()

    def build(self, seed: int | None) -> rules.Rule:
        return rules.RoboflowConditionals(**self.conditionals.model_dump(), **self.common())


@rule_type
class DetectionCountConfig(RuleConfigBase):
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

    def build(self, seed: int | None) -> rules.Rule:
        return rules.DetectionCount(
            more_than=self.more_than,
            less_than=self.less_than,
            classes=self.classes,
            min_confidence=self.min_confidence,
            **self.common(),
        )


@rule_type
class ClassesPresentConfig(RuleConfigBase):
    type: Literal["classes_present"]
    any_of: list[str] = Field(default_factory=list)
    all_of: list[str] = Field(default_factory=list)
    min_confidence: Fraction = 0.0

    @model_validator(mode="after")
    def _some(self) -> ClassesPresentConfig:
        if not self.any_of and not self.all_of:
            raise ValueError("give any_of, all_of or both")
        return self

    def build(self, seed: int | None) -> rules.Rule:
        return rules.ClassesPresent(
            any_of=self.any_of, all_of=self.all_of, min_confidence=self.min_confidence, **self.common()
        )


@rule_type
class EveryNthConfig(RuleConfigBase):
    type: Literal["every_nth"]
    class_name: str = Field(alias="class")
    n: Annotated[int, Field(ge=1)]
    min_confidence: Fraction = 0.0

    def build(self, seed: int | None) -> rules.Rule:
        return rules.EveryNth(self.class_name, self.n, min_confidence=self.min_confidence, **self.common())


@rule_type
class UncertaintyConfig(RuleConfigBase):
    type: Literal["uncertainty"]
    measure: Literal["least_confidence", "margin", "entropy"]
    above: Fraction
    aggregate: Literal["max", "mean"] = "max"
    empty: Fraction = 0.0

    def build(self, seed: int | None) -> rules.Rule:
        return rules.UncertaintyAbove(
            self.measure, self.above, aggregate=self.aggregate, empty=self.empty, **self.common()
        )


_Scale = Annotated[float, Field(gt=0, allow_inf_nan=False)]
"""A finite positive number: a NaN or infinite mean/std made every vector NaN or zero, so the rule
silently kept nothing."""


class OnnxEncoderConfig(StrictModel):
    """An ONNX image encoder for the novelty rules (`framescout.selection.OnnxEmbedder`'s settings).

    The path is the device's: it is checked for its form here and loaded when the rules are built on
    the device (a server holding the rules need not have the file)."""

    onnx: Annotated[str, Field(min_length=1, max_length=4096)]
    size: tuple[Annotated[int, Field(ge=8, le=2048)], Annotated[int, Field(ge=8, le=2048)]] = (224, 224)
    channels: Literal["rgb", "bgr"] = "rgb"
    mean: tuple[FiniteFloat, FiniteFloat, FiniteFloat] = (0.485, 0.456, 0.406)
    std: tuple[_Scale, _Scale, _Scale] = (0.229, 0.224, 0.225)
    output: str | None = None

    @field_validator("onnx")
    @classmethod
    def _onnx_file(cls, value: str) -> str:
        if not value.lower().endswith(".onnx"):
            raise ValueError("must be the path of an .onnx file")
        return value


def _embedder_kind(value: Any) -> str | None:
    """Which form an ``embedder`` value takes: the descriptor's name or an encoder's section."""
    if value == "color-texture":
        return "color-texture"
    return "onnx" if isinstance(value, Mapping | OnnxEncoderConfig) else None


Embedder = Annotated[
    Annotated[Literal["color-texture"], Tag("color-texture")] | Annotated[OnnxEncoderConfig, Tag("onnx")],
    Discriminator(
        _embedder_kind,
        custom_error_type="embedder",
        custom_error_message="use color-texture, or {onnx: path/to/encoder.onnx} for an ONNX image encoder",
    ),
]
"""``color-texture`` (no model, the default) or ``{onnx: path, ...}``."""


class FeatureRuleConfig(RuleConfigBase):
    """The keys both novelty rules take: which features, how rare a frame must be (``percentile``), the
    distance floor a steady camera stays under, the warm-up and the stride (``every``)."""

    embedder: Embedder = "color-texture"
    percentile: Annotated[float, Field(gt=0, lt=0.5)] | None = None
    """Default: the rule's (`EmbeddingOutlier.default_percentile`, `SceneChange.default_percentile`)."""
    min_distance: Annotated[float, Field(ge=0, le=2)] = 0.02
    warmup: Annotated[int, Field(ge=2, le=10_000)] | None = None
    """Default: the rule's ``default_warmup``."""
    every: Annotated[int, Field(ge=1, le=10_000)] = 1

    def features(self) -> dict[str, Any]:
        """The keyword arguments both novelty rules take."""
        embedder = self.embedder if isinstance(self.embedder, str) else self.embedder.model_dump()
        return {
            "embedder": embedder,
            "percentile": self.percentile,
            "min_distance": self.min_distance,
            "warmup": self.warmup,
            "every": self.every,
            **self.common(),
        }


@rule_type
class OutlierConfig(FeatureRuleConfig):
    """Frames far from the recent ones (``window`` frames' mean direction)."""

    type: Literal["outlier"]
    window: Annotated[int, Field(ge=2, le=10_000)] = 64

    @model_validator(mode="after")
    def _warmup_fits(self) -> OutlierConfig:
        warmup = rules.EmbeddingOutlier.default_warmup if self.warmup is None else self.warmup
        if warmup > self.window:
            raise ValueError(f"warmup ({warmup}) cannot exceed window ({self.window})")
        return self

    def build(self, seed: int | None) -> rules.Rule:
        return rules.EmbeddingOutlier(window=self.window, **self.features())


@rule_type
class SceneChangeConfig(FeatureRuleConfig):
    """The frame where the scene changes (against a moving average of the scene)."""

    type: Literal["scene_change"]
    smoothing: Annotated[float, Field(gt=0, le=1)] = 0.1

    def build(self, seed: int | None) -> rules.Rule:
        return rules.SceneChange(smoothing=self.smoothing, **self.features())


# Any registered rule type, picked by its ``type`` key. Type checkers see the common base (a union
# built from the registry is not a static type); pydantic validates against the registered models
# (``Union[tuple]`` spreads them, which ``|`` cannot).
if TYPE_CHECKING:
    RuleConfig = RuleConfigBase
else:
    RuleConfig = Annotated[Union[tuple(RULE_TYPES.values())], Field(discriminator="type")]  # noqa: UP007

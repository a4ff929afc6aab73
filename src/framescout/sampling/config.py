"""Sampling configuration: YAML or JSON, validated with Pydantic, turned into a `Sampler`.

`SamplingConfig` is the whole document (``version``, ``seed``, ``limits``, ``novelty``, ``storage``,
``rules``); each rule's schema is its rule type's model in `rule_configs`, the value types are in
`config_types`. Unknown keys, wrong types and impossible values are rejected with a message naming the
key path (`config_messages`), e.g. ``rules[1] (low-confidence).below: must be at most 1``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import Field, ValidationError, model_validator

from framescout.sampling.clock import Clock, system_clock
from framescout.sampling.config_messages import Problem, diagnose
from framescout.sampling.config_types import Limits, StorageUri, StrictModel
from framescout.sampling.engine import Sampler
from framescout.sampling.rule_configs import ConditionalsConfig, RuleConfig
from framescout.sampling.storage_uri import is_shared

PIXEL_RULES = ("outlier", "scene_change")
"""Rule types that look at the image, not the predictions (`framescout.sampling.rules.novelty`)."""

ConfigFormat = Literal["yaml", "json"]
"""How a rules text is written (JSON is read by the JSON parser, for its line:column messages)."""


class ConfigError(ValueError):
    """A sampling configuration that cannot be used; the message names every offending key.

    ``problems`` holds them one by one (key path, where, message) for callers that show each next to
    its key (the server's 422, the review UI's rules editor); empty for a file that cannot be read."""

    def __init__(self, message: str, problems: tuple[Problem, ...] = ()) -> None:
        super().__init__(message)
        self.problems = problems


class NoveltyConfig(StrictModel):
    """Skip kept frames that look like recently kept ones (the guide's similarity keys).

    ``threshold`` is the highest similarity (1 = identical) a frame may have to the reference and
    still be kept; ``timeout_limit`` forces a refresh after that many look-alikes in a row."""

    threshold: Annotated[float, Field(ge=0, le=1)]
    timeout_limit: Annotated[int, Field(ge=1)] | None = None
    window: Annotated[int, Field(ge=1, le=1000)] = 1
    embedder: Literal["phash", "color-texture"] = "phash"


class SamplingConfig(StrictModel):
    """A whole rule stack: tried in order, first matching rule with credit keeps the frame."""

    version: Literal[1] = 1
    seed: int | None = None
    limits: Limits | None = None
    novelty: NoveltyConfig | None = None
    storage: StorageUri | None = Field(
        default=None, description="where limits are counted: memory:// (default) or redis://host:6379"
    )
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

    def build(
        self, clock: Clock = system_clock, *, namespace: str | None = None, shared: bool = True
    ) -> Sampler:
        """The `Sampler` this configuration describes. ``namespace`` (the ``workspace/project`` it
        collects for) keeps its counters apart from other projects' in a shared storage; ``shared=False``
        counts every limit in this process instead (replays that must not spend the fleet's credit)."""
        rules = [rule.build(self.seed) for rule in self.rules]
        if not shared:
            for rule in rules:
                rule.storage = None
        return Sampler(
            rules,
            limits=self.limits.spec() if self.limits else None,
            seed=self.seed,
            clock=clock,
            storage=self.storage if shared else None,
            namespace=namespace,
        )

    def shared_storages(self) -> list[str]:
        """The shared storages (Redis URIs) this configuration counts limits in, file default first."""
        uris = [self.storage, *(rule.storage for rule in self.rules)]
        return list(dict.fromkeys(u for u in uris if u is not None and is_shared(u)))

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
        notes = []
        pixels = [rule.name or rule.type for rule in self.rules if rule.type in PIXEL_RULES]
        if pixels:
            notes.append(
                f"{', '.join(pixels)}: these rules describe the frame's pixels (the collector gives them "
                "each frame), so prediction-only replays such as 'rules explain' never keep a frame by them"
            )
        novelty = self.novelty_settings()
        if novelty is None:
            return notes
        source = "the novelty section" if self.novelty else "the conditionals' similarity keys"
        return [
            *notes,
            f"novelty ({source}): the collector skips kept frames whose similarity to the last kept frame "
            f"is above {novelty.threshold:g}; it compares images, so prediction-only replays such as "
            "'rules explain' do not apply it",
        ]


# ----------------------------------------------------------------------------- loading
def parse_config(data: Any, source: str = "config") -> SamplingConfig:
    """Validate already-parsed data; raise `ConfigError` naming every bad key."""
    try:
        return SamplingConfig.model_validate(data)
    except ValidationError as exc:
        problems = tuple(diagnose(error, data, SamplingConfig) for error in exc.errors())
        raise ConfigError(
            f"{source} is not a valid sampling configuration:\n  " + "\n  ".join(map(str, problems)),
            problems,
        ) from None


def read_config_text(text: str, fmt: ConfigFormat, source: str = "config") -> Any:
    """Parse a rules text (not yet validated); `ConfigError` with ``source:line:column`` when it is
    not YAML / JSON, or not a mapping at the top level."""
    try:
        data = json.loads(text) if fmt == "json" else yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        raise _text_error(f"{source}:{exc.lineno}:{exc.colno}", f"invalid JSON: {exc.msg}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        raise _text_error(where, f"invalid YAML: {getattr(exc, 'problem', None) or exc}") from None
    except RecursionError:
        raise _text_error(source, "nested too deeply to be a sampling configuration") from None
    if not isinstance(data, dict):
        raise _text_error(source, "expected a mapping with a 'rules' list at the top level")
    return data


def _text_error(where: str, message: str) -> ConfigError:
    """A text that is not a rules document at all: one problem about the whole text (key ``""``)."""
    return ConfigError(f"{where}: {message}", (Problem("", where, message),))


def config_from_text(text: str, fmt: ConfigFormat, source: str = "config") -> SamplingConfig:
    """Parse and validate a rules text: what `load_config` does after reading the file, and what the
    server does with pushed rules, so both refuse the same texts with the same messages."""
    return parse_config(read_config_text(text, fmt, source), source)


def format_of(path: str | Path) -> ConfigFormat:
    """A rules file's format by its suffix: ``.json`` is JSON, anything else YAML."""
    return "json" if Path(path).suffix.lower() == ".json" else "yaml"


def load_config(path: str | Path) -> SamplingConfig:
    """Read and validate a YAML or JSON sampling configuration file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    return config_from_text(text, format_of(path), str(path))

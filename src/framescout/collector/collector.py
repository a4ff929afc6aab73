"""`Collector`: sits beside the inference loop, keeps the frames worth labelling, ships them.

    with Collector(server="http://127.0.0.1:9001", api_key=KEY, project="acme/parking",
                   rules="rules.yaml", spool_dir="spool") as collector:
        for frame in camera:
            predictions = model.predict(frame)
            collector.observe(frame, predictions)

`observe()` decides in microseconds and only hands kept frames (by reference) to a background
encoder; resizing, JPEG encoding and the durable spool write happen off the caller's thread, and a
background uploader ships spooled frames with exponential backoff, pauses on a configuration error
(wrong key or project) and quarantines frames the server refuses. With no ``server``, frames
accumulate in the spool for ``framescout spool push`` later.

With a ``rules_sync`` (`collector/rules_sync.py`) the collector follows the project's server-held
rules: a new version is built off the inference thread (`offer_rules`) and swapped in by `observe()`
before the next frame (`Sampler.swap`: unchanged rules keep their limit state). With a server, the
``from: evaluation`` threshold schedules read the server's evaluation of the running version
(`collector/thresholds_sync.py`: asked at boot, when the version changes and every
``evaluation_interval`` seconds, cached per version for offline boots).
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from framescout import __version__
from framescout.client import Client, RetryPolicy
from framescout.collector.batches import FILE_NAME, BatchCounter
from framescout.collector.counters import Counters
from framescout.collector.encoder import Encoder, Job
from framescout.collector.heartbeat import HEARTBEAT_SECONDS, Heartbeats, heartbeat_body, server_heartbeats
from framescout.collector.record import FrameRecord
from framescout.collector.rules_sync import RulesSync, ServedRules
from framescout.collector.spool import Spool
from framescout.collector.thresholds_sync import ThresholdsSync
from framescout.collector.transport import HttpTransport, Transport
from framescout.collector.uploader import Uploader
from framescout.device_names import check_device_id
from framescout.labels import check_labels
from framescout.predictions import Predictions
from framescout.sampling import (
    Clock,
    Decision,
    Sampler,
    SamplingConfig,
    default_sampler,
    load_config,
    system_clock,
)
from framescout.sampling.config import NoveltyConfig
from framescout.sampling.routing import Route, routes
from framescout.sampling.rules import EvaluatedSchedule
from framescout.selection import ColorTexture, NoveltyFilter, PerceptualHash

log = logging.getLogger("framescout.collector")

RulesSpec = str | Path | SamplingConfig | Sampler | None

LOW_PRIORITY_TYPES = ("random", "quota")
"""Rules whose frames are evicted first when the spool is full: samples, not hard cases."""


def build_sampler(
    rules: RulesSpec, namespace: str | None = None, clock: Clock = system_clock
) -> tuple[Sampler, NoveltyFilter | None]:
    """A `Sampler` (and the novelty stage the rules ask for) from a rules file, a validated config,
    a ready sampler, or the default stack, on ``clock``; ``namespace`` (the project) names its
    shared limits."""
    if isinstance(rules, Sampler):
        return rules, None
    if rules is None:
        return default_sampler(clock=clock), None
    config = rules if isinstance(rules, SamplingConfig) else load_config(rules)
    return config.build(clock, namespace=namespace), novelty_filter(config.novelty_settings())


def novelty_filter(settings: NoveltyConfig | None) -> NoveltyFilter | None:
    """The novelty stage of a configuration's settings (``None``: no such stage)."""
    if settings is None:
        return None
    embedder = ColorTexture() if settings.embedder == "color-texture" else PerceptualHash()
    return NoveltyFilter(
        settings.threshold, timeout_limit=settings.timeout_limit, embedder=embedder, window=settings.window
    )


@dataclass(frozen=True)
class _Offer:
    """A server version built and waiting for the next frame."""

    etag: str
    sampler: Sampler
    config: SamplingConfig


def _is_project_ref(project: str) -> bool:
    parts = project.strip("/").split("/")
    return len(parts) == 2 and all(parts)


class Collector:
    """Sampling + spool + uploader, for one device and one project (and the projects of its workspace
    that rules route frames to: ``routes``, `framescout.sampling.routing`)."""

    def __init__(
        self,
        *,
        server: str | None = None,
        api_key: str | None = None,
        project: str | None = None,
        rules: RulesSpec = None,
        spool_dir: str | Path = "framescout-spool",
        spool_cap_bytes: int = 1 << 30,
        max_side: int | None = 1280,
        jpeg_quality: int = 90,
        device_id: str | None = None,
        model_version: str | None = None,
        backlog: int = 64,
        transport: Transport | None = None,
        novelty: NoveltyFilter | None = None,
        upload_timeout: float = 30.0,
        rules_sync: RulesSync | None = None,
        labels: Mapping[str, str] | None = None,
        heartbeat_interval: float | None = HEARTBEAT_SECONDS,
        batch: str | None = None,
        evaluation_interval: float = 300.0,
    ) -> None:
        if server and not (api_key and project):
            raise ValueError("uploading needs api_key and project ('workspace/project') besides server")
        if server and project and not _is_project_ref(project):
            raise ValueError(f"project must be 'workspace/project'; got {project!r}")
        self.rules_sync = rules_sync
        self.rules_etag: str | None = None
        """The ETag of the server version in force (``None``: local rules or the built-in stack)."""
        if rules_sync is not None:
            if rules is not None:
                raise ValueError("give rules or rules_sync, not both: local rules override the server's")
            served = (rules_sync.booted or rules_sync.boot()).rules  # RulesError when there are none
            rules = served.config if served else None
            self.rules_etag = served.etag if served else None
        if isinstance(rules, str | Path):
            rules = load_config(rules)
        self._novelty_settings = rules.novelty_settings() if isinstance(rules, SamplingConfig) else None
        self._offered: _Offer | None = None
        self._applied: _Offer | None = None
        self._namespace = project.strip("/") if project else None
        self.sampler, configured_novelty = build_sampler(rules, self._namespace)
        self.routes: dict[str, Route] = routes(rules) if isinstance(rules, SamplingConfig) else {}
        """Each routing rule's destination project and batch (`framescout.sampling.routing`)."""
        self.batch = batch
        """The batch of kept frames whose rule names none."""
        self.novelty = novelty or configured_novelty
        self.device_id = check_device_id(device_id or socket.gethostname())
        self.labels = check_labels(labels or {})
        self.model_version = model_version
        self.thresholds = (
            ThresholdsSync(
                Client(server, api_key or "", retry=RetryPolicy(attempts=1)),
                project,
                cache_dir=spool_dir,
                interval=evaluation_interval,
            )
            if server and project
            else None
        )
        """Where ``from: evaluation`` schedules get their thresholds (``None``: no server, they fall back)."""
        self._tracked: str | None = None
        self._evaluated = self._use_book(self.sampler)
        if self._evaluated and self.thresholds is not None:
            self.thresholds.boot(model_version)  # one request before the first frame
            self._track(model_version)
        self.started_at = datetime.now(UTC)
        self.counters = Counters()
        self.spool = Spool(spool_dir, spool_cap_bytes)
        for gone in self.spool.recovered_missing:
            self.counters.drop(gone.rule, "spool_entry_lost_in_crash")
            log.warning("spool entry %s (%s) lost its file in a crash; dropped", gone.id, gone.rule)
        if self.spool.recovered_orphans:
            log.info("removed %d unindexed spool file(s) left by a crash", self.spool.recovered_orphans)
        self.spooled_at_start = len(self.spool)
        """Frames an earlier run left in the spool (this run delivers them too; summaries say so)."""
        self._priority = {
            rule.name: (0 if rule.kind in LOW_PRIORITY_TYPES else 1) for rule in self.sampler.rules
        }
        if transport is None and server:
            transport = HttpTransport(server, api_key or "", project or "", timeout=upload_timeout)
        self.uploader = Uploader(self.spool, transport, self.counters) if transport else None
        self.encoder = Encoder(
            self.spool,
            self.counters,
            max_side=max_side,
            quality=jpeg_quality,
            backlog=backlog,
            on_spooled=self.uploader.wake if self.uploader else None,
            novelty=self.novelty,
            batches=BatchCounter(Path(spool_dir) / FILE_NAME),
        )
        self.encoder.start()
        if self.uploader:
            self.uploader.start()
        self._closed = False
        self._final_spool: dict[str, int] = {}
        self.heartbeats: Heartbeats | None = None
        if server and heartbeat_interval:
            assert api_key and project
            self.heartbeats = server_heartbeats(
                server, api_key, project, self.device_id, self.heartbeat, interval=heartbeat_interval
            )
            self.heartbeats.start()
        if rules_sync is not None:
            rules_sync.start(self.offer_rules)

    def offer_rules(self, rules: ServedRules) -> None:
        """Take a new server version (called on the rules thread): build it here, off the inference
        thread, and let `observe()` swap it in before the next frame. `ValueError` if it cannot be built."""
        sampler, _ = build_sampler(rules.config, self._namespace, self.sampler.clock)
        self._use_book(sampler)
        self._offered = _Offer(rules.etag, sampler, rules.config)

    def _apply_offer(self, offer: _Offer) -> None:
        """Between two frames: swap the offered rules in (unchanged rules keep their limit state)."""
        self._applied = offer
        swap = self.sampler.swap(offer.sampler)
        for rule in self.sampler.rules:
            self._priority[rule.name] = 0 if rule.kind in LOW_PRIORITY_TYPES else 1
        self.routes = routes(offer.config)
        novelty = offer.config.novelty_settings()
        if novelty != self._novelty_settings:
            self._novelty_settings = novelty
            self.novelty = self.encoder.novelty = novelty_filter(novelty)
        self.rules_etag = offer.etag
        self._evaluated = any(isinstance(rule, EvaluatedSchedule) for rule in self.sampler.rules)
        log.info(
            "rules %s in force: kept %s, changed %s, added %s, removed %s",
            offer.etag[:12],
            list(swap.kept),
            list(swap.changed),
            list(swap.added),
            list(swap.removed),
        )

    def observe(
        self,
        image: Any,
        predictions: Predictions,
        *,
        model_version: str | None = None,
        name: str | None = None,
        copy: bool = False,
        timestamp: float | None = None,
    ) -> Decision:
        """Decide for one frame; a kept frame is handed to the background encoder by reference: do not
        modify ``image`` afterwards, or pass ``copy=True`` (copies kept frames only).

        ``timestamp`` (Unix seconds) is when the frame was observed, for frames that carry their own
        time (a recorded video: `SourceFrame.timestamp`); quotas and in-process limits then count that
        time, and a kept frame's ``observed_at`` is it. By default, the sampler's clock (wall time)."""
        offer = self._offered
        if offer is not self._applied and offer is not None:
            self._apply_offer(offer)
        version = model_version or self.model_version
        if self._evaluated and version != self._tracked:
            self._track(version)
        decision = self.sampler.decide(predictions, model_version=version, timestamp=timestamp, image=image)
        self.counters.observed(decision.rule, decision.limited, nothing_detected=len(predictions) == 0)
        if decision.keep and decision.rule is not None:
            route = self.routes.get(decision.rule, Route())
            frame = FrameRecord(
                sampling_rule=decision.rule,
                sampling_reason=decision.reason,
                tags=tuple(decision.tags),
                model_version=version,
                device_id=self.device_id,
                batch=self.batch if route.batch is None else None,
                project=route.project,
                name=name,
                metadata={"observed_at": decision.timestamp, "rule_kind": decision.rule_kind},
            )
            if copy and hasattr(image, "copy"):
                image = image.copy()
            priority = self._priority.get(decision.rule, 1)
            self.encoder.submit(Job(image, predictions, priority, frame, route.batch))
        return decision

    def _use_book(self, sampler: Sampler) -> bool:
        """Point ``sampler``'s ``from: evaluation`` schedules at this collector's evaluations; whether
        it has any."""
        evaluated = [rule for rule in sampler.rules if isinstance(rule, EvaluatedSchedule)]
        if self.thresholds is not None:
            for rule in evaluated:
                rule.use_book(self.thresholds.book)
        return bool(evaluated)

    def _track(self, version: str | None) -> None:
        """The running version changed (or a schedule needs it for the first time): ask for its
        evaluation in the background."""
        self._tracked = version
        if self.thresholds is not None:
            self.thresholds.track(version)
            self.thresholds.start()

    def thresholds_in_force(self) -> dict[str, dict[str, Any]]:
        """Per ``from: evaluation`` schedule, the thresholds the running version is held to and
        their source (`framescout.sampling.evaluated.InForce.to_json`)."""
        return {
            rule.name: rule.in_force(self.model_version).to_json()
            for rule in self.sampler.rules
            if isinstance(rule, EvaluatedSchedule)
        }

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until kept frames are spooled and, when uploading, delivered; ``False`` on timeout."""
        self.encoder.join()
        if not self.uploader:
            return True
        self.uploader.wake()
        deadline = time.monotonic() + timeout
        while len(self.spool) and time.monotonic() < deadline:
            time.sleep(0.05)
        return len(self.spool) == 0

    def status(self) -> dict[str, Any]:
        """Counters per rule plus the spool (queued and quarantined), the uploader state (``state``,
        ``last_error``, ``paused_reason`` while paused, ``errors``, ``pauses``), ``model_version``, the
        version of the model running now (set by ``collect --model server`` when it switches), and
        each shared limits storage (``shared_limits``: ``state`` shared/local, ``outages``,
        ``local_decisions``)."""
        snapshot = self.counters.snapshot()
        snapshot["spool"] = self._final_spool or self.spool.stats()  # the spool is closed once that is set
        snapshot["encoder_backlog"] = self.encoder.pending()
        snapshot["uploader"] = self.uploader.status() if self.uploader else None
        snapshot["model_version"] = self.model_version
        snapshot["shared_limits"] = self.sampler.shared_limits()
        snapshot["rules_etag"] = self.rules_etag
        snapshot["rules_sync"] = self.rules_sync.status() if self.rules_sync else None
        snapshot["thresholds"] = self.thresholds_in_force()
        snapshot["thresholds_sync"] = self.thresholds.status() if self.thresholds else None
        snapshot["heartbeat"] = self.heartbeats.status() if self.heartbeats else None
        return snapshot

    def heartbeat(self, final: bool = False) -> dict[str, Any]:
        """The heartbeat this collector sends the server now (`heartbeat.heartbeat_body`)."""
        return heartbeat_body(
            self.status(),
            labels=self.labels,
            model_version=self.model_version,
            software_version=__version__,
            started_at=self.started_at,
            final=final,
        )

    def close(self, timeout: float = 10.0) -> None:
        """Spool everything already kept, try to deliver it for ``timeout`` seconds, then stop.
        Whatever is not delivered stays in the spool for the next run."""
        if self._closed:
            return
        self._closed = True
        if self.rules_sync is not None:
            self.rules_sync.stop()
        if self.thresholds is not None:
            self.thresholds.stop()
        self.encoder.join()
        self.encoder.stop()
        if self.uploader:
            self.flush(timeout)
            self.uploader.stop()
            self.uploader.transport.close()
        if self.heartbeats:
            self.heartbeats.halt()  # heartbeats went on during the drain; the final one follows
        self._final_spool = self.spool.stats()
        self.spool.close()
        if self.heartbeats:
            self.heartbeats.stop(final=True)

    def __enter__(self) -> Collector:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

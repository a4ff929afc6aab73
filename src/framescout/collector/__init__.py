"""The edge collector: keep the frames worth labelling without slowing inference, and never lose one."""

from framescout.collector.collector import Collector, build_sampler
from framescout.collector.counters import Counters
from framescout.collector.rules_sync import (
    Boot,
    RulesError,
    RulesRefused,
    RulesSync,
    RulesUnavailable,
    ServedRules,
)
from framescout.collector.sources import Source, SourceFrame
from framescout.collector.spool import Entry, Quarantined, Spool, SpoolFull
from framescout.collector.transport import (
    ConfigurationError,
    FolderTransport,
    FrameRejected,
    HttpTransport,
    Outcome,
    PermanentError,
    ServerAnswer,
    TransientError,
    Transport,
    check_access,
    classify,
)
from framescout.collector.uploader import Uploader

__all__ = [
    "Boot",
    "Collector",
    "ConfigurationError",
    "Counters",
    "Entry",
    "FolderTransport",
    "FrameRejected",
    "HttpTransport",
    "Outcome",
    "PermanentError",
    "Quarantined",
    "RulesError",
    "RulesRefused",
    "RulesSync",
    "RulesUnavailable",
    "ServedRules",
    "ServerAnswer",
    "Source",
    "SourceFrame",
    "Spool",
    "SpoolFull",
    "TransientError",
    "Transport",
    "Uploader",
    "build_sampler",
    "check_access",
    "classify",
]

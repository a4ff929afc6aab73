"""The edge collector: keep the frames worth labelling without slowing inference, and never lose one."""

from framescout.collector.collector import Collector, build_sampler
from framescout.collector.counters import Counters
from framescout.collector.sources import Source, SourceFrame
from framescout.collector.spool import Entry, Spool, SpoolFull
from framescout.collector.transport import (
    FolderTransport,
    HttpTransport,
    PermanentError,
    TransientError,
    Transport,
)
from framescout.collector.uploader import Uploader

__all__ = [
    "Collector",
    "Counters",
    "Entry",
    "FolderTransport",
    "HttpTransport",
    "PermanentError",
    "Source",
    "SourceFrame",
    "Spool",
    "SpoolFull",
    "TransientError",
    "Transport",
    "Uploader",
    "build_sampler",
]

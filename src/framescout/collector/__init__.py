"""The edge collector: keep the frames worth labelling without slowing inference, and never lose one."""

from framescout.collector.collector import Collector, build_sampler
from framescout.collector.counters import Counters
from framescout.collector.spool import Entry, Spool, SpoolFull
from framescout.collector.transport import HttpTransport, PermanentError, TransientError, Transport
from framescout.collector.uploader import Uploader

__all__ = [
    "Collector",
    "Counters",
    "Entry",
    "HttpTransport",
    "PermanentError",
    "Spool",
    "SpoolFull",
    "TransientError",
    "Transport",
    "Uploader",
    "build_sampler",
]

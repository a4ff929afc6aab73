"""Scoring a selection pool on a Ray cluster (``framescout select --ray auto|ADDRESS``).

The scoring of each image (decode, the detector on every view, the embedding, the uncertainty) is the
same `ScoringConfig.build().score_many` that the local scan runs, here inside Ray Data actors: one
`Scorer` per actor, built once, fed batches of image *locations* (file paths or ``s3://`` URLs, see
`image_sources`) that each actor reads itself, so image bytes never pass through the driver. The model,
class-names and encoder files are shipped to the actors through the object store, so the nodes need
framescout installed but not the files. The driver gathers the results in pool order, writing the
embeddings straight into a memory-mapped file, and the selection (dedup, uncertainty, k-center) runs
there, on the same `scan_scored` pool as the local run: the picks are the local run's for the same seed.

Ray (with Ray Data) is the ``ray`` extra, imported only here, on first use.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import pickle
import shutil
import socket
import tempfile
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from framescout.selection.folder import PoolItem, ScannedPool, scan_scored
from framescout.selection.image_sources import read_image
from framescout.selection.scoring import ScoredImage, ScoringConfig

RAY_EXTRA_HINT = "--ray needs Ray Data: pip install 'framescout[ray]'"
BATCH_SIZE = 16  # images per actor call: large enough to amortise a call, small enough to balance
MAX_BLOCK_ROWS = 1024  # rows of one Ray Data block: the unit Ray hands to an actor
READ_THREADS = 8  # concurrent reads per actor: S3 GETs wait on the network, not the CPU
# The driver's S3 settings reach the workers (a worker node has none of its own, as a rule).
FORWARDED_VARIABLES = (
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
)
_FILE_FIELDS = ("model", "classes", "embedder")  # the ScoringConfig fields that name a file


class RayUnavailable(Exception):
    """Ray is not installed, or the cluster cannot be reached; one line naming ``--ray``."""


def import_ray() -> Any:
    """The ``ray`` module with Ray Data, or `RayUnavailable` naming the extra."""
    try:
        import ray
        import ray.data
    except ImportError:
        raise RayUnavailable(RAY_EXTRA_HINT) from None
    return ray


@contextlib.contextmanager
def ray_cluster(address: str) -> Iterator[Any]:
    """Connect this process to a Ray cluster for the duration of the block.

    ``"auto"``: the cluster this machine is part of (``RAY_ADDRESS``, or the one ``ray start`` began
    here), else a Ray started on this machine for this run; anything else is a cluster address
    (``HOST:PORT`` of the head's GCS, or ``ray://HOST:10001``). Already connected: used as it is."""
    ray = import_ray()
    if ray.is_initialized():
        _quiet(ray)
        yield ray
        return
    if address != "auto":
        _check_reachable(address)
    elif not _existing_cluster():
        _bind_to_loopback()
    env = {name: os.environ[name] for name in FORWARDED_VARIABLES if os.environ.get(name)}
    try:
        ray.init(
            address=None if address == "auto" else address,
            runtime_env={"env_vars": env} if env else None,
            logging_level="WARNING",
            log_to_driver=False,
        )
    except (ConnectionError, RuntimeError, ValueError, TimeoutError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise RayUnavailable(f"--ray {address}: cannot connect to a Ray cluster: {first}") from None
    try:
        _quiet(ray)
        yield ray
    finally:
        ray.shutdown()


# Ray on Linux binds a node it starts to the machine's routable address; with this variable at 0 it
# binds to the loopback one, as Ray does on a laptop running macOS.
_LOOPBACK_VARIABLE = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"


def _existing_cluster() -> bool:
    """Whether ``ray.init()`` would join a cluster (``RAY_ADDRESS``, or one ``ray start`` began here)
    rather than start one; asked the way ``ray.init`` asks. Unknown (Ray's internals moved): True,
    which leaves Ray's own behaviour alone."""
    try:
        from ray._private import services

        # None is what ray.init(address=None) passes (its annotation says str)
        return services.canonicalize_bootstrap_address(None) is not None  # type: ignore[arg-type]
    except Exception:  # a private API: any change in it must not stop a run
        return True


def _bind_to_loopback() -> None:
    """A Ray started for this run only serves this machine: bind it to 127.0.0.1, not to the routable
    address, so no other host can reach its ports (Ray's cluster ports run any code sent to them,
    without authentication). Set for this process and for the processes Ray starts."""
    os.environ.setdefault(_LOOPBACK_VARIABLE, "0")
    with contextlib.suppress(Exception):  # a private constant, read at import: this process's copy
        from ray._private import ray_constants

        ray_constants.ENABLE_RAY_CLUSTER = os.environ[_LOOPBACK_VARIABLE].lower() in ("true", "1")


def _quiet(ray: Any) -> None:
    """No progress bars (the CLI draws its own) and no INFO lines per dataset from Ray Data."""
    ray.data.DataContext.get_current().enable_progress_bars = False
    logging.getLogger("ray.data").setLevel(logging.ERROR)


def _check_reachable(address: str, timeout: float = 5.0) -> None:
    """Fail fast when nothing listens at a ``HOST:PORT`` address: Ray itself retries for minutes."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise RayUnavailable(f"--ray {address!r} is not auto, HOST:PORT or ray://HOST:PORT")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as exc:
        raise RayUnavailable(
            f"--ray {address}: nothing answers there ({exc.strerror or exc}); start the cluster's head "
            "with `ray start --head`, or give its address (HOST:PORT)"
        ) from None


def scan_on_ray(
    items: Sequence[PoolItem],
    config: ScoringConfig,
    *,
    near_duplicate_bits: int = 4,
    workers: int | None = None,
    batch_size: int = BATCH_SIZE,
    progress: Callable[[int], None] | None = None,
) -> ScannedPool:
    """`folder.scan`'s pool, scored on the connected Ray cluster; items are named by location."""
    scored = score_on_ray(
        [item.name for item in items], config, workers=workers, batch_size=batch_size, progress=progress
    )
    return scan_scored(items, scored, near_duplicate_bits)


def score_on_ray(
    locations: Sequence[str],
    config: ScoringConfig,
    *,
    workers: int | None = None,
    batch_size: int = BATCH_SIZE,
    progress: Callable[[int], None] | None = None,
) -> list[ScoredImage | str]:
    """`Scorer.score_many` over every location, on ``workers`` Ray actors (default: one per CPU of the
    cluster), in the order given; a ``str`` is why that image was skipped. Needs a connected Ray
    (`ray_cluster`). Embeddings are views into one memory-mapped file, not arrays in memory."""
    ray = import_ray()
    import pyarrow as pa

    if not ray.is_initialized():
        raise RayUnavailable("score_on_ray needs a connected Ray: use ray_cluster(address) or ray.init()")
    if not locations:
        return []
    size = workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
    rows = block_rows(len(locations), size, batch_size)
    blocks = [
        pa.table(
            {
                "index": np.arange(start, min(start + rows, len(locations)), dtype=np.int64),
                "location": list(locations[start : start + rows]),
            }
        )
        for start in range(0, len(locations), rows)
    ]
    scores = ray.data.from_arrow(blocks).map_batches(
        _ScoreBatch,
        fn_constructor_kwargs={"config": config, "files": _ship_files(ray, config)},
        batch_size=batch_size,
        batch_format="numpy",
        compute=ray.data.ActorPoolStrategy(size=size),
        num_cpus=1,
    )
    results: list[ScoredImage | str | None] = [None] * len(locations)
    embeddings = _GatheredEmbeddings(len(locations))
    done = 0
    for batch in scores.iter_batches(batch_size=None, batch_format="numpy"):
        for index, blob in zip(batch["index"], batch["result"], strict=True):
            result: ScoredImage | str = pickle.loads(blob)  # from this run's own actors
            if isinstance(result, ScoredImage) and result.embedding is not None:
                result = dataclasses.replace(result, embedding=embeddings.put(int(index), result.embedding))
            results[int(index)] = result
        done += len(batch["index"])
        if progress:
            progress(done)
    missing = [i for i, r in enumerate(results) if r is None]
    if missing:
        raise RuntimeError(
            f"Ray returned no result for {len(missing)} image(s), e.g. {locations[missing[0]]}"
        )
    return [r for r in results if r is not None]


def block_rows(count: int, workers: int, batch_size: int) -> int:
    """Rows per Ray Data block: about 8 blocks per worker (Ray balances whole blocks), whole batches,
    at most `MAX_BLOCK_ROWS` (a million images are ~1,000 blocks, not 60,000 of one batch each)."""
    wanted = -(-count // (8 * workers))
    batches = max(1, min(MAX_BLOCK_ROWS // batch_size, -(-wanted // batch_size)))
    return batches * batch_size


def _ship_files(ray: Any, config: ScoringConfig) -> dict[str, tuple[str, Any]]:
    """The files the config names, put in the object store once: ``field -> (file name, ref)``."""
    files: dict[str, tuple[str, Any]] = {}
    for field in _FILE_FIELDS:
        path = getattr(config, field)
        if path is not None and Path(path).is_file():
            files[field] = (Path(path).name, ray.put(Path(path).read_bytes()))
    return files


class _ScoreBatch:
    """One Ray actor: builds the `Scorer` once (from the shipped files), then scores batches."""

    def __init__(self, config: ScoringConfig, files: dict[str, tuple[str, Any]]) -> None:
        import ray

        folder = Path(tempfile.mkdtemp(prefix="framescout-ray-"))
        try:
            paths = {}
            for field, (name, ref) in files.items():
                (folder / field).mkdir()
                (folder / field / name).write_bytes(ray.get(ref))
                paths[field] = str(folder / field / name)
            here = dataclasses.replace(
                config,
                model=paths.get("model", config.model),
                classes=paths.get("classes", config.classes),
                embedder=paths.get("embedder", config.embedder),
            )
            self.scorer = here.build()  # loads the files into memory: the copies can go
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        self.reader = ThreadPoolExecutor(READ_THREADS, thread_name_prefix="framescout-read")

    def __call__(self, batch: dict[str, NDArray[Any]]) -> dict[str, NDArray[Any]]:
        read = list(self.reader.map(_read, (str(loc) for loc in batch["location"])))
        readable = [data for data in read if isinstance(data, bytes)]
        scored = iter(self.scorer.score_many(readable))
        results = [next(scored) if isinstance(data, bytes) else data for data in read]
        blobs = np.empty(len(results), dtype=object)
        blobs[:] = [pickle.dumps(r, protocol=pickle.HIGHEST_PROTOCOL) for r in results]
        return {"index": np.asarray(batch["index"], dtype=np.int64), "result": blobs}


def _read(location: str) -> bytes | str:
    """The bytes at ``location``, or why they cannot be read (the local scan's wording)."""
    try:
        return read_image(location)
    except OSError as exc:
        return f"unreadable: {exc.strerror or exc}"


class _GatheredEmbeddings:
    """The pool's embeddings in one memory-mapped temporary file, row ``i`` for image ``i``, written as
    results arrive in any order. The file is unlinked at once: it vanishes with the mapping."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._rows: np.memmap[Any, np.dtype[np.float32]] | None = None

    def put(self, index: int, vector: NDArray[Any]) -> NDArray[np.float32]:
        if self._rows is None:
            fd, path = tempfile.mkstemp(prefix="framescout-ray-embeddings-", suffix=".f32")
            os.close(fd)
            try:
                shape = (self.capacity, len(vector))
                self._rows = np.memmap(path, dtype=np.float32, mode="w+", shape=shape)
            finally:
                os.unlink(path)
        self._rows[index] = vector
        row: NDArray[np.float32] = self._rows[index]
        return row

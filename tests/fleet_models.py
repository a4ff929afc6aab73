"""A server with NanoDet-m registered as several versions, for the model-rollout tests.

Versions need files that differ byte for byte but are the same working detector: each variant is
NanoDet-m loaded with the ``onnx`` package (a dev dependency) and saved again with one more metadata
property (``framescout_variant``), so its SHA-256 differs while its graph, weights and outputs do not."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from framescout.server.process import ServerProcess


def variant(source: Path, target: Path, name: str) -> Path:
    """``source`` re-saved with the metadata property ``framescout_variant=name`` (new bytes)."""
    import onnx

    model = onnx.load(str(source))
    entry = model.metadata_props.add()
    entry.key, entry.value = "framescout_variant", name
    onnx.save(model, str(target))
    return target


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass
class Fleet:
    """A running server, its key, project ``acme/cams`` and the model files registered per version."""

    server: ServerProcess
    key: str
    files: dict[int, Path] = field(default_factory=dict)
    project: str = "acme/cams"

    def register(self, version: int, path: Path) -> str:
        names = path.parent / "coco.names"
        self.server.cli(
            "models", "add", self.project, str(version), "--onnx", str(path), "--classes", str(names)
        )
        self.files[version] = path
        return sha256_of(path)

    def deploy(self, version: int, *labels: str) -> str:
        extra = [item for label in labels for item in ("--labels", label)]
        return self.server.cli("models", "deploy", self.project, str(version), *extra)

    def deploy_at_once(self, version: int) -> None:
        """`deploy` through the store in this process (no CLI start-up: for a deployment mid-run)."""
        from framescout.store import Store
        from framescout.store.accounts import get_project, get_workspace
        from framescout.store.deployments import deploy

        store = Store.open(self.server.data_dir)
        try:
            with store.db.writing() as session:
                workspace, slug = self.project.split("/")
                deploy(
                    session,
                    get_project(session, get_workspace(session, workspace), slug),
                    version,
                    {},
                    "test",
                )
        finally:
            store.close()

    def stored(self, version: int) -> Path:
        """The server's own copy of a version's file (its ``models/`` folder)."""
        return self.server.data_dir / "models" / f"{sha256_of(self.files[version])}.onnx"

    def corrupt(self, version: int) -> None:
        """Flip bytes in the middle of the server's copy (same size): what it serves no longer
        matches the registered SHA-256."""
        stored = self.stored(version)
        data = bytearray(stored.read_bytes())
        middle = len(data) // 2
        data[middle : middle + 64] = bytes(b ^ 0xFF for b in data[middle : middle + 64])
        stored.write_bytes(bytes(data))


def start_fleet(root: Path, nanodet: Path, versions: int = 2) -> Fleet:
    """A server over ``root`` with versions 1..``versions`` registered (1: NanoDet-m itself; the others
    re-saved variants, next to a copy of ``coco.names``)."""
    models = root / "models-src"
    models.mkdir(parents=True)
    (models / "coco.names").write_bytes((nanodet.parent / "coco.names").read_bytes())
    first = models / "v1.onnx"
    first.write_bytes(nanodet.read_bytes())
    server = ServerProcess(root / "server")
    fleet = Fleet(server, server.create_key("acme"))
    server.cli("projects", "create", fleet.project)
    fleet.register(1, first)
    for version in range(2, versions + 1):
        fleet.register(version, variant(first, models / f"v{version}.onnx", f"version {version}"))
    server.start()
    return fleet

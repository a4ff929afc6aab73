"""``framescout keys list`` and ``keys revoke``: ids, prefixes, names, workspaces, created and revoked
times — never a key — and a revoked key no longer authenticates; every command names its data dir."""

from __future__ import annotations

import json
import re
from pathlib import Path

from framescout.store import Store
from framescout.store.accounts import workspace_for_key
from helpers import framescout


def _create(data: Path, workspace: str, name: str) -> str:
    done = framescout("keys", "create", "--workspace", workspace, "--name", name, "--data-dir", str(data))
    assert done.returncode == 0, done.stderr
    assert f"data directory: {data.resolve()}" in done.stderr
    return done.stdout.strip().splitlines()[-1]


def _ids(listing: str) -> list[str]:
    return re.findall(r"\b[0-9a-f]{16}\b", listing)


def _listed(data: Path, *args: str) -> list[dict[str, str | None]]:
    done = framescout("keys", "list", "--json", *args, "--data-dir", str(data))
    assert done.returncode == 0, done.stderr
    rows: list[dict[str, str | None]] = json.loads(done.stdout)
    return rows


def test_list_and_revoke(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = _create(data, "acme", "gate camera")
    second = _create(data, "acme", "laptop")
    foreign = _create(data, "other", "theirs")

    listed = framescout("keys", "list", "--data-dir", str(data))
    assert listed.returncode == 0, listed.stderr
    assert f"data directory: {data.resolve()}" in listed.stderr
    for key in (first, second, foreign):
        assert key not in listed.stdout  # never the key itself
        assert key[:9] in listed.stdout  # but its prefix
    assert "3 keys, 3 active, 0 revoked" in listed.stdout
    rows = _listed(data)
    assert sorted(_ids(listed.stdout)) == sorted(str(r["id"]) for r in rows)  # ids are never cut short
    assert [(r["name"], r["workspace"], r["revoked_at"]) for r in rows] == [
        ("gate camera", "acme", None),
        ("laptop", "acme", None),
        ("theirs", "other", None),
    ]
    assert first.startswith(str(rows[0]["prefix"])) and foreign.startswith(str(rows[2]["prefix"]))
    assert first not in json.dumps(rows) and second not in json.dumps(rows)

    only_acme = _listed(data, "--workspace", "acme")
    assert [r["name"] for r in only_acme] == ["gate camera", "laptop"]
    first_id = str(only_acme[0]["id"])

    revoked = framescout("keys", "revoke", first_id, "--data-dir", str(data))
    assert revoked.returncode == 0, revoked.stderr
    assert f"revoked key {first_id}" in revoked.stdout and "workspace acme" in revoked.stdout
    assert f"data directory: {data.resolve()}" in revoked.stderr
    after = framescout("keys", "list", "--data-dir", str(data))
    assert "3 keys, 2 active, 1 revoked" in after.stdout
    assert [r["id"] for r in _listed(data) if r["revoked_at"]] == [first_id]
    assert framescout("keys", "revoke", first_id, "--data-dir", str(data)).returncode == 0  # idempotent

    store = Store.open(data)
    with store.db.reading() as session:
        assert workspace_for_key(session, first) is None
        assert workspace_for_key(session, second) is not None
    store.close()


def test_clean_errors(tmp_path: Path) -> None:
    data = tmp_path / "data"
    _create(data, "acme", "")
    unknown = framescout("keys", "revoke", "0123456789abcdef", "--data-dir", str(data))
    assert unknown.returncode == 1 and "no API key with id '0123456789abcdef'" in unknown.stderr
    assert "Traceback" not in unknown.stderr
    no_ws = framescout("keys", "list", "--workspace", "nope", "--data-dir", str(data))
    assert no_ws.returncode == 1 and "no workspace 'nope'" in no_ws.stderr
    missing = framescout("keys", "list", "--data-dir", str(tmp_path / "typo"))
    assert missing.returncode == 1 and "no framescout data directory" in missing.stderr
    assert not (tmp_path / "typo").exists()  # a typo does not create an empty store

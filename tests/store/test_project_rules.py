"""Server-held rules in the store: versions kept with who and when, the same text twice adds nothing,
bad rules refused naming the key, ``If-Match`` guarding concurrent editors, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from backends import Backend
from framescout.sampling.config import config_from_text
from framescout.store import Store
from framescout.store.accounts import create_project, get_or_create_workspace
from framescout.store.errors import Invalid, NotFound, Outdated, TooLarge
from framescout.store.models import Project
from framescout.store.project_rules import (
    MAX_RULES_BYTES,
    canonical_text,
    etag_of,
    get_current,
    get_version,
    history,
    put,
    require_current,
)

pytestmark = pytest.mark.both_backends

RULES_A = """\
seed: 7
rules:
  - {name: low, type: confidence, below: 0.4, limits: {per_minute: 10}}
"""
RULES_B = RULES_A.replace("0.4", "0.3")


@pytest.fixture
def store(tmp_path: Path, backend: Backend) -> Iterator[Store]:
    store = backend.open(tmp_path / "data")
    with store.db.writing() as session:
        workspace = get_or_create_workspace(session, "acme")
        create_project(session, workspace, "cams")
        create_project(session, workspace, "other")
    yield store
    store.close()


def _project(store: Store, slug: str = "cams") -> Project:
    from framescout.store.accounts import get_project, get_workspace

    with store.db.reading() as session:
        return get_project(session, get_workspace(session, "acme"), slug)


def test_versions_are_kept_newest_first_and_the_same_text_adds_nothing(store: Store) -> None:
    project = _project(store)
    with store.db.reading() as session:
        assert get_current(session, project) is None
        with pytest.raises(NotFound) as missing:
            require_current(session, project)
    assert missing.value.code == "rules_not_found" and "rules push acme/cams" in missing.value.message
    with store.db.writing() as session:
        first = put(session, project, RULES_A, "yaml", "ci (fs_abc)")
    assert first.created and first.current.version == 1
    assert first.current.etag == etag_of(RULES_A) and len(first.current.etag) == 64
    with store.db.writing() as session:  # the same text, with Windows line endings: the same version
        again = put(session, project, RULES_A.replace("\n", "\r\n"), "yaml", "someone else")
    assert not again.created and again.current == first.current
    with store.db.writing() as session:
        second = put(session, project, RULES_B, "yaml", "alice")
    assert second.created and second.current.version == 2
    with store.db.reading() as session:
        versions = history(session, project)
        current = require_current(session, project)
        old = get_version(session, project, f'"{first.current.etag}"')
        assert history(session, _project(store, "other")) == []
    assert [v.version for v in versions] == [2, 1]
    assert [v.pushed_by for v in versions] == ["alice", "ci (fs_abc)"]
    assert versions[0].created_at >= versions[1].created_at
    assert current == second.current and current.text == RULES_B
    assert old.text == RULES_A and old.size_bytes == len(RULES_A.encode())
    with store.db.reading() as session, pytest.raises(NotFound) as unknown:
        get_version(session, project, "0" * 64)
    assert unknown.value.code == "rules_version_not_found"


def test_json_rules_are_kept_as_json_and_validated_alike(store: Store) -> None:
    project = _project(store)
    text = '{"rules": [{"type": "random", "probability": 0.1}]}'
    with store.db.writing() as session:
        result = put(session, project, text, "json", "ci")
    assert result.current.format == "json" and result.current.text == canonical_text(text)
    with store.db.writing() as session, pytest.raises(Invalid) as bad:
        put(session, project, '{"rules": [{"type": "random", "probability": 2}]}', "json", "ci")
    assert bad.value.problems[0]["key"] == "rules[0].probability"


@pytest.mark.parametrize(
    ("text", "key", "words"),
    [
        (RULES_A.replace("below: 0.4", "bellow: 0.4"), "rules[0].bellow", "did you mean 'below'?"),
        (RULES_A.replace("per_minute: 10", "per_minute: -1"), "rules[0].limits.per_minute", "greater than 0"),
        (RULES_A.replace("confidence", "bogus"), "rules[0].type", "unknown rule type 'bogus'"),
        (RULES_A + "  - {name: low, type: random, probability: 0.1}\n", "rules[1]", "used twice"),
        ("rules: [\n", "", "invalid YAML"),
        ("- just\n- a list\n", "", "expected a mapping"),
    ],
)
def test_bad_rules_are_refused_naming_the_key_and_keep_the_current_version(
    store: Store, text: str, key: str, words: str
) -> None:
    project = _project(store)
    with store.db.writing() as session:
        put(session, project, RULES_A, "yaml", "ci")
    with store.db.writing() as session, pytest.raises(Invalid) as bad:
        put(session, project, text, "yaml", "ci")
    assert bad.value.code == "invalid_rules"
    assert [p["key"] for p in bad.value.problems] == [key], bad.value.problems
    assert words in bad.value.problems[0]["message"] and words in bad.value.message
    with pytest.raises(Exception) as local:  # what `framescout rules check` says of the same text
        config_from_text(text, "yaml", "rules.yaml")
    assert str(local.value) == bad.value.message
    with store.db.reading() as session:
        assert require_current(session, project).text == RULES_A


def test_too_large_rules_are_refused(store: Store) -> None:
    text = RULES_A + "#" * MAX_RULES_BYTES
    with store.db.writing() as session, pytest.raises(TooLarge) as big:
        put(session, _project(store), text, "yaml", "ci")
    assert big.value.code == "rules_too_large"


def test_if_match_refuses_a_push_over_a_version_the_pusher_did_not_see(store: Store) -> None:
    project = _project(store)
    with store.db.writing() as session, pytest.raises(Outdated):
        put(session, project, RULES_A, "yaml", "ci", if_match="*")  # nothing to match yet
    with store.db.writing() as session:
        first = put(session, project, RULES_A, "yaml", "ci").current
    with store.db.writing() as session:
        put(session, project, RULES_B, "yaml", "bob", if_match=f'"{first.etag}"')
    with store.db.writing() as session, pytest.raises(Outdated) as stale:
        put(session, project, RULES_A, "yaml", "carol", if_match=f'"{first.etag}"')
    assert stale.value.code == "rules_changed" and "version 2" in stale.value.message
    with store.db.writing() as session, pytest.raises(Outdated):  # weak tags never match If-Match
        put(session, project, RULES_A, "yaml", "carol", if_match=f'W/"{etag_of(RULES_B)}"')
    with store.db.reading() as session:
        assert [v.pushed_by for v in history(session, project)] == ["bob", "ci"]


def test_concurrent_pushes_get_consecutive_versions(store: Store) -> None:
    project = _project(store)
    errors: list[BaseException] = []

    def push(n: int) -> None:
        try:
            with store.db.writing() as session:
                put(session, project, RULES_A.replace("0.4", f"0.{n + 1}"), "yaml", f"writer {n}")
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=push, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with store.db.reading() as session:
        versions = history(session, project)
    assert [v.version for v in versions] == [6, 5, 4, 3, 2, 1]
    assert len({v.etag for v in versions}) == 6

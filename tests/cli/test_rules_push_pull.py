"""``framescout rules push`` / ``pull`` against a real ``framescout serve`` process: a bad file is refused
before anything is sent, the server's refusals name the key path on one line, pull writes the file
atomically in the format asked for, and errors end with exit 1 and one line, never a traceback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from framescout.server.process import ServerProcess, free_port
from helpers import NIGHT_RULES, framescout

RULES = NIGHT_RULES


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, str]]:
    server = ServerProcess(tmp_path_factory.mktemp("rules-cli") / "server")
    key = server.create_key("acme")
    server.cli("projects", "create", "acme/cams")
    server.cli("projects", "create", "acme/empty")
    with server:
        yield server, key


def run(live: tuple[ServerProcess, str], *args: str, key: str | None = None) -> tuple[int, str, str]:
    """The command with the server and key from the environment, as a device's script would set them."""
    server, own_key = live
    env = {"FRAMESCOUT_SERVER": server.url, "FRAMESCOUT_API_KEY": key or own_key}
    done = framescout("rules", *args, env=env)
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, done.stdout, done.stderr


def test_push_then_pull_round_trips_and_a_second_push_changes_nothing(
    live: tuple[ServerProcess, str], tmp_path: Path
) -> None:
    file = tmp_path / "rules.yaml"
    file.write_text(RULES)
    code, out, err = run(live, "push", "acme/cams", str(file))
    assert code == 0, err
    assert out.startswith("pushed acme/cams version 1 (etag ")
    code, out, _ = run(live, "push", "acme/cams", str(file))
    assert code == 0 and out.startswith("unchanged: acme/cams is at version 1")

    target = tmp_path / "pulled" / "rules.yaml"
    target.parent.mkdir()
    code, _, err = run(live, "pull", "acme/cams", "-o", str(target))
    assert code == 0 and target.read_text() == RULES and "version 1" in err
    assert [p.name for p in target.parent.iterdir()] == ["rules.yaml"]  # no temporary file left
    as_json = tmp_path / "rules.json"
    code, _, _ = run(live, "pull", "acme/cams", "-o", str(as_json))
    assert code == 0 and json.loads(as_json.read_text()) == yaml.safe_load(RULES)
    code, out, _ = run(live, "pull", "acme/cams")
    assert code == 0 and out == RULES

    changed = tmp_path / "changed.json"  # JSON by its suffix
    changed.write_text(json.dumps({"rules": [{"type": "random", "probability": 0.2}]}))
    server, key = live
    done = framescout(
        "rules", "push", "acme/cams", str(changed), "--server", server.url, "--api-key", key
    )  # options instead of the environment
    assert done.returncode == 0 and "version 2" in done.stdout, done.stderr
    code, out, _ = run(live, "pull", "acme/cams")
    assert yaml.safe_load(out) == {"rules": [{"type": "random", "probability": 0.2}]}


def test_a_bad_file_is_refused_before_anything_is_sent(
    live: tuple[ServerProcess, str], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(RULES.replace("below: 0.4", "bellow: 0.4").replace("per_minute: 10", "per_minute: 0"))
    code, _, err = run(live, "push", "acme/empty", str(bad))
    assert code == 1 and len(err.strip().splitlines()) == 1
    assert "nothing sent" in err and "rules[0] (low).bellow: unknown key" in err
    assert "rules[0] (low).limits.per_minute" in err
    code, _, err = run(live, "pull", "acme/empty")
    assert code == 1 and "404 rules_not_found" in err and len(err.strip().splitlines()) == 1


def test_the_servers_refusals_and_unreachable_servers_are_one_line(
    live: tuple[ServerProcess, str], tmp_path: Path
) -> None:
    file = tmp_path / "rules.yaml"
    file.write_text(RULES)
    code, _, err = run(live, "push", "acme/cams", str(file), key="fs_not-a-key")
    assert code == 1 and "401 invalid_api_key" in err and "check --api-key" in err
    code, _, err = run(live, "push", "acme/nope", str(file))
    assert code == 1 and "404 project_not_found" in err
    code, _, err = run(live, "push", "acme/cams", str(file), "--if-match", "0" * 64)
    assert code == 1 and "412 rules_changed" in err
    code, _, err = run(live, "push", "cams", str(file))
    assert code == 1 and "expected WORKSPACE/PROJECT" in err
    done = framescout(
        "rules", "pull", "acme/cams", "--server", f"http://127.0.0.1:{free_port()}", "--api-key", "k"
    )
    assert done.returncode == 1 and "cannot reach" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
    alone = framescout("rules", "pull", "acme/cams", env={"FRAMESCOUT_SERVER": "", "FRAMESCOUT_API_KEY": ""})
    assert alone.returncode == 1 and "give --server and --api-key" in alone.stderr

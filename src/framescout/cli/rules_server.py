"""``framescout rules push`` and ``framescout rules pull``: a project's server-held rules.

``push`` checks the file with the code ``rules check`` runs before sending it, so a bad file never
leaves the machine; the server validates again (the same code) and answers the key path of what it
refuses. ``pull`` writes the current rules through a temporary file, so an interrupted pull never
leaves half a rules file where a collector would read it."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.markup import escape

from framescout.atomic import write_file_atomically
from framescout.cli._output import console, errors, fail
from framescout.sampling import ConfigError, load_config
from framescout.sampling.config import format_of

if TYPE_CHECKING:
    from framescout.client import Client

SERVER_OPTION: Any = typer.Option(None, "--server", envvar="FRAMESCOUT_SERVER", help="Server URL.")
API_KEY_OPTION: Any = typer.Option(None, "--api-key", envvar="FRAMESCOUT_API_KEY", help="API key.")
TARGET_ARGUMENT: Any = typer.Argument(..., help="WORKSPACE/PROJECT whose rules these are.")


def _one_line(message: str, problems: list[Any]) -> str:
    """A multi-key refusal on one line: each offending key and what is wrong, ``; `` between them."""
    if problems:
        return "; ".join(f"{p.get('where') or p.get('key') or 'text'}: {p.get('message')}" for p in problems)
    return " ".join(message.split())


@contextmanager
def _client(server: str | None, api_key: str | None, target: str) -> Iterator[Client]:
    """A client for ``server``; every failure to talk to it ends the command with one line."""
    from framescout.client import ApiError, Client, FramescoutError, RetryPolicy

    if not (server and api_key):
        fail("give --server and --api-key (or FRAMESCOUT_SERVER / FRAMESCOUT_API_KEY)")
    if target.strip("/").count("/") != 1 or "" in target.strip("/").split("/"):
        fail(f"expected WORKSPACE/PROJECT; got {target!r}")
    try:
        with Client(server, api_key, timeout=30.0, retry=RetryPolicy(attempts=3)) as client:
            yield client
    except ApiError as exc:
        hint = "; check --api-key (or FRAMESCOUT_API_KEY)" if exc.status == 401 else ""
        said = _one_line(exc.message, exc.problems)
        fail(f"{server} refused {target}: {exc.status} {exc.code}: {said}{hint}")
    except FramescoutError as exc:
        fail(f"cannot reach {server}: {' '.join(str(exc).split())}")


def push(
    target: str = TARGET_ARGUMENT,
    file: Path = typer.Argument(..., help="Rules file (YAML, or JSON by its .json suffix)."),
    server: str | None = SERVER_OPTION,
    api_key: str | None = API_KEY_OPTION,
    if_match: str | None = typer.Option(
        None, "--if-match", help="Push only if the server's current rules have this ETag (else exit 1)."
    ),
) -> None:
    """Check FILE, then make it the project's server-held rules (a new version in its history)."""
    try:
        load_config(file)
    except ConfigError as exc:
        fail(f"{file} is not valid (nothing sent): {_one_line(str(exc), [vars(p) for p in exc.problems])}")
    text = file.read_text(encoding="utf-8")
    with _client(server, api_key, target) as client:
        result = client.push_rules(target, text, format=format_of(file), if_match=if_match)
    if result.get("created"):
        console.print(f"pushed {escape(target)} version {result['version']} (etag {result['etag']})")
    else:
        console.print(
            f"unchanged: {escape(target)} is at version {result['version']} (etag {result['etag']}) already"
        )


def pull(
    target: str = TARGET_ARGUMENT,
    output: Path | None = typer.Option(
        None, "-o", "--output", help="Write to this file (atomically) instead of standard output."
    ),
    format: str | None = typer.Option(
        None, "--format", help="yaml or json (default: by the --output suffix, else yaml)."
    ),
    server: str | None = SERVER_OPTION,
    api_key: str | None = API_KEY_OPTION,
) -> None:
    """Print or save the project's current server-held rules."""
    fmt = format or (format_of(output) if output else "yaml")
    if fmt not in ("yaml", "json"):
        fail(f"--format must be yaml or json, not {fmt!r}")
    if output is not None and output.is_dir():
        fail(f"--output {output} is a folder; give the file to write")
    with _client(server, api_key, target) as client:
        rules = client.get_rules(target, format=fmt)
    assert rules is not None  # no ETag was sent, so no 304
    if output is None:
        sys.stdout.write(rules.text)
        return
    try:
        write_file_atomically(output, rules.text.encode("utf-8"), shared=True)
    except OSError as exc:
        fail(f"cannot write {output}: {exc.strerror or exc}")
    where = escape(str(output))
    errors.print(f"pulled {escape(target)} version {rules.version} (etag {rules.etag}) to {where}")

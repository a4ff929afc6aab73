"""The root ``framescout`` command; each sub-command group lives in its own module."""

from __future__ import annotations

import typer

from framescout import __version__
from framescout.cli import collect, doctor, evaluate, keys, models_cmd, predict, projects, rules, serve, spool
from framescout.cli import export as export_cmd
from framescout.cli import migrate_store as migrate_cmd
from framescout.cli import models_predict as models_predict_cmd
from framescout.cli import select as select_cmd
from framescout.cli import versions as versions_cmd
from framescout.cli._store import add_store_urls, with_store_urls

app = typer.Typer(
    name="framescout",
    help="Self-hosted active learning for computer vision: collect the frames your model needs.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(rules.app, name="rules")
app.command("serve")(with_store_urls(serve.serve))
app.add_typer(keys.app, name="keys")
app.add_typer(projects.app, name="projects")
models_cmd.app.command("predict")(models_predict_cmd.predict_command)
app.add_typer(models_cmd.app, name="models")
app.command("select")(select_cmd.select_command)
app.command("predict")(predict.predict)
app.command("evaluate")(evaluate.evaluate)
app.command("collect")(collect.collect)
app.add_typer(spool.app, name="spool")
app.command("export")(with_store_urls(export_cmd.export_command))
app.add_typer(versions_cmd.app, name="versions")
app.command("doctor")(with_store_urls(doctor.doctor))
app.command("migrate-store")(migrate_cmd.migrate_store_command)
for group in (keys.app, projects.app, models_cmd.app, versions_cmd.app):  # the admin commands
    add_store_urls(group)


@app.callback(invoke_without_command=True)
def _root(
    version: bool = typer.Option(False, "--version", help="Print the version and exit."),
) -> None:
    if version:
        typer.echo(f"framescout {__version__}")
        raise typer.Exit()


def main() -> None:
    """Console-script entry point."""
    app()

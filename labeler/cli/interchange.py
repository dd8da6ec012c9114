"""``labeler import-from FORMAT`` and ``labeler export-to FORMAT``: other tools' files."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext

from labeler.cli.common import project_named, unit_of_work
from labeler.models import Project
from labeler.services import ServiceError

FORMAT_NAMES = ["label-studio", "prodigy"]


@click.command("import-from")
@click.argument("fmt", metavar="FORMAT", type=click.Choice(FORMAT_NAMES))
@click.argument("project_name")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--annotator",
    "annotators",
    multiple=True,
    help="SOURCE=NAME: the file's user id, email or _annotator_id, and the labeler name.",
)
@click.option(
    "--add-annotators",
    is_flag=True,
    help="Make annotators the file names who are not members of the project members.",
)
@with_appcontext
def import_from_command(
    fmt: str, project_name: str, path: Path, annotators: tuple[str, ...], add_annotators: bool
) -> None:
    """Import a Label Studio JSON export or Prodigy/spaCy JSONL into PROJECT_NAME."""
    from labeler.services.data.interchange import annotator_map, import_format

    project = project_named(project_name)
    with unit_of_work(suffix=". Nothing was imported."), path.open("rb") as stream:
        report = import_format(
            project,
            stream,
            fmt,
            annotator_map(list(annotators)),
            add_annotators=add_annotators,
        )
    click.echo(
        f"{report.added} items added, {report.updated} updated; "
        f"{report.annotations_added} labels added, {report.annotations_changed} changed."
    )
    for message in report.messages:
        click.echo(message)


@click.command("export-to")
@click.argument("fmt", metavar="FORMAT", type=click.Choice([*FORMAT_NAMES, "huggingface"]))
@click.argument("project_name")
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True)
@with_appcontext
def export_to_command(fmt: str, project_name: str, output: Path) -> None:
    """Export PROJECT_NAME's items and every label as Label Studio JSON, Prodigy JSONL, or
    a Hugging Face dataset folder (``huggingface``: needs the ``huggingface`` extra)."""
    from labeler.services.data.interchange import export_format

    project = project_named(project_name)
    if fmt == "huggingface":
        _export_hf(project, output)
        return
    with output.open("w", encoding="utf-8") as out:
        for chunk in export_format(project, fmt):
            out.write(chunk)
    click.echo(f"Wrote {output}")


def _export_hf(project: Project, output: Path) -> None:
    from labeler.services.data.hf_dataset import save_hf_dataset

    if output.exists() and any(output.iterdir()):
        raise click.ClickException(f"{output} is not empty; name a new folder")
    try:
        rows = save_hf_dataset(project, output)
    except ServiceError as exc:
        raise click.ClickException(exc.message) from None
    splits = ", ".join(f"{split}: {n} rows" for split, n in rows.items())
    click.echo(f"Wrote the dataset to {output} ({splits}); load it with datasets.load_from_disk")

"""CLI commands that move data: ``labeler demo`` and ``labeler import``."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from labeler.cli.common import project_named, unit_of_work
from labeler.extensions import db
from labeler.models import Project, User
from labeler.services import ServiceError


@click.command("demo")
@click.option(
    "--text-csv",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Also create a text project from this CSV.",
)
@click.option("--text-column", default="text", show_default=True)
@click.option("--label-column", default=None, help="Column whose values form the label set.")
@click.option("--labels", default=None, help="Comma-separated label set for the text project.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True)
@click.option("--no-serve", is_flag=True, help="Create the demo and exit.")
@with_appcontext
def demo_command(
    text_csv: Path | None,
    text_column: str,
    label_column: str | None,
    labels: str | None,
    host: str,
    port: int,
    no_serve: bool,
) -> None:
    """Create (once) a demo instance with demo users and projects, then serve it."""
    from labeler.cli import demo
    from labeler.cli.instance import apply_migrations, serve

    apply_migrations()
    if db.session.scalar(select(User).limit(1)) is None:
        click.echo("Creating the demo: users, and the digits project (1,797 pictures)...")
        with unit_of_work():
            users = demo.create_users()
            demo.create_digits_project(users)
            if text_csv:
                demo.create_text_project(
                    users,
                    text_csv,
                    text_column,
                    label_column,
                    labels.split(",") if labels else None,
                )
    else:
        click.echo(f"Using the existing instance in {current_app.instance_path}")
        if text_csv:
            _add_text_project(text_csv, text_column, label_column, labels)
    click.echo("Logins (username / password):")
    for username, password, role in demo.DEMO_USERS:
        click.echo(f"  {username:<9} {password:<14} {role}")
    if not no_serve:
        serve(current_app._get_current_object(), host, port)  # type: ignore[attr-defined]


def _add_text_project(
    text_csv: Path, text_column: str, label_column: str | None, labels: str | None
) -> None:
    """``--text-csv`` on an instance that exists: add the text project once, or say why not."""
    from labeler.cli import demo

    name = demo.text_project_name(text_csv)
    if db.session.scalar(select(Project).where(Project.name == name)) is not None:
        click.echo(f"The project {name!r} is already here; {text_csv.name} was not imported again.")
        return
    users = list(
        db.session.scalars(select(User).where(User.username.in_([u[0] for u in demo.DEMO_USERS])))
    )
    with unit_of_work():
        project = demo.create_text_project(
            users, text_csv, text_column, label_column, labels.split(",") if labels else None
        )
    click.echo(f"Added the project {name!r} ({project.n_items:,} texts) to this instance.")


@click.command("import")
@click.argument("project_name")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "jsonl", "conll"]),
    default=None,
    help="Default: from the file name. conll: span answers, one token per line "
    "(--annotator names the annotator of a file without a '# columns' line).",
)
@click.option("--id", "id_column", default=None, help="Id column (default: generated).")
@click.option("--text", multiple=True, help="Text column (repeatable).")
@click.option("--image", default=None, help="Image column (URL or path in the media folder).")
@click.option("--numeric", multiple=True, help="Numeric column (repeatable).")
@click.option("--categorical", multiple=True, help="Categorical column (repeatable).")
@click.option("--meta", multiple=True, help="Column shown but not used by the model.")
@click.option("--label", default=None, help="Column with existing labels.")
@click.option("--annotator", default=None, help="Column naming who gave each label.")
@click.option("--gold", default=None, help="Column of known answers (gold items).")
@click.option(
    "--suggestion",
    default=None,
    help="Column of pre-annotations, shown in the form when the project asks for imported ones.",
)
@click.option(
    "--add-annotators",
    is_flag=True,
    help="Make the annotators the file names members of the project (else they are refused).",
)
@click.option(
    "--duplicates",
    type=click.Choice(["keep", "skip", "link"]),
    default="keep",
    show_default=True,
    help="What to do with rows whose content is already there.",
)
@with_appcontext
def import_command(
    project_name: str,
    path: Path,
    fmt: str | None,
    id_column: str | None,
    text: tuple[str, ...],
    image: str | None,
    numeric: tuple[str, ...],
    categorical: tuple[str, ...],
    meta: tuple[str, ...],
    label: str | None,
    annotator: str | None,
    gold: str | None,
    suggestion: str | None,
    add_annotators: bool,
    duplicates: str,
) -> None:
    """Import items from a CSV or JSONL file into PROJECT_NAME; all or nothing."""
    from labeler.services.data.import_spec import ColumnMapping, format_of
    from labeler.services.data.imports import import_file

    project = project_named(project_name)
    size = path.stat().st_size
    limit = current_app.config["IMPORT_MAX_BYTES"]
    if size > limit:
        raise click.ClickException(
            f"{path} is {size:,} bytes; the limit is {limit:,} "
            "(LABELER_IMPORT_MAX_BYTES). Nothing was imported."
        )
    fmt = fmt or format_of(path.name)
    mapping = ColumnMapping(
        id=id_column,
        text=text,
        image=image,
        numeric=numeric,
        categorical=categorical,
        meta=meta,
        label=label,
        annotator=annotator,
        gold=gold,
        suggestion=suggestion,
        duplicates=duplicates,
        add_annotators=add_annotators,
    )
    if fmt == "conll":  # the file's columns are its own; --annotator names its annotator
        ignored = [
            f"--{name}"
            for name, given in (
                ("id", id_column), ("text", text), ("image", image), ("numeric", numeric),
                ("categorical", categorical), ("meta", meta), ("label", label), ("gold", gold),
                ("suggestion", suggestion), ("duplicates", duplicates != "keep"),
            )
            if given
        ]  # fmt: skip
        if ignored:
            raise click.UsageError(
                f"{', '.join(ignored)}: a CoNLL file names its own columns (tokens, then one "
                "tag column per annotator); only --annotator and --add-annotators apply"
            )
        mapping = ColumnMapping(
            default_annotator=annotator or "imported", add_annotators=add_annotators
        )
    with (
        path.open("rb") as stream,
        click.progressbar(
            length=size, label=f"Importing {path.name}", file=sys.stderr, show_eta=True
        ) as bar,
    ):
        done = [0]

        def progress(rows: int, read: int) -> None:
            bar.update(read - done[0])
            done[0] = read

        with unit_of_work(f"{path.name}: ", ". Nothing was imported."):
            report = import_file(
                project, stream, fmt, mapping, current_app.config["IMPORT_CHUNK_ROWS"], progress
            )
    click.echo(
        f"{report.rows:,} rows: {report.added:,} added, {report.updated:,} updated, "
        f"{report.skipped:,} unchanged, {report.duplicate_rows:,} duplicate rows, "
        f"{report.duplicates_found:,} duplicates of existing content "
        f"({report.duplicates_skipped:,} skipped, {report.duplicates_linked:,} linked), "
        f"{report.gold_marked:,} gold, {report.suggestions_imported:,} suggestions; "
        f"labels {report.annotations_added:,} added, "
        f"{report.annotations_changed:,} changed."
    )
    if report.members_added:
        created = set(report.annotators_created)
        click.echo(
            "Added as members: "
            + ", ".join(
                f"{n} (new inactive account)" if n in created else n for n in report.members_added
            )
        )


@click.command("export")
@click.argument("project_name")
@click.option(
    "--view", type=click.Choice(["items", "annotations"]), default="items", show_default=True
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "jsonl", "parquet"]),
    default="csv",
    show_default=True,
)
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--final-only", is_flag=True, help="Only items with a final label.")
@click.option("--split", type=click.Choice(["train", "test"]), default=None)
@click.option("--min-confidence", type=float, default=None)
@click.option("--since", default=None, help="Annotations updated on or after (ISO date).")
@click.option("--until", default=None, help="Annotations updated before (ISO date).")
@click.option("--adjudicated-only", is_flag=True)
@click.option("--exclude-ambiguous", is_flag=True)
@click.option("--pseudonymize", is_flag=True, help="Stable pseudonymous annotator ids.")
@click.option("--one-hot", is_flag=True, help="Items view: add a 0/1 column per label.")
@click.option(
    "--card",
    "card_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write the dataset card (Markdown) here.",
)
@with_appcontext
def export_command(
    project_name: str,
    view: str,
    fmt: str,
    output: Path,
    final_only: bool,
    split: str | None,
    min_confidence: float | None,
    since: str | None,
    until: str | None,
    adjudicated_only: bool,
    exclude_ambiguous: bool,
    pseudonymize: bool,
    one_hot: bool,
    card_path: Path | None,
) -> None:
    """Export PROJECT_NAME's items or annotations; rows stream, so size is not a problem."""
    from labeler.services.data.dataset_card import card_markdown, dataset_card
    from labeler.services.data.export_job import write_export

    project = project_named(project_name)
    filters = {
        "final_only": str(final_only),
        "split": split or "",
        "min_confidence": "" if min_confidence is None else str(min_confidence),
        "since": since or "",
        "until": until or "",
        "adjudicated_only": str(adjudicated_only),
        "include_ambiguous": str(not exclude_ambiguous),
        "one_hot": str(one_hot),
    }
    try:
        rows = write_export(
            project,
            {"view": view, "format": fmt, "filters": filters, "pseudonymize": pseudonymize},
            output,
        )
    except ServiceError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"Wrote {rows:,} {view} to {output}")
    if card_path:
        card_path.write_text(card_markdown(dataset_card(project)), encoding="utf-8")
        click.echo(f"Wrote the dataset card to {card_path}")

"""What an import is told and what it reports: the column mapping, the report, the error.

Shared by the readers, the row writer, the label writer and the project setup, so none
of them needs the import driver.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from labeler.services import ServiceError

Progress = Callable[[int, int], None]  # (rows done, bytes read)


Row = tuple[int, dict[str, Any]]  # (line number, raw values by column)

# A file's format by its name's ending, when nobody names it (the CLI, the API, the
# import page); anything else is read as CSV.
FORMATS_BY_SUFFIX = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".conll": "conll"}


def format_of(filename: str) -> str:
    """``csv``, ``jsonl`` or ``conll``, by the file name's ending."""
    name = filename.lower()
    return next((f for s, f in FORMATS_BY_SUFFIX.items() if name.endswith(s)), "csv")


class ImportFailed(ServiceError):
    """Bad input; ``line`` and ``column`` say where, when known."""

    def __init__(self, message: str, line: int | None = None, column: str | None = None):
        parts = (line and f"line {line}", column and f"column {column!r}")
        where = ", ".join(p for p in parts if p)
        super().__init__(
            f"{where}: {message}" if where else message, {"line": line, "column": column}
        )
        self.line, self.column, self.reason = line, column, message


@dataclass(frozen=True)
class ColumnMapping:
    """Which input column plays which part. ``id`` None means generated from content."""

    id: str | None = None
    text: tuple[str, ...] = ()
    image: str | None = None
    numeric: tuple[str, ...] = ()
    categorical: tuple[str, ...] = ()
    meta: tuple[str, ...] = ()  # shown beside the item, not given to the model
    label: str | None = None
    annotator: str | None = None
    default_annotator: str = "imported"
    # The file is a labeler CSV export: undo its spreadsheet-safety apostrophes.
    unescape_formulas: bool = False
    gold: str | None = None  # known answers: rows with a value here become gold items
    # Pre-annotations (a model's or a tool's), shown in the form when the project asks
    # for imported suggestions; never a label, never shown as a field.
    suggestion: str | None = None
    duplicates: str = "keep"  # keep | skip | link rows whose content is already there
    # Annotators named in the file who are not members of the project: refused unless
    # this is set; then they become members (unknown names get an inactive account).
    add_annotators: bool = False

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> ColumnMapping:
        known = {f for f in cls.__dataclass_fields__}
        unknown = set(raw) - known
        if unknown:
            raise ImportFailed(f"unknown mapping keys: {', '.join(sorted(unknown))}")
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()}
        return cls(**values)

    @property
    def data_columns(self) -> list[str]:
        cols = [
            *self.text,
            *([self.image] if self.image else []),
            *self.numeric,
            *self.categorical,
            *self.meta,
        ]
        return list(dict.fromkeys(cols))

    def check(self) -> None:
        if not self.data_columns:
            raise ImportFailed(
                "map at least one column to a text, image, numeric, categorical or meta field"
            )
        if self.annotator and not self.label:
            raise ImportFailed("an annotator column needs a label column")
        if self.duplicates not in DUPLICATE_POLICIES:
            raise ImportFailed(f"duplicates must be one of {', '.join(DUPLICATE_POLICIES)}")
        if self.gold and self.gold in self.data_columns:
            raise ImportFailed(f"the gold column {self.gold!r} cannot also be shown to annotators")
        if self.suggestion and self.suggestion in self.data_columns:
            raise ImportFailed(
                f"the suggestion column {self.suggestion!r} cannot also be an item field"
            )

    @property
    def content_columns(self) -> list[str]:
        """The fields that make two rows "the same": the texts, else the model inputs."""
        return list(self.text) or [*self.numeric, *self.categorical] or self.data_columns


DUPLICATE_POLICIES = ("keep", "skip", "link")


@dataclass
class ImportReport:
    rows: int = 0
    added: int = 0
    updated: int = 0
    skipped: int = 0
    duplicate_rows: int = 0  # identical rows with generated ids, kept once
    annotations_added: int = 0
    annotations_changed: int = 0
    annotations_unchanged: int = 0
    # New rows whose normalised content is already in the project or earlier in the
    # file, and what became of them (see ColumnMapping.duplicates).
    duplicates_found: int = 0
    duplicates_skipped: int = 0
    duplicates_linked: int = 0
    gold_marked: int = 0
    suggestions_imported: int = 0
    # What an import with ``add_annotators`` created, by user name.
    annotators_created: list[str] = field(default_factory=list)
    members_added: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

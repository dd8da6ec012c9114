"""The demo: scikit-learn's bundled digits as 8x8 pictures, plus an optional text CSV.

Everything comes from disk (sklearn ships the digits), so the demo works offline.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from sklearn.datasets import load_digits

from labeler.extensions import db
from labeler.models import Project, User
from labeler.services import ServiceError
from labeler.services.data.import_spec import ColumnMapping
from labeler.services.data.imports import import_file, import_frame
from labeler.services.projects.store import create_project, set_member

DEMO_USERS = (  # (username, password, role)
    ("admin", "demo-admin", "admin"),
    ("reviewer", "demo-reviewer", "reviewer"),
    ("alice", "demo-alice", "annotator"),
    ("bob", "demo-bob", "annotator"),
)

DIGITS_GUIDELINES = """\
Pick the digit the picture shows. The pictures are 8x8 scans of handwritten digits
(scikit-learn's *digits* data set); dark is ink.

- If two digits seem possible, choose the one most people would read.
- Press **s** to skip a picture you cannot read at all.
"""


def create_users() -> list[User]:
    users = []
    for username, password, role in DEMO_USERS:
        user = User(username=username, role=role)
        user.set_password(password)
        db.session.add(user)
        users.append(user)
    db.session.flush()
    return users


def create_digits_project(users: list[User]) -> Project:
    digits = load_digits()
    fields = [f"p{i}" for i in range(64)]
    frame = pd.DataFrame(digits.data.astype(int), columns=fields)
    frame.insert(0, "id", [f"digit-{i:04d}" for i in range(len(frame))])
    labels = [{"name": str(d), "hotkey": str(d), "description": ""} for d in range(10)]
    project = create_project(
        "Digits (8x8 pictures)",
        labels,
        DIGITS_GUIDELINES,
        annotations_per_item=2,
        test_fraction=0.2,
    )
    import_frame(project, frame, ColumnMapping(id="id", numeric=tuple(fields)))
    project.display = {
        **project.display,
        "pixel_grid": {"fields": fields, "width": 8, "height": 8, "max": 16},
    }
    _join(project, users)
    return project


def create_text_project(
    users: list[User],
    path: Path,
    text_column: str,
    label_column: str | None,
    labels: list[str] | None,
) -> Project:
    """A text project from any CSV: the label set comes from ``labels`` or the label column.

    The label column only names the label set; its values are not imported as
    annotations, so the demo users label the texts themselves.
    """
    if not labels:
        if not label_column:
            raise ServiceError("give --labels or --label-column for the text project")
        values = pd.read_csv(path, usecols=[label_column])[label_column].dropna()
        labels = sorted({str(v) for v in values})
        if len(labels) > 20:
            raise ServiceError(
                f"column {label_column!r} has {len(labels)} values; "
                "that does not look like a label column"
            )
    project = create_project(
        text_project_name(path),
        [{"name": name} for name in labels],
        f"Label each text from *{path.name}*.",
        annotations_per_item=1,
    )
    with path.open("rb") as stream:
        import_file(project, stream, "csv", ColumnMapping(text=(text_column,)))
    _join(project, users)
    return project


def text_project_name(path: Path) -> str:
    return f"Texts from {path.name}"


def _join(project: Project, users: list[User]) -> None:
    for user in users:
        if user.role != "admin":
            set_member(project, user, "reviewer" if user.role == "reviewer" else "annotator")

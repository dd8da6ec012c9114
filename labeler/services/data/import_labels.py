"""Bring earlier labels in with an import: one annotation per (item, annotator).

An annotator named in the file must be a member of the project: an import never makes
anyone a member unasked. With ``add_annotators`` it does, and the report lists whom it
added; a name with no account gets an inactive one (it cannot log in) so that its votes
count in agreement and consensus. A label that differs from one already stored is
changed with its history kept.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select, tuple_

from labeler.extensions import db
from labeler.models import Annotation, Assignment, Membership, Project, User, utcnow
from labeler.services.data.bulk_insert import insert_rows
from labeler.services.data.import_spec import ImportFailed

if TYPE_CHECKING:
    from labeler.services.data.import_spec import ColumnMapping, ImportReport


class LabelWriter:
    def __init__(
        self,
        project: Project,
        mapping: ColumnMapping,
        report: ImportReport,
        values: dict[str, Any] | None = None,
    ):
        self.project, self.mapping, self.report = project, mapping, report
        # Answer key -> typed value to store beside it (None: the key is the value).
        self.values = values if values is not None else {}
        self.user_ids: dict[str, int] = {}
        # Items whose votes this import added or changed: the ones to recount and refresh.
        self.touched: set[int] = set()

    def _user_id(self, name: str, line: int) -> int:
        if name not in self.user_ids:
            user = db.session.scalar(select(User).where(User.username == name))
            member = user is not None and db.session.scalar(
                select(Membership.id).where(
                    Membership.user_id == user.id, Membership.project_id == self.project.id
                )
            )
            if not member:
                self._add_member(name, user, line)
                user = db.session.scalar(select(User).where(User.username == name))
            assert user is not None
            self.user_ids[name] = user.id
        return self.user_ids[name]

    def _add_member(self, name: str, user: User | None, line: int) -> None:
        """Make ``name`` a member, when the import asks for it (the default annotator of a
        file without an annotator column is labeler's own, and always allowed)."""
        if not (self.mapping.add_annotators or name == self.mapping.default_annotator):
            known = "is not a member of this project" if user else "has no account"
            raise ImportFailed(
                f"annotator {name!r} {known}; make them a member first, or ask the import "
                "to add the annotators it names (add_annotators)",
                line=line,
                column=self.mapping.annotator,
            )
        if user is None:
            user = User(username=name, role="annotator", active=False)
            db.session.add(user)
            db.session.flush()
            self.report.annotators_created.append(name)
        db.session.add(Membership(user_id=user.id, project_id=self.project.id, role="annotator"))
        db.session.flush()
        self.report.members_added.append(name)

    def write(
        self,
        rows: list[tuple[int, str, str, str, Any]],
        item_ids: dict[str, int],
        created: set[int] | frozenset[int] = frozenset(),
        settled: set[int] | frozenset[int] = frozenset(),
    ) -> None:
        """``rows``: (line, external id, annotator, answer key, stored value); ``created``:
        the items this chunk inserted, which hold no annotation or lease to look up;
        ``settled``: those of them inserted with these votes counted and decided (not to
        refresh again)."""
        known = self.user_ids  # looked up here: a method call per row costs
        wanted = {
            (item_ids[ext], known.get(name) or self._user_id(name, line)): (label, value)
            for line, ext, name, label, value in rows
        }
        if not wanted:
            return
        earlier = {key for key in wanted if key[0] not in created}
        existing = self._existing(earlier) if earlier else {}
        now, project_id = utcnow(), self.project.id  # an ORM attribute read per row costs
        fresh = []
        for (item_id, user_id), (label, value) in wanted.items():
            annotation = existing.get((item_id, user_id))
            if annotation is None:
                fresh.append(
                    {
                        "item_id": item_id,
                        "user_id": user_id,
                        "label": label,
                        "value": value,
                        "project_id": project_id,
                        "created_at": now,
                        "updated_at": now,
                    }
                )
            elif annotation.label == label:
                self.report.annotations_unchanged += 1
            else:
                # an import has no time
                annotation.relabel(label, annotation.seconds, now, value)
                self.report.annotations_changed += 1
                self.touched.add(item_id)
        if fresh:
            insert_rows(Annotation.__table__, fresh)  # not the ORM: ~3x its speed, and more
            self.report.annotations_added += len(fresh)
            self.touched.update(row["item_id"] for row in fresh if row["item_id"] not in settled)
            # A label in hand ends its annotator's lease, as a submit does (one statement;
            # an item this import created has none).
            leased = [(r["item_id"], r["user_id"]) for r in fresh if r["item_id"] not in created]
            if leased:
                db.session.execute(
                    delete(Assignment).where(
                        tuple_(Assignment.item_id, Assignment.user_id).in_(leased)
                    )
                )

    def _existing(self, keys: set[tuple[int, int]]) -> dict[tuple[int, int], Annotation]:
        """The stored annotations among ``keys`` ((item id, user id) pairs)."""
        found = db.session.scalars(
            select(Annotation).where(
                Annotation.item_id.in_({key[0] for key in keys}),
                Annotation.user_id.in_({key[1] for key in keys}),
            )
        )
        return {(a.item_id, a.user_id): a for a in found if (a.item_id, a.user_id) in keys}

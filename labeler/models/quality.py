"""What label quality keeps between jobs: a model version's out-of-sample probabilities."""

from __future__ import annotations

from datetime import datetime

import numpy as np
from sqlalchemy import JSON, ForeignKey, LargeBinary
from sqlalchemy.orm import Mapped, mapped_column

from labeler.extensions import db
from labeler.models.base import utcnow


class ModelProbabilities(db.Model):
    """One model version's class probabilities for every labeled item, each from a model
    that never saw that item's label (K-fold for training items, the fitted model for
    the rest): what model-aware consensus weighs against the votes.

    One row per version, kept compact: ``item_ids`` is little-endian int64 and
    ``probabilities`` little-endian float32, items x ``classes`` in row order
    (~40 bytes an item for 10 classes). Read them with :meth:`arrays`.
    """

    __tablename__ = "model_probabilities"

    model_version_id: Mapped[int] = mapped_column(
        ForeignKey("model_version.id", ondelete="CASCADE"), primary_key=True
    )
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), index=True)
    classes: Mapped[list[str]] = mapped_column(JSON)
    item_ids: Mapped[bytes] = mapped_column(LargeBinary)
    probabilities: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @classmethod
    def pack(
        cls,
        model_version_id: int,
        project_id: int,
        classes: list[str],
        item_ids: np.ndarray,
        probabilities: np.ndarray,
    ) -> ModelProbabilities:
        return cls(
            model_version_id=model_version_id,
            project_id=project_id,
            classes=list(classes),
            item_ids=np.asarray(item_ids, dtype="<i8").tobytes(),
            probabilities=np.asarray(probabilities, dtype="<f4").tobytes(),
        )

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """(item ids, items x classes probabilities as float64)."""
        ids = np.frombuffer(self.item_ids, dtype="<i8").astype(np.int64)
        probs = np.frombuffer(self.probabilities, dtype="<f4").astype(np.float64)
        return ids, probs.reshape(len(ids), len(self.classes))

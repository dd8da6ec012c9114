"""The interface every task kind implements, and the value it hands back.

An annotation's *value* is typed by its project's kind and stored as JSON; beside it
sits the value's canonical *key*, a short string used wherever values are compared,
counted or grouped (consensus, agreement, the final label's index, exports' "same
answer?" checks). Two values are the same answer exactly when their keys are equal.

- single_label: value ``"spam"``, key ``"spam"`` (so the existing label columns
  already hold both).
- multi_label: value ``["ham", "urgent"]`` (sorted, no repeats), key
  ``'["ham","urgent"]'``.
- rating: value ``3`` (a number on the scale), key ``"3"``.
- spans: value ``[{"start": 0, "end": 5, "label": "PER"}, ...]`` (code-point
  offsets, sorted), key its canonical JSON.
- pairwise: value ``{"choice": "A" | "B" | "tie", "strength": 1, "shown": "AB"}``,
  key the choice alone (what shown order and strength add is not a different answer).

A key longer than :data:`KEY_MAX` characters (the key columns' width) is replaced by a
digest of itself (:func:`bounded_key`): equality still holds, and the value column
keeps the full answer.
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

KEY_MAX = 120

Value = Any  # JSON: str | int | float | list | dict, as the kind defines it


class InvalidValue(ValueError):
    """A value (or a project setting) the kind refuses; ``field`` names what was wrong,
    ``detail`` adds what helps to correct it (e.g. ``allowed``)."""

    def __init__(self, message: str, field: str = "value", **detail: Any) -> None:
        super().__init__(message)
        self.field = field
        self.detail = detail


@dataclass(frozen=True)
class KindContext:
    """What a kind may know of its project: the label names in order, the scale
    (nominal | ordinal | interval), the kind's own settings, and the consensus rule.
    ``text`` is the item's text when an answer points into it (spans; see
    :meth:`TaskKind.for_item`), else None."""

    labels: tuple[str, ...]
    label_scale: str = "nominal"
    settings: Mapping[str, Any] = field(default_factory=dict)
    dispute_threshold: float = 0.5
    require_unanimity: bool = False
    text: str | None = None


@dataclass(frozen=True)
class ItemConsensus:
    """One item's consensus: ``value`` (None when there is none, e.g. a tie),
    ``confidence`` (0..1, how far the votes back it), ``disputed`` (a reviewer must
    settle it once the item is complete) and ``unanimous``."""

    value: Value | None
    confidence: float
    disputed: bool
    unanimous: bool


@dataclass(frozen=True)
class ConsensusFit:
    """A whole project's consensus as the consensus job writes it.

    ``items``: as :meth:`TaskKind.consensus` returns it (indexed by item: ``value``,
    ``key``, ``confidence``, ``unanimous``, ``disputed``). ``annotator_accuracy``: per
    annotator the estimated share of their answers that are right, 0..1 (None when
    the method estimates none). ``n_iter`` and ``converged`` describe an iterative fit.
    """

    items: pd.DataFrame
    annotator_accuracy: pd.Series | None = None
    n_iter: int = 0
    converged: bool = True


@dataclass(frozen=True)
class Figure:
    """One agreement figure with the line that says how to read it."""

    name: str
    value: float | None
    how_to_read: str
    detail: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Predictions:
    """What a served model says of each request row, in order.

    ``values``: the canonical predicted values; ``keys``: the category each prediction
    counts under in the monitored class mix (:meth:`TaskKind.mix_key`); ``confidences``:
    0..1, how sure the model is of the whole value (1 = certain); ``details``: per row,
    the extra JSON fields the kind adds to the response (e.g. ``probabilities``);
    ``keys_are_values``: each key is its value (single labels), so responses need not
    send both.
    """

    values: list[Value]
    keys: list[str]
    confidences: list[float]
    details: list[dict[str, Any]]
    keys_are_values: bool = False

    def __len__(self) -> int:
        return len(self.values)


def canonical_json(value: Value) -> str:
    """Compact, key-sorted JSON: the same value always gives the same text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def finite_or_none(value: float | None) -> float | None:
    """A figure as pages and JSON hold it: a float, or None where it is undefined
    (None or NaN)."""
    return None if value is None or np.isnan(value) else float(value)


def bounded_key(text: str) -> str:
    """``text`` if it fits the key columns, else ``"sha256:"`` and 40 hex digits of it."""
    if len(text) <= KEY_MAX:
        return text
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()[:40]


class TaskKind(ABC):
    """One task kind: how its values are checked, compared, agreed on, learnt and shown.

    Implement one subclass per kind in ``labeler/core/kinds/<name>.py`` and register an
    instance in ``labeler/core/kinds/__init__.py``. Services, views and the form ask
    the project's kind (``kind_for(project.task_kind)``); they never test its name.

    Votes reach a kind as a long frame with columns ``item``, ``annotator``, ``value``
    (the canonical values) and ``key`` (their keys), one row per annotation.
    """

    #: The name stored in ``Project.task_kind``.
    name: str
    #: A short human title for pages and forms.
    title: str
    #: The form widget: an ES module under ``static/``, e.g. ``"kinds/single_label.js"``.
    widget: str
    #: The form's line on which keys answer (the shell adds skip and back).
    keys_hint: str = "label hotkeys"
    #: Whether answers name the project's labels (a project then needs a label set);
    #: pairwise answers A / B / tie and needs none.
    uses_labels: bool = True

    # -- values ----------------------------------------------------------------

    @abstractmethod
    def validate(self, raw: object, context: KindContext) -> Value:
        """The canonical value of ``raw`` (as sent by the form, the API or an import).

        Raises:
            InvalidValue: with a message naming what is wrong (a label outside the
                set, an empty set the project forbids, a rating off the scale).
        """

    def for_item(self, context: KindContext, data: Mapping[str, Any]) -> KindContext:
        """The context to check an answer about the item whose fields are ``data``
        (a kind whose answers point into the item's text puts the text in it)."""
        return context

    @abstractmethod
    def key(self, value: Value) -> str:
        """The canonical key of a canonical value, at most :data:`KEY_MAX` characters."""

    def decode(self, key: str | None, stored: Value | None) -> Value | None:
        """The value of a stored row: the JSON value when present, else the key itself
        (rows written before values existed, which are all single-label)."""
        return stored if stored is not None else key

    def display(self, value: Value | None) -> str:
        """A short human rendering of a value for pages and tables."""
        return "" if value is None else str(value)

    def validate_settings(
        self, settings: Mapping[str, Any], labels: Sequence[str]
    ) -> dict[str, Any]:
        """Check the kind's own project settings; return them cleaned (defaults filled)."""
        if settings:
            raise InvalidValue(
                f"{self.name} projects take no task settings, got {sorted(settings)}",
                "task_settings",
            )
        return {}

    # -- presentation ------------------------------------------------------------

    def check_item(self, data: Mapping[str, Any], context: KindContext) -> None:
        """Refuse an item the kind cannot show (raise InvalidValue naming the field)."""
        return None

    def presentation(
        self, data: Mapping[str, Any], context: KindContext, seed: int
    ) -> dict[str, Any] | None:
        """How the form lays out an item when the kind does it itself (None: the shell
        lists the item's fields). ``seed`` is stable for one item and one viewer, so a
        random layout (pairwise's left/right order) survives a reload."""
        return None

    #: The review page's answer control: a template partial under ``templates/``, given
    #: ``choices`` (labels or :meth:`answer_choices`), ``votes`` (each with its
    #: ``value``) and ``item``. It posts the answer as ``label`` fields, which
    #: :meth:`review_answer` reads.
    review_control: str = "review/controls/choices.html"

    def review_answer(self, fields: Sequence[str]) -> object:
        """The raw answer (for :meth:`validate`) from the review form's ``label``
        fields, in form order; None when the form sent none."""
        return fields[0] if fields else None

    def answer_choices(self, context: KindContext) -> list[dict[str, Any]] | None:
        """The fixed answers a reviewer picks from, shaped like labels (``name``,
        ``hotkey``, ``description``), when they are not the project's label set; None:
        the label set."""
        return None

    def record_presentation(self, value: Value, presentation: Mapping[str, Any]) -> Value:
        """``value`` with what the server showed recorded in it (pairwise: the order).

        Raises:
            InvalidValue: when the answer contradicts what was shown.
        """
        return value

    # -- agreement and consensus -----------------------------------------------

    @abstractmethod
    def agreement(self, votes: pd.DataFrame, context: KindContext) -> list[Figure]:
        """The kind's agreement figures over ``votes`` (NaN-free: None when undefined)."""

    @abstractmethod
    def item_consensus(self, values: Sequence[Value], context: KindContext) -> ItemConsensus:
        """The consensus of one item's votes (cheap: it runs on every submit)."""

    @abstractmethod
    def consensus(self, votes: pd.DataFrame, context: KindContext, method: str) -> pd.DataFrame:
        """Consensus for many items: a frame indexed by item with ``value`` (None when
        there is none), ``key``, ``confidence`` (0..1), ``unanimous`` and ``disputed``.
        ``method`` is the project's consensus method (see :meth:`consensus_methods`)."""

    def consensus_methods(self) -> tuple[str, ...]:
        """The consensus methods this kind offers; the first is the default."""
        return ("majority",)

    def fit_consensus(
        self,
        votes: pd.DataFrame,
        context: KindContext,
        method: str,
        known: Mapping[Hashable, Value] | None = None,
    ) -> ConsensusFit:
        """The project-wide consensus the consensus job writes (for methods that fit
        the whole project at once, such as Dawid-Skene).

        ``known`` maps gold items to their known value: a method that learns the
        annotators may take those as certain truth, while each item's own row still
        says what its votes decide. The default is :meth:`consensus`, ignoring
        ``known``, with no annotator estimates.
        """
        return ConsensusFit(self.consensus(votes, context, method))

    # -- the model -------------------------------------------------------------

    #: The metric that ranks model versions, and whether higher is better.
    headline_metric: str = "macro_f1"
    headline_higher_is_better: bool = True
    #: Whether :meth:`train` gives a ``labeler.core.training.TrainedModel`` (a label
    #: classifier over the project's model inputs): the training job then adds what
    #: only such a model offers (errors, label issues, the champion on the same items),
    #: and predictions, similar items and label quality can serve it. Other kinds'
    #: models are trained, evaluated, saved and asked for uncertainty through this
    #: interface alone.
    label_classifier: bool = False

    @abstractmethod
    def targets(self, values: Sequence[Value], context: KindContext) -> np.ndarray:
        """What the model learns for these final values (1-D labels, an indicator
        matrix, numbers...)."""

    @abstractmethod
    def train(
        self,
        X: pd.DataFrame,
        values: Sequence[Value],
        context: KindContext,
        model_settings: Mapping[str, Any],
    ) -> Any:
        """A fitted, picklable model of ``values`` from the item features ``X``.
        ``model_settings``: ``inputs`` (a ModelInputs), ``estimator``, ``params``,
        ``random_state``, ``grid_search``. Raises ValueError when the values cannot
        train one (too few, one class...)."""

    @abstractmethod
    def predict(self, model: Any, X: pd.DataFrame, context: KindContext) -> list[Value]:
        """The model's canonical value for each row of ``X``."""

    @abstractmethod
    def evaluate(
        self, model: Any, X: pd.DataFrame, truth: Sequence[Value], context: KindContext
    ) -> dict[str, Any]:
        """The kind's model metrics on the test items (``truth``: their final values),
        including :attr:`headline_metric`."""

    @abstractmethod
    def baselines(
        self, train: Sequence[Value], test: Sequence[Value], context: KindContext
    ) -> dict[str, dict[str, Any]]:
        """What models that ignore the items would score on ``test``, by baseline name."""

    def item_baselines(
        self, X: pd.DataFrame, test: Sequence[Value], context: KindContext
    ) -> dict[str, dict[str, Any]]:
        """Rules of thumb that read the test items ``X`` but learn nothing (pairwise:
        "always the longer response"), by name, scored as :meth:`baselines` are; the
        training job adds them to the baselines a candidate must beat. None by default."""
        return {}

    @abstractmethod
    def human_level(self, votes: pd.DataFrame, context: KindContext) -> dict[str, Any]:
        """Each annotator's score against the leave-one-out consensus of the others,
        with the kind's own metric; ``overall`` is the weighted mean (None if unscored)."""

    @abstractmethod
    def uncertainty(
        self, model: Any, pool: pd.DataFrame, strategy: str, context: KindContext
    ) -> np.ndarray:
        """One score per pool row, 0..1, higher = more useful to label next."""

    def strategies(self) -> tuple[str, ...]:
        """The queue strategies this kind can rank by (``random`` always works)."""
        return ("random",)

    # -- serving ---------------------------------------------------------------

    def request_fields(self, context: KindContext, inputs: Mapping[str, str]) -> dict[str, str]:
        """The item fields a prediction request must send, each with its type
        (``text``, ``numeric`` or ``categorical``); ``inputs`` are the project's model
        input fields with theirs (what a model trained on the inputs reads)."""
        return dict(inputs)

    def serve(self, model: Any, X: pd.DataFrame, context: KindContext) -> Predictions:
        """The model's answer for each row of ``X`` (the :meth:`request_fields` columns):
        values, class-mix keys, confidences and the kind's extra fields.

        Raises:
            InvalidValue: (field ``task_kind``) when the kind's models cannot be served.
        """
        raise InvalidValue(f"{self.name} models are not served", "task_kind")

    def mix_key(self, value: Value, context: KindContext) -> str:
        """The category a (final or predicted) value counts under in the class mix that
        drift monitoring compares with the training mix: few categories, so the mix
        means something (the key by default)."""
        return self.key(value)

    # -- comparisons of systems (kinds whose items pit two systems against each other) --

    #: Whether the kind ranks systems (and so the project links to a ranking page).
    ranks_systems: bool = False

    def comparisons(self, items: pd.DataFrame, context: KindContext) -> pd.DataFrame | None:
        """``system_a``, ``system_b``, ``choice`` per final item (``items``: ``data``,
        ``value``), for a ranking of systems; None for kinds that compare none."""
        return None

    def order_effects(self, votes: pd.DataFrame, context: KindContext) -> pd.DataFrame | None:
        """Per annotator, how the order an item was shown in swayed their votes; None for
        kinds that show no order."""
        return None

    def preference_pairs(
        self, items: pd.DataFrame, votes: pd.DataFrame, context: KindContext, include_ties: bool
    ) -> list[dict[str, Any]] | None:
        """Final items as prompt / chosen / rejected records for preference tuning
        (``items``: ``item``, ``external_id``, ``data``, ``value``); None for other kinds."""
        return None

    # -- exports ---------------------------------------------------------------

    #: False when a value holds more than its key (the annotations export then adds a
    #: ``value`` column, written by :meth:`csv_cell`).
    value_is_key: bool = True

    def export_value(self, value: Value | None) -> Any:
        """The value as JSONL and Parquet hold it."""
        return value

    def csv_cell(self, value: Value | None) -> str:
        """The value as one CSV cell (documented per kind; :meth:`parse_csv_cell`
        reads it back exactly)."""
        return "" if value is None else str(value)

    def parse_csv_cell(self, text: str, context: KindContext) -> Value:
        """The value written by :meth:`csv_cell`, checked as :meth:`validate` does."""
        return self.validate(text, context)

    def annotation_errors(
        self, rows: Sequence[tuple[str, Any, Value, Value]], context: KindContext
    ) -> dict[str, Any] | None:
        """Error analysis of annotators' answers against a reference answer, from rows
        ``(annotator, item, reference, answer)``; None for kinds that offer none."""
        return None

    def document_formats(self) -> dict[str, str]:
        """The kind's own export formats beyond csv / jsonl / parquet: name -> media type
        (spans: ``spans_jsonl``, ``conll``). Each item is written by :meth:`document`."""
        return {}

    def document(
        self,
        fmt: str,
        external_id: str,
        data: Mapping[str, Any],
        final: Value | None,
        annotations: Sequence[tuple[str, Value]],
        context: KindContext,
    ) -> str:
        """One item in the kind's format ``fmt``: a chunk of text ending in a newline.
        ``annotations`` is ``(annotator, value)`` per annotation (empty for the items
        view); ``final`` the final value (None when there is none)."""
        raise InvalidValue(f"{self.name} projects have no export format {fmt!r}", "format")

    def one_hot(self, value: Value | None, context: KindContext) -> dict[str, int] | None:
        """Optional one-hot export columns (``label -> 0/1``), or None when the kind has none."""
        return None

"""spans: labeled spans of an item's text (named entities, PII, aspects).

The value is a list of ``{"start", "end", "label"}`` in Unicode code-point offsets,
snapped to the project's tokens, sorted, without repeats; ``[]`` means "no entities".
Its key is the value's canonical JSON (digested when long).

Settings (``Project.task_settings``): ``text_field`` (the item field annotated; the
first text field when None), ``tokenizer`` (``words`` or ``characters``) and
``overlap`` (whether spans may overlap; False by default) and ``colours`` (label ->
palette colour 0..7; a label left out takes its place in the label set).

Votes may carry a ``text`` column (the item's text): the token-level figures
(Krippendorff's alpha on IOB2 tags, token Dawid–Skene) need it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from labeler.core import (
    span_agreement,
    span_consensus,
    span_crf,
    span_errors,
    span_formats,
    span_frames,
    span_model,
    span_queue,
)
from labeler.core.collector import paused_collector
from labeler.core.kinds import _serving
from labeler.core.kinds.base import (
    Figure,
    InvalidValue,
    ItemConsensus,
    KindContext,
    Predictions,
    TaskKind,
    Value,
    bounded_key,
    canonical_json,
)
from labeler.core.span_text import TOKENIZERS, SpanError, as_tuples, check_spans

DEFAULTS: dict[str, Any] = {
    "text_field": None,
    "tokenizer": "words",
    "overlap": False,
    "colours": {},
}
#: How many colours the form's palette has (classes span-c0..span-c7 in static/kinds/spans.css).
PALETTE_SIZE = 8


def text_of(data: Mapping[str, Any], settings: Mapping[str, Any]) -> str:
    """The annotated text among an item's fields (``text_field``, else the first string)."""
    name = settings.get("text_field")
    if name:
        value = data.get(name)
        return "" if value is None else str(value)
    return next((v for v in data.values() if isinstance(v, str)), "")


def _is_tag_list(raw: object) -> bool:
    return isinstance(raw, list) and bool(raw) and all(isinstance(t, str) for t in raw)


def _check_colours(colours: object, labels: Sequence[str]) -> dict[str, int]:
    """The colours setting, checked: each key a label, each value a palette index."""
    if not isinstance(colours, Mapping):
        raise InvalidValue("colours must map labels to colours 0..7", "task_settings.colours")
    clean = {}
    for label, colour in colours.items():
        where = f"task_settings.colours.{label}"
        if label not in labels:
            raise InvalidValue(f"colours names {label!r}, which is not a label", where)
        if isinstance(colour, bool) or not isinstance(colour, int):
            raise InvalidValue(f"the colour of {label!r} must be a number 0..7", where)
        if not 0 <= colour < PALETTE_SIZE:
            raise InvalidValue(f"the colour of {label!r} must be 0..{PALETTE_SIZE - 1}", where)
        clean[str(label)] = colour
    return clean


def _texts(X: pd.DataFrame, context: KindContext) -> list[str]:
    name = context.settings.get("text_field")
    column = (
        name
        if name in X.columns
        else next(
            (c for c in X.columns if X[c].dtype == object or pd.api.types.is_string_dtype(X[c])),
            X.columns[0],
        )
    )
    return ["" if pd.isna(v) else str(v) for v in X[column]]


class SpanKind(TaskKind):
    name = "spans"
    title = "Spans (label stretches of text)"
    widget = "kinds/spans.js"
    review_control = "review/controls/spans.html"
    keys_hint = (
        "arrows move, shift+arrows extend, a label's hotkey marks, Delete removes, Enter submits"
    )
    headline_metric = "micro_f1"

    def validate_settings(
        self, settings: Mapping[str, Any], labels: Sequence[str]
    ) -> dict[str, Any]:
        if unknown := set(settings) - set(DEFAULTS):
            raise InvalidValue(f"unknown span settings {sorted(unknown)}", "task_settings")
        clean = {**DEFAULTS, **settings}
        if clean["tokenizer"] not in TOKENIZERS:
            raise InvalidValue(
                f"tokenizer must be one of {list(TOKENIZERS)}", "task_settings.tokenizer"
            )
        if not isinstance(clean["overlap"], bool):
            raise InvalidValue("overlap must be true or false", "task_settings.overlap")
        if clean["text_field"] is not None and not isinstance(clean["text_field"], str):
            raise InvalidValue("text_field must be a field name", "task_settings.text_field")
        clean["colours"] = _check_colours(clean["colours"], labels)
        return clean

    def for_item(self, context: KindContext, data: Mapping[str, Any]) -> KindContext:
        return replace(context, text=text_of(data, context.settings))

    def validate(self, raw: object, context: KindContext) -> Value:
        settings = {**DEFAULTS, **context.settings}
        try:
            if isinstance(raw, list) and _is_tag_list(raw):  # IOB2 tags, one per token
                if context.text is None:
                    raise SpanError("BIO tags need the item's text", "tags")
                return span_formats.spans_from_tag_list(
                    context.text,
                    raw,
                    context.labels,
                    settings["tokenizer"],
                    bool(settings["overlap"]),
                )
            return check_spans(
                raw,
                context.labels,
                text=context.text,
                tokenizer=settings["tokenizer"],
                overlap=bool(settings["overlap"]),
            )
        except SpanError as error:
            raise InvalidValue(str(error), error.field, allowed=list(context.labels)) from None

    def key(self, value: Value) -> str:
        return bounded_key(span_formats.spans_json(value))

    def decode(self, key: str | None, stored: Value | None) -> Value | None:
        if stored is not None:
            return stored
        return None if key is None else [] if key == "[]" else key

    def display(self, value: Value | None) -> str:
        if value is None:
            return ""
        if not value:
            return "no entities"
        return ", ".join(f"{s['label']} {s['start']}–{s['end']}" for s in value)

    # -- agreement and consensus -----------------------------------------------

    def agreement(self, votes: pd.DataFrame, context: KindContext) -> list[Figure]:
        with paused_collector():
            return self._agreement(votes, context)

    def _agreement(self, votes: pd.DataFrame, context: KindContext) -> list[Figure]:
        spans = span_frames.explode(votes)
        strict = span_agreement.pairwise_f1(votes, strict=True, spans=spans)
        lenient = span_agreement.pairwise_f1(votes, strict=False, spans=spans)
        tokenizer = {**DEFAULTS, **context.settings}["tokenizer"]
        return [
            Figure(
                "Pairwise span F1 (strict)",
                strict["overall"],
                "0..1: how often two annotators mark the same start, end and label",
                {"per_label": {k: v for k, v in strict.items() if k != "overall"}},
            ),
            Figure(
                "Pairwise span F1 (lenient)",
                lenient["overall"],
                "0..1: as strict, but overlapping spans with the same label match",
                {"per_label": {k: v for k, v in lenient.items() if k != "overall"}},
            ),
            Figure(
                "Krippendorff's alpha (tokens, IOB2)",
                span_agreement.token_alpha(votes, tokenizer, spans),
                "-1..1 over every token's tag: 1 perfect, 0 chance; at least 0.8 is reliable",
            ),
        ]

    def item_consensus(self, values: Sequence[Value], context: KindContext) -> ItemConsensus:
        overlap = bool({**DEFAULTS, **context.settings}["overlap"])
        spans, confidence, disputed = span_consensus.vote(
            values, context.dispute_threshold, overlap
        )
        unanimous = len({as_tuples(v) for v in values}) <= 1
        disputed = disputed or (context.require_unanimity and not unanimous)
        return ItemConsensus(spans if values else None, confidence, disputed, unanimous)

    def consensus_methods(self) -> tuple[str, ...]:
        return ("majority", "dawid_skene")

    def consensus(self, votes: pd.DataFrame, context: KindContext, method: str) -> pd.DataFrame:
        if method not in self.consensus_methods():
            raise InvalidValue(f"unknown consensus method {method!r}", "consensus_method")
        with paused_collector():
            return self._consensus(votes, context, method)

    def _consensus(self, votes: pd.DataFrame, context: KindContext, method: str) -> pd.DataFrame:
        overlap = bool({**DEFAULTS, **context.settings}["overlap"])
        spans = span_frames.explode(votes)
        table = span_consensus.vote_many(votes, context.dispute_threshold, overlap, spans)
        if context.require_unanimity:
            table["disputed"] = table["disputed"] | ~table["unanimous"]
        if method == "dawid_skene":
            if "text" not in votes.columns:
                raise InvalidValue(
                    "token Dawid-Skene needs the items' texts (a text column)", "consensus_method"
                )
            tokenizer = {**DEFAULTS, **context.settings}["tokenizer"]
            found = span_consensus.dawid_skene(span_frames.token_table(votes, tokenizer, spans))
            table["value"] = [found[item][0] for item in table.index]
            table["confidence"] = [found[item][1] for item in table.index]
            table["disputed"] = table["disputed"] | (
                table["confidence"] < context.dispute_threshold
            )
        values = table["value"].tolist()
        written = span_formats.spans_json_many([[] if v is None else v for v in values])
        table["key"] = [
            None if v is None else bounded_key(j) for v, j in zip(values, written, strict=True)
        ]
        return table[["value", "key", "confidence", "unanimous", "disputed"]]

    # -- the model -------------------------------------------------------------

    def targets(self, values: Sequence[Value], context: KindContext) -> np.ndarray:
        return np.asarray([canonical_json(v) for v in values], dtype=object)

    def train(
        self,
        X: pd.DataFrame,
        values: Sequence[Value],
        context: KindContext,
        model_settings: Mapping[str, Any],
    ) -> Any:
        tokenizer = {**DEFAULTS, **context.settings}["tokenizer"]
        texts = _texts(X, context)
        # A CRF (deterministic L-BFGS, so no random_state): 0.45-0.48 span F1 on WNUT-16
        # against the linear token model's 0.35-0.39 (benchmarks/README.md).
        tagger = span_crf.train_crf(texts, values, tokenizer)
        tagger.dictionary = span_model.entity_dictionary(texts, values)
        return tagger

    def predict(self, model: Any, X: pd.DataFrame, context: KindContext) -> list[Value]:
        return list(model.predict(_texts(X, context)))

    def evaluate(
        self, model: Any, X: pd.DataFrame, truth: Sequence[Value], context: KindContext
    ) -> dict[str, Any]:
        texts = _texts(X, context)
        metrics = span_model.span_scores(truth, model.predict(texts))
        guessed = span_model.mark_dictionary(model.dictionary, texts)
        metrics["dictionary_baseline"] = span_model.span_scores(truth, guessed)
        return metrics

    def baselines(
        self, train: Sequence[Value], test: Sequence[Value], context: KindContext
    ) -> dict[str, dict[str, Any]]:
        """ "no spans" here; the dictionary baseline needs the texts, so :meth:`evaluate`
        reports it (``dictionary_baseline``) beside the model's own figures."""
        return {"no_spans": span_model.span_scores(test, [[] for _ in test])}

    def human_level(self, votes: pd.DataFrame, context: KindContext) -> dict[str, Any]:
        return span_consensus.leave_one_out_f1(votes, context.dispute_threshold)

    def uncertainty(
        self, model: Any, pool: pd.DataFrame, strategy: str, context: KindContext
    ) -> np.ndarray:
        texts = _texts(pool, context)
        if strategy == "random":
            return np.random.default_rng(0).random(len(texts))
        if strategy not in self.strategies():
            raise InvalidValue(f"unknown strategy {strategy!r}", "strategy")
        return span_model.uncertainty(model, texts, strategy)

    def strategies(self) -> tuple[str, ...]:
        """The first is what the queue ranks by unless the project picks another: the
        expected number of entity tokens needed the fewest texts on WNUT-16."""
        return (*span_queue.SCORERS, "random")

    def request_fields(self, context: KindContext, inputs: Mapping[str, str]) -> dict[str, str]:
        """The annotated text: ``text_field``, else the first text model input, else ``text``."""
        named = context.settings.get("text_field")
        texts = [name for name, kind in inputs.items() if kind == "text"]
        return {str(named or (texts[0] if texts else "text")): "text"}

    def serve(self, model: Any, X: pd.DataFrame, context: KindContext) -> Predictions:
        return _serving.spans(model, _texts(X, context), lambda v: self.mix_key(v, context))

    def mix_key(self, value: Value, context: KindContext) -> str:
        """The labels the answer uses, not where: ``'["PER"]'``, ``'[]'`` for none."""
        return _serving.span_labels(value)

    # -- exports ---------------------------------------------------------------

    def csv_cell(self, value: Value | None) -> str:
        """The spans' canonical JSON (``[]`` for no entities, empty for no answer)."""
        return "" if value is None else canonical_json(value)

    def parse_csv_cell(self, text: str, context: KindContext) -> Value:
        """The spans' JSON, or IOB2 tags separated by spaces (one per token)."""
        if not text.lstrip().startswith("["):
            return self.validate(text.split(), context)
        try:
            raw = json.loads(text)
        except ValueError:
            raise InvalidValue(
                "spans must be a JSON list of {start, end, label}, or BIO tags", "spans"
            ) from None
        return self.validate(raw, context)

    def annotation_errors(
        self, rows: Sequence[tuple[str, Any, Value, Value]], context: KindContext
    ) -> dict[str, Any] | None:
        """Missed, spurious, mislabeled and mis-bounded spans per annotator, and the
        label confusion (:func:`labeler.core.span_errors.error_report`)."""
        return span_errors.error_report((a, i, r or [], v or []) for a, i, r, v in rows)

    def document_formats(self) -> dict[str, str]:
        return {"spans_jsonl": "application/x-ndjson", "conll": "text/plain; charset=utf-8"}

    def document(
        self,
        fmt: str,
        external_id: str,
        data: Mapping[str, Any],
        final: Value | None,
        annotations: Sequence[tuple[str, Value]],
        context: KindContext,
    ) -> str:
        """``spans_jsonl``: the record spaCy and Prodigy read (``text``, ``tokens``,
        ``spans``) with ``id``: in the items view one line per item with the final
        spans and ``answered`` (whether there is a final answer); in the annotations
        view one line per annotation with its ``annotator``, which labeler's JSONL
        import reads back (mapping: id, text, label ``spans``, annotator).
        ``conll``: ``# id = ...`` (and ``# columns = final alice ...``), then one line
        per token: its tag in the final spans, then in each annotator's."""
        tokenizer = {**DEFAULTS, **context.settings}["tokenizer"]
        text = text_of(data, context.settings)
        if fmt == "spans_jsonl":
            if not annotations:
                record = span_formats.jsonl_record(text, final or [], tokenizer)
                line = {"id": external_id, **record, "answered": final is not None}
                return json.dumps(line, ensure_ascii=False) + "\n"
            lines = []
            for name, value in annotations:
                record = span_formats.jsonl_record(text, value or [], tokenizer)
                line = {"id": external_id, "annotator": name, **record}
                lines.append(json.dumps(line, ensure_ascii=False) + "\n")
            return "".join(lines)
        if fmt == "conll":
            comments = [f"id = {' '.join(external_id.split())}"]
            columns = [final or [], *(value for _, value in annotations)]
            if annotations:
                names = ["final", *(" ".join(name.split()) for name, _ in annotations)]
                comments.append("columns = " + " ".join(names))
            return span_formats.conll_block(text, columns, tokenizer, comments)
        return super().document(fmt, external_id, data, final, annotations, context)

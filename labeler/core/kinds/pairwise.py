"""pairwise: which of two responses to a prompt is better, or a tie.

The value is ``{"choice": "A" | "B" | "tie" | "both_bad", "strength": "slightly" |
"much", "shown": "AB" | "BA"}``; only ``choice`` is required. ``shown`` is the order
the annotator saw (``"AB"``: A on the left), ``strength`` how much better (a project
option, for A or B only), ``"both_bad"`` another project option. The key is the
choice alone: the order shown and the strength do not make a different answer.

Votes are always in A/B terms, never left/right, so an order shown at random cannot
bias the consensus; :mod:`labeler.core.position_bias` measures what the order did.

Settings (``Project.task_settings``): ``both_bad`` (bool), ``strength`` (bool) and
``fields``, which item field plays each role (:data:`ROLES`; by default the role's
own name).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from labeler.core import (
    agreement,
    consensus,
    evaluation,
    position_bias,
    preference_model,
    preference_records,
)
from labeler.core.kinds import _serving
from labeler.core.kinds.base import (
    ConsensusFit,
    Figure,
    InvalidValue,
    ItemConsensus,
    KindContext,
    Predictions,
    TaskKind,
    Value,
)
from labeler.core.kinds.single_label import (
    consensus_table,
    figure_value,
    gold_anchored_fit,
    label_frame,
    majority_consensus,
)
from labeler.core.preference_records import _system, _text

CHOICES = ("A", "B", "tie")
BOTH_BAD = "both_bad"
STRENGTHS = ("slightly", "much")
ORDERS = ("AB", "BA")
ROLES = preference_model.ROLES
REQUIRED_ROLES = ("prompt", "response_a", "response_b")
_WORDS = {"A": "A better", "B": "B better", "tie": "tie", BOTH_BAD: "both bad"}


def allowed_choices(context: KindContext) -> tuple[str, ...]:
    return (*CHOICES, BOTH_BAD) if context.settings.get("both_bad") else CHOICES


def fields(context: KindContext) -> dict[str, str]:
    """Item field name by role (prompt, context, response_a, ...)."""
    return {role: str(context.settings.get("fields", {}).get(role, role)) for role in ROLES}


class Pairwise(TaskKind):
    name = "pairwise"
    title = "Pairwise preference (which of two responses is better)"
    widget = "kinds/pairwise.js"
    keys_hint = "1 or ← left better, 2 or → right better, 3 tie (4 both bad)"
    headline_metric = "accuracy"
    ranks_systems = True
    value_is_key = False  # the order shown and the strength ride beside the choice
    uses_labels = False  # the answers are A / B / tie, not the project's labels

    # -- values ----------------------------------------------------------------

    def validate(self, raw: object, context: KindContext) -> Value:
        answer = {"choice": raw} if isinstance(raw, str) else raw
        if not isinstance(answer, Mapping):
            raise InvalidValue("a pairwise answer is a choice or an object with 'choice'")
        unknown = set(answer) - {"choice", "strength", "shown"}
        if unknown:
            raise InvalidValue(f"unknown answer fields {sorted(unknown)}", "value")
        choice = answer.get("choice")
        if choice not in allowed_choices(context):
            raise InvalidValue(
                f"choice {choice!r} is not one of {list(allowed_choices(context))}",
                "choice",
                allowed=list(allowed_choices(context)),
            )
        value: dict[str, str] = {"choice": str(choice)}
        strength = answer.get("strength")
        if strength is not None:
            if not context.settings.get("strength"):
                raise InvalidValue("this project does not ask for a strength", "strength")
            if choice not in ("A", "B") or strength not in STRENGTHS:
                raise InvalidValue(
                    f"strength is one of {list(STRENGTHS)}, for a choice of A or B",
                    "strength",
                )
            value["strength"] = str(strength)
        shown = answer.get("shown")
        if shown is not None:
            if shown not in ORDERS:
                raise InvalidValue(f"shown is one of {list(ORDERS)}", "shown")
            value["shown"] = str(shown)
        return value

    def key(self, value: Value) -> str:
        return str(value["choice"])

    def decode(self, key: str | None, stored: Value | None) -> Value | None:
        if stored is not None:
            return stored
        return None if key is None else {"choice": key}

    def display(self, value: Value | None) -> str:
        if value is None:
            return ""
        text = _WORDS.get(value["choice"], str(value["choice"]))
        if "strength" in value:
            text += f" ({value['strength']})"
        return text

    def validate_settings(
        self, settings: Mapping[str, Any], labels: Sequence[str]
    ) -> dict[str, Any]:
        unknown = set(settings) - {"both_bad", "strength", "fields"}
        if unknown:
            raise InvalidValue(f"unknown pairwise settings {sorted(unknown)}", "task_settings")
        names = settings.get("fields") or {}
        if not isinstance(names, Mapping) or set(names) - set(ROLES):
            raise InvalidValue(
                f"fields maps roles {list(ROLES)} to item field names", "task_settings.fields"
            )
        if not all(isinstance(v, str) and v for v in names.values()):
            raise InvalidValue("each field name is a non-empty string", "task_settings.fields")
        return {
            "both_bad": bool(settings.get("both_bad", False)),
            "strength": bool(settings.get("strength", False)),
            "fields": {role: str(names.get(role, role)) for role in ROLES},
        }

    # -- presentation ------------------------------------------------------------

    def check_item(self, data: Mapping[str, Any], context: KindContext) -> None:
        names = fields(context)
        for role in REQUIRED_ROLES:
            if not _text(data.get(names[role])).strip():
                raise InvalidValue(f"a pairwise item needs a {role.replace('_', ' ')}", names[role])

    def presentation(
        self, data: Mapping[str, Any], context: KindContext, seed: int
    ) -> dict[str, Any] | None:
        """Prompt, context and the two responses in an order drawn from ``seed``
        (left/right, half the viewers each way); the systems are not shown."""
        names = fields(context)
        shown = ORDERS[seed % 2]
        slot = {
            "A": _text(data.get(names["response_a"])),
            "B": _text(data.get(names["response_b"])),
        }
        return {
            "layout": "pair",
            "shown": shown,
            "prompt": _text(data.get(names["prompt"])),
            "context": _text(data.get(names["context"])),
            "left": slot[shown[0]],
            "right": slot[shown[1]],
        }

    def answer_choices(self, context: KindContext) -> list[dict[str, Any]] | None:
        return [
            {"name": choice, "hotkey": str(n), "description": _WORDS[choice]}
            for n, choice in enumerate(allowed_choices(context), start=1)
        ]

    def record_presentation(self, value: Value, presentation: Mapping[str, Any]) -> Value:
        shown = presentation.get("shown")
        if shown not in ORDERS:
            return value
        if value.get("shown", shown) != shown:
            raise InvalidValue(
                f"shown {value['shown']!r} is not the order you were shown ({shown!r})", "shown"
            )
        return {**value, "shown": shown}

    # -- agreement and consensus -----------------------------------------------

    def agreement(self, votes: pd.DataFrame, context: KindContext) -> list[Figure]:
        frame = label_frame(votes)
        people = evaluation.human_level_performance(frame)
        return [
            Figure(
                "Krippendorff's alpha (nominal, on A / B / tie)",
                figure_value(agreement.krippendorff_alpha(frame)),
                "-1..1: 1 perfect, 0 chance; at least 0.8 is reliable, 0.667 tentative",
            ),
            Figure(
                "Percent agreement",
                figure_value(agreement.percent_agreement(frame)),
                "0..1: share of annotator pairs giving the same choice (not chance-corrected)",
            ),
            Figure(
                "Agreement with the others' majority",
                people["overall"],
                "0..1: how often an annotator's choice matches the majority of the others "
                "on the same pair (own vote left out); per annotator in the detail",
                {"per_annotator": people["per_annotator"]},
            ),
        ]

    def item_consensus(self, values: Sequence[Value], context: KindContext) -> ItemConsensus:
        """Majority of choices; a tie between choices has no winner and is disputed."""
        vote = majority_consensus([str(v["choice"]) for v in values], context)
        value = None if vote.value is None else {"choice": vote.value}
        return dataclasses.replace(vote, value=value)

    def consensus_methods(self) -> tuple[str, ...]:
        return ("majority", "dawid_skene")

    def consensus(self, votes: pd.DataFrame, context: KindContext, method: str) -> pd.DataFrame:
        frame = label_frame(votes)
        if method == "dawid_skene":
            items = consensus.dawid_skene(frame).items
        elif method == "majority":
            items = consensus.majority_vote(frame)
        else:
            raise InvalidValue(f"unknown consensus method {method!r}", "consensus_method")
        return consensus_table(items, frame, context, _choice)

    def fit_consensus(
        self,
        votes: pd.DataFrame,
        context: KindContext,
        method: str,
        known: Mapping[Hashable, Value] | None = None,
    ) -> ConsensusFit:
        """Dawid-Skene over the choices with gold answers anchoring each annotator, as
        single-label's; other methods: :meth:`consensus`."""
        if method != "dawid_skene":
            return ConsensusFit(self.consensus(votes, context, method))
        return gold_anchored_fit(self, votes, context, known, _choice)

    # -- the model -------------------------------------------------------------

    def targets(self, values: Sequence[Value], context: KindContext) -> np.ndarray:
        """1.0 where A won, 0.0 where B won, NaN for a tie or both bad (not learnt)."""
        return np.asarray(
            [{"A": 1.0, "B": 0.0}.get(str(v["choice"]), np.nan) for v in values], dtype=float
        )

    def train(
        self,
        X: pd.DataFrame,
        values: Sequence[Value],
        context: KindContext,
        model_settings: Mapping[str, Any],
    ) -> Any:
        target = self.targets(values, context)
        decided = ~np.isnan(target)
        return preference_model.PreferenceModel(
            fields(context), C=float(model_settings.get("params", {}).get("C", 1.0))
        ).fit(X[decided], target[decided])

    def predict(self, model: Any, X: pd.DataFrame, context: KindContext) -> list[Value]:
        return [{"choice": "A" if p >= 0.5 else "B"} for p in model.predict_proba(X)]

    def evaluate(
        self, model: Any, X: pd.DataFrame, truth: Sequence[Value], context: KindContext
    ) -> dict[str, Any]:
        target = self.targets(truth, context)
        decided = ~np.isnan(target)
        return preference_model.evaluate(model, X[decided], target[decided])

    def baselines(
        self, train: Sequence[Value], test: Sequence[Value], context: KindContext
    ) -> dict[str, dict[str, Any]]:
        """The majority side of the training votes, scored on the decided test pairs
        ("always the longer response" needs the texts: :meth:`item_baselines`)."""
        seen = self.targets(train, context)
        truth = self.targets(test, context)
        truth = truth[~np.isnan(truth)]
        seen = seen[~np.isnan(seen)]
        side = 0.0 if len(seen) and seen.mean() < 0.5 else 1.0
        accuracy = float((truth == side).mean()) if len(truth) else None
        return {"majority_side": {"side": "A" if side else "B", "accuracy": accuracy}}

    def item_baselines(
        self, X: pd.DataFrame, test: Sequence[Value], context: KindContext
    ) -> dict[str, dict[str, Any]]:
        """The rule "always the longer response" (in characters; equal lengths count half
        right), scored on the decided test pairs: a model that cannot beat it has learnt little
        beyond "longer is better", so it waits for a person instead of serving."""
        target = self.targets(test, context)
        decided = ~np.isnan(target)
        side = preference_model.longer(X[decided], fields(context))
        accuracy = preference_model.longer_response_accuracy(side, target[decided])
        return {"longer_response": {"accuracy": accuracy, "n": int(decided.sum())}}

    def human_level(self, votes: pd.DataFrame, context: KindContext) -> dict[str, Any]:
        return evaluation.human_level_performance(label_frame(votes))

    def uncertainty(
        self, model: Any, pool: pd.DataFrame, strategy: str, context: KindContext
    ) -> np.ndarray:
        """``1 - |2p - 1|``: 1 for a pair the model calls even, 0 for a sure one."""
        if strategy == "random":
            return np.random.default_rng(0).random(len(pool))
        p = np.asarray(model.predict_proba(pool), dtype=float)
        return np.asarray(1.0 - np.abs(2.0 * p - 1.0))

    def strategies(self) -> tuple[str, ...]:
        return ("random", "least_confident")

    def request_fields(self, context: KindContext, inputs: Mapping[str, str]) -> dict[str, str]:
        """The prompt and the two responses (the preference model reads nothing else)."""
        names = fields(context)
        return {names[role]: "text" for role in REQUIRED_ROLES}

    def serve(self, model: Any, X: pd.DataFrame, context: KindContext) -> Predictions:
        return _serving.preferences(model, X)

    # -- comparisons of systems ----------------------------------------------------

    def comparisons(self, items: pd.DataFrame, context: KindContext) -> pd.DataFrame | None:
        names = fields(context)
        return pd.DataFrame(
            {
                "system_a": [_system(d.get(names["system_a"])) for d in items["data"]],
                "system_b": [_system(d.get(names["system_b"])) for d in items["data"]],
                "choice": [None if v is None else v["choice"] for v in items["value"]],
            }
        )

    def order_effects(self, votes: pd.DataFrame, context: KindContext) -> pd.DataFrame | None:
        return position_bias.report(
            pd.DataFrame(
                {
                    "annotator": votes["annotator"],
                    "choice": [v["choice"] for v in votes["value"]],
                    "shown": [v.get("shown") for v in votes["value"]],
                }
            )
        )

    def preference_pairs(
        self, items: pd.DataFrame, votes: pd.DataFrame, context: KindContext, include_ties: bool
    ) -> list[dict[str, Any]] | None:
        return preference_records.preference_pairs(items, votes, fields(context), include_ties)

    # -- exports ---------------------------------------------------------------

    def csv_cell(self, value: Value | None) -> str:
        """The choice, then ``:strength`` and ``@shown`` when present: ``A:much@BA``."""
        if value is None:
            return ""
        cell = str(value["choice"])
        if "strength" in value:
            cell += ":" + str(value["strength"])
        if "shown" in value:
            cell += "@" + str(value["shown"])
        return cell

    def parse_csv_cell(self, text: str, context: KindContext) -> Value:
        rest, _, shown = text.partition("@")
        choice, _, strength = rest.partition(":")
        raw: dict[str, str] = {"choice": choice}
        if strength:
            raw["strength"] = strength
        if shown:
            raw["shown"] = shown
        return self.validate(raw, context)


def _choice(key: Any) -> Value:
    return {"choice": key}

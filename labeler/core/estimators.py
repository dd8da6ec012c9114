"""The estimators a project may choose, their parameters, and the grids searched.

Pure core: scikit-learn only. :func:`validate_params` answers a bad setting with a
message a user can act on, before any training starts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.naive_bayes import ComplementNB, GaussianNB
from sklearn.svm import LinearSVC

from labeler.core.model_inputs import ModelInputs

# Builds an estimator from its parameters, the model inputs and a seed.
Factory = Callable[[Mapping[str, Any], ModelInputs, int], Any]


@dataclass(frozen=True)
class ParamSpec:
    """One allowed hyper-parameter: its type and a closed range, or a list of choices."""

    kind: type = float
    low: float | None = None
    high: float | None = None
    choices: tuple[object, ...] = ()
    allow_none: bool = False

    def check(self, name: str, value: object) -> None:
        """Raise ValueError naming ``name`` when ``value`` is not allowed."""
        if self.choices:
            if value not in self.choices:
                raise ValueError(f"parameter {name!r}: {value!r} not one of {list(self.choices)}")
            return
        if value is None and self.allow_none:
            return
        numeric_ok = self.kind is float and isinstance(value, int)
        if isinstance(value, bool) or not (isinstance(value, self.kind) or numeric_ok):
            raise ValueError(f"parameter {name!r}: expected {self.kind.__name__}, got {value!r}")
        number = float(value)  # type: ignore[arg-type]
        if (self.low is not None and number < self.low) or (
            self.high is not None and number > self.high
        ):
            raise ValueError(f"parameter {name!r}: {value!r} outside [{self.low}, {self.high}]")


@dataclass(frozen=True)
class EstimatorSpec:
    """How to build one allow-listed estimator and which hyper-parameters it takes."""

    factory: Factory
    params: Mapping[str, ParamSpec]
    description: str


def _naive_bayes(params: Mapping[str, Any], inputs: ModelInputs, seed: int) -> Any:
    if inputs.numeric and not (inputs.text or inputs.categorical):
        return GaussianNB(var_smoothing=params.get("var_smoothing", 1e-9))
    return ComplementNB(alpha=params.get("alpha", 1.0))


_CLASS_WEIGHT = ParamSpec(choices=("balanced", None))


# Labels are usually imbalanced; unweighted linear models then predict only the big
# label for the first hundreds of labels (SMS spam, 500 labels: macro-F1 0.46 vs 0.85).
_BALANCED = {"class_weight": "balanced"}


ESTIMATORS: dict[str, EstimatorSpec] = {
    "logistic_regression": EstimatorSpec(
        lambda p, _, seed: LogisticRegression(
            **{"max_iter": 2000, **_BALANCED, **p}, random_state=seed
        ),
        {"C": ParamSpec(float, 1e-4, 1e4), "class_weight": _CLASS_WEIGHT,
         "max_iter": ParamSpec(int, 50, 10_000)},
        "logistic regression (default), class_weight balanced unless set",
    ),
    "linear_svm": EstimatorSpec(
        lambda p, _, seed: CalibratedClassifierCV(
            LinearSVC(**{**_BALANCED, **p}, max_iter=10_000, random_state=seed), cv=3
        ),
        {"C": ParamSpec(float, 1e-4, 1e4), "class_weight": _CLASS_WEIGHT},
        "linear SVM, class_weight balanced unless set, sigmoid-calibrated probabilities",
    ),
    "naive_bayes": EstimatorSpec(
        _naive_bayes,
        {"alpha": ParamSpec(float, 1e-4, 100.0), "var_smoothing": ParamSpec(float, 1e-12, 1.0)},
        "complement naive Bayes (alpha); GaussianNB (var_smoothing) for numeric-only inputs",
    ),
    "random_forest": EstimatorSpec(
        lambda p, _, seed: RandomForestClassifier(**p, random_state=seed),
        {"n_estimators": ParamSpec(int, 10, 1000), "class_weight": _CLASS_WEIGHT,
         "max_depth": ParamSpec(int, 1, 500, allow_none=True),
         "min_samples_leaf": ParamSpec(int, 1, 100)},
        "random forest",
    ),
    "sgd": EstimatorSpec(
        lambda p, _, seed: SGDClassifier(loss="log_loss", **{**_BALANCED, **p}, random_state=seed),
        {"alpha": ParamSpec(float, 1e-8, 1.0), "class_weight": _CLASS_WEIGHT,
         "penalty": ParamSpec(choices=("l2", "l1", "elasticnet")),
         "max_iter": ParamSpec(int, 5, 10_000)},
        "linear model by SGD on log loss, class_weight balanced unless set",
    ),
}  # fmt: skip


GRIDS: dict[str, dict[str, list[Any]]] = {
    "logistic_regression": {"C": [0.1, 1.0, 10.0]},
    "linear_svm": {"C": [0.1, 1.0, 10.0]},
    "naive_bayes": {"alpha": [0.1, 0.3, 1.0]},
    "random_forest": {"n_estimators": [100, 300], "min_samples_leaf": [1, 3]},
    "sgd": {"alpha": [1e-5, 1e-4, 1e-3]},
}


def validate_params(estimator: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """Check hyper-parameters against the allow-list; return them as a plain dict.

    Raises:
        ValueError: unknown estimator, or a parameter that is unknown, of the wrong
            type, or out of range; the message names it.
    """
    spec = ESTIMATORS.get(estimator)
    if spec is None:
        raise ValueError(f"estimator: unknown {estimator!r}; choose one of {sorted(ESTIMATORS)}")
    if not isinstance(params, Mapping):
        raise ValueError(f"parameters for {estimator!r} must be an object")
    for name, value in params.items():
        if name not in spec.params:
            raise ValueError(
                f"parameter {name!r}: not allowed for {estimator}; allowed {sorted(spec.params)}"
            )
        spec.params[name].check(name, value)
    return dict(params)

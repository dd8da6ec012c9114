"""Build and fit the project's model: one scikit-learn Pipeline from the model inputs.

Pure core: pandas, numpy and scikit-learn only (skops for artifacts). The caller
passes the final labels of train-split, non-ambiguous items; nothing here knows
about the database.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import skops.io
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.metrics import f1_score, make_scorer
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.naive_bayes import ComplementNB, GaussianNB
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, MinMaxScaler, OneHotEncoder, StandardScaler
from sklearn.svm import LinearSVC
from threadpoolctl import threadpool_limits

_INPUT_KINDS = ("text", "numeric", "categorical")


@dataclass(frozen=True)
class ModelInputs:
    """Which item fields feed the model, by kind; a field may appear under one kind only.

    JSON shape (``to_dict``/``from_dict``): ``{"text": [...], "numeric": [...],
    "categorical": [...]}``.
    """

    text: tuple[str, ...] = ()
    numeric: tuple[str, ...] = ()
    categorical: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        seen: dict[str, str] = {}
        for kind in _INPUT_KINDS:
            names = getattr(self, kind)
            if isinstance(names, str) or not isinstance(names, tuple | list):
                raise ValueError(f"model inputs: {kind!r} must be a list of field names")
            object.__setattr__(self, kind, tuple(names))
            for name in names:
                if not isinstance(name, str) or not name.strip():
                    raise ValueError(f"model inputs: {kind!r} has a bad field name {name!r}")
                if name in seen:
                    raise ValueError(
                        f"model inputs: field {name!r} listed under {seen[name]!r} and {kind!r}"
                    )
                seen[name] = kind

    @property
    def fields(self) -> tuple[str, ...]:
        """All field names, text first, then numeric, then categorical."""
        return self.text + self.numeric + self.categorical

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ModelInputs:
        """Read the JSON shape; missing kinds are empty, unknown keys are an error."""
        if not isinstance(data, Mapping):
            raise ValueError("model inputs: expected an object with text/numeric/categorical")
        unknown = sorted(str(key) for key in data if key not in _INPUT_KINDS)
        if unknown:
            raise ValueError(f"model inputs: unknown key(s) {unknown}; use {list(_INPUT_KINDS)}")
        return cls(**{kind: data.get(kind) or () for kind in _INPUT_KINDS})

    def to_dict(self) -> dict[str, list[str]]:
        """The JSON shape, every kind present."""
        return {kind: list(getattr(self, kind)) for kind in _INPUT_KINDS}


def prepare_frame(X: pd.DataFrame, inputs: Mapping[str, Sequence[str]]) -> pd.DataFrame:
    """Coerce the model's columns: text to str (missing -> ""), numeric to float
    (unparseable -> NaN, imputed later), categorical to str (missing -> "").

    Runs as the pipeline's first step, so a served model gets the same treatment.
    """
    if not isinstance(X, pd.DataFrame):
        raise ValueError(f"model input must be a pandas DataFrame, got {type(X).__name__}")
    wanted = [name for kind in _INPUT_KINDS for name in inputs.get(kind, ())]
    missing = [name for name in wanted if name not in X.columns]
    if missing:
        raise ValueError(f"model input lacks field(s) {missing}")
    out: dict[str, pd.Series] = {}
    for name in inputs.get("text", ()):
        out[name] = X[name].fillna("").astype(str)
    for name in inputs.get("numeric", ()):
        out[name] = pd.to_numeric(X[name], errors="coerce").astype(float)
    for name in inputs.get("categorical", ()):
        out[name] = X[name].astype(object).where(X[name].notna(), "").astype(str)
    return pd.DataFrame(out, index=X.index)


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


Factory = Callable[[Mapping[str, Any], ModelInputs, int], Any]


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
"""The small grid ``train(grid_search=True)`` searches, per estimator (3-4 candidates)."""


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


MIN_EXAMPLES_PER_CLASS: dict[str, int] = {"linear_svm": 2}
"""Fewer examples of any label than this and training refuses (default 1): the
calibrated SVM cross-validates, so each label must appear in 2 folds."""


@dataclass
class TrainedModel:
    """A fitted pipeline and what it was fitted on.

    ``classes`` are the labels in the column order of ``predict_proba``; ``n_train``
    counts the training examples; ``params`` are the estimator's hyper-parameters
    actually used (after grid search, the chosen ones); ``notes`` say what was
    adjusted or skipped and why.
    """

    pipeline: Pipeline
    classes: list[str]
    n_train: int
    estimator: str = "logistic_regression"
    params: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    inputs: ModelInputs = field(default_factory=ModelInputs)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Class probabilities, one row per item, columns in ``classes`` order (0..1)."""
        return np.asarray(self.pipeline.predict_proba(X), dtype=float)


def _text_vectoriser() -> TfidfVectorizer:
    # Sublinear tf and unigrams+bigrams suit short texts; min_df=1 because early
    # rounds have few labels, and max_features bounds memory on big pools.
    return TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2), max_features=200_000)


def _features(inputs: ModelInputs, non_negative: bool) -> ColumnTransformer:
    parts: list[tuple[str, Any, Any]] = [
        (f"text_{name}", _text_vectoriser(), name) for name in inputs.text
    ]
    if inputs.numeric:
        scaler = MinMaxScaler(clip=True) if non_negative else StandardScaler()
        imputer = SimpleImputer(strategy="median", keep_empty_features=True)
        numeric = Pipeline([("impute", imputer), ("scale", scaler)])
        parts.append(("numeric", numeric, list(inputs.numeric)))
    if inputs.categorical:
        encoder = OneHotEncoder(handle_unknown="ignore")
        parts.append(("categorical", encoder, list(inputs.categorical)))
    return ColumnTransformer(parts, sparse_threshold=0.3)


def build_pipeline(
    inputs: ModelInputs,
    estimator: str = "logistic_regression",
    params: Mapping[str, Any] | None = None,
    random_state: int = 0,
) -> Pipeline:
    """An unfitted Pipeline: prepare columns, featurise each field, then the estimator.

    Every text field gets its own TF-IDF vectoriser; numeric fields are
    median-imputed and standardised; categorical fields are one-hot encoded
    (unknown categories ignored). Input is a DataFrame with one column per field.
    Naive Bayes on numeric fields scales them to 0..1 (ComplementNB needs
    non-negative input) and, with numeric fields only, is GaussianNB instead.
    """
    if not inputs.fields:
        raise ValueError("model inputs: name at least one text, numeric or categorical field")
    spec = ESTIMATORS.get(estimator)
    if spec is None:
        raise ValueError(f"estimator: unknown {estimator!r}; choose one of {sorted(ESTIMATORS)}")
    chosen = validate_params(estimator, params or {})
    prepare = FunctionTransformer(prepare_frame, kw_args={"inputs": inputs.to_dict()})
    return Pipeline(
        [
            ("prepare", prepare),
            ("features", _features(inputs, non_negative=estimator == "naive_bayes")),
            ("clf", spec.factory(chosen, inputs, random_state)),
        ]
    )


def single_blas_thread() -> Any:
    """Context: BLAS on one thread while fitting.

    lbfgs and friends make many small dense products that extra BLAS threads only
    slow down: 600 SMS texts fit in 0.05 s on one thread, 0.2-1.9 s on two
    (2-core machine, busy). Jobs and web workers already run in parallel.
    """
    return threadpool_limits(limits=1, user_api="blas")


def _check_labels(y: np.ndarray, estimator: str) -> tuple[list[str], int]:
    """Sorted labels in use and the smallest label count; ValueError if too few."""
    counts = pd.Series(y, dtype=object).value_counts()
    if len(counts) < 2:
        raise ValueError(f"training needs at least 2 labels in use, got {list(counts.index)}")
    minimum = MIN_EXAMPLES_PER_CLASS.get(estimator, 1)
    rare = sorted(str(label) for label, n in counts.items() if n < minimum)
    if rare:
        raise ValueError(
            f"too few examples for {estimator}: labels {rare} have fewer than {minimum} each"
        )
    return sorted(str(label) for label in counts.index), int(counts.min())


def _grid_search(
    pipeline: Pipeline, X: pd.DataFrame, y: np.ndarray, estimator: str, cv: int, seed: int
) -> tuple[dict[str, Any], list[str]]:
    """Fit ``pipeline`` in place with the best grid point; return it and a note."""
    grid = dict(GRIDS[estimator])
    if isinstance(pipeline.named_steps["clf"], GaussianNB):
        grid = {"var_smoothing": [1e-9, 1e-7, 1e-5]}
    min_count = int(pd.Series(y).value_counts().min())
    if min_count < cv:
        pipeline.fit(X, y)
        return {}, [f"grid search skipped: a label has {min_count} < cv={cv} examples"]
    search = GridSearchCV(
        pipeline,
        {f"clf__{name}": values for name, values in grid.items()},
        scoring=make_scorer(f1_score, average="macro", zero_division=0, pos_label=None),
        cv=StratifiedKFold(n_splits=cv, shuffle=True, random_state=seed),
        refit=False,
    )
    search.fit(X, y)
    pipeline.set_params(**search.best_params_)
    pipeline.fit(X, y)
    best = {key.removeprefix("clf__"): value for key, value in search.best_params_.items()}
    return best, [f"grid search over {grid}: best {best}, cv macro-F1 {search.best_score_:.3f}"]


def train(
    X: pd.DataFrame,
    y: Sequence[str],
    inputs: ModelInputs,
    estimator: str = "logistic_regression",
    params: Mapping[str, Any] | None = None,
    grid_search: bool = False,
    cv: int = 3,
    random_state: int = 0,
) -> TrainedModel:
    """Fit a pipeline on exactly the rows given (final labels of train items).

    ``grid_search=True`` tries the small grid in ``GRIDS[estimator]`` with
    stratified ``cv``-fold cross-validation on macro-F1, and falls back to the
    given parameters, with a note, when some label has fewer than ``cv`` examples.

    Raises:
        ValueError: fewer than 2 labels, a label with fewer than
            ``MIN_EXAMPLES_PER_CLASS[estimator]`` examples, X and y of different lengths, or
            bad inputs/estimator/parameters.
    """
    labels = np.asarray([str(label) for label in y], dtype=object)
    if len(labels) != len(X):
        raise ValueError(f"X has {len(X)} rows but y has {len(labels)} labels")
    classes, min_count = _check_labels(labels, estimator)
    pipeline = build_pipeline(inputs, estimator, params, random_state)
    if estimator == "linear_svm" and min_count < 6:
        # Calibration folds must each hold every label, also inside grid-search folds.
        pipeline.set_params(clf__cv=2)
    chosen = validate_params(estimator, params or {})
    notes: list[str] = []
    with single_blas_thread():
        if grid_search:
            best, notes = _grid_search(pipeline, X, labels, estimator, cv, random_state)
            chosen.update(best)
        else:
            pipeline.fit(X, labels)
    fitted = [str(label) for label in pipeline.classes_]
    if fitted != classes:
        raise RuntimeError(f"pipeline classes {fitted} differ from the labels given {classes}")
    return TrainedModel(pipeline, fitted, len(labels), estimator, chosen, notes, inputs)


def _linear_coefficients(clf: Any) -> np.ndarray | None:
    """The (n_classes or 1, n_features) weight matrix of a linear classifier, else None."""
    if hasattr(clf, "calibrated_classifiers_"):
        # The calibrated SVM is one LinearSVC per fold: average their weights.
        members = [c.estimator for c in clf.calibrated_classifiers_]
        if not all(hasattr(m, "coef_") for m in members):
            return None
        return np.asarray(np.mean([m.coef_ for m in members], axis=0), dtype=float)
    coef = getattr(clf, "coef_", None)
    return None if coef is None else np.asarray(coef, dtype=float)


def top_features(model: TrainedModel, n: int = 10) -> dict[str, list[tuple[str, float]]]:
    """The ``n`` features that push hardest towards each label, for linear models.

    Weights are the model's coefficients (log-odds per unit of the feature); for a
    binary model the first label's weights are the negated coefficients. Feature
    names read ``<transformer>__<feature>``, e.g. ``text_body__free``. Returns an
    empty dict for non-linear estimators (random forest, naive Bayes).
    """
    coef = _linear_coefficients(model.pipeline.named_steps["clf"])
    if coef is None:
        return {}
    names = model.pipeline.named_steps["features"].get_feature_names_out()
    if coef.shape[0] == 1:
        coef = np.vstack([-coef[0], coef[0]])
    result: dict[str, list[tuple[str, float]]] = {}
    for label, weights in zip(model.classes, coef, strict=True):
        order = np.argsort(-weights, kind="stable")[:n]
        result[label] = [(str(names[i]), float(weights[i])) for i in order]
    return result


class ModelArtifactError(Exception):
    """A model artifact is missing, unreadable, or holds something we did not save."""

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"model artifact {self.path}: {reason}")


ARTIFACT_FORMAT = 1
TRUSTED_TYPES: frozenset[str] = frozenset(
    {
        "labeler.training.prepare_frame",
        "numpy.dtype",
        "sklearn.calibration._CalibratedClassifier",
        "sklearn.calibration._SigmoidCalibration",
        "sklearn.tree._tree.Tree",
    }
)
"""Types skops does not trust by default that our own pipelines contain; loading
refuses any other, so an artifact cannot smuggle in code to run."""


def _vectorisers(pipeline: Pipeline) -> dict[str, Any]:
    steps = pipeline.named_steps["features"].transformers_
    return {name: step for name, step, _ in steps if hasattr(step, "vocabulary_")}


def save_model(model: TrainedModel, path: str | os.PathLike[str]) -> None:
    """Write ``model`` as a skops file (no pickle), atomically (temp file + rename).

    TF-IDF vocabularies travel as one newline-joined string each: skops writes a
    dict entry by entry, which for 30k terms costs seconds and tens of MB.
    """
    vectorisers = _vectorisers(model.pipeline)
    vocabularies = {name: step.vocabulary_ for name, step in vectorisers.items()}
    payload = {
        "format": ARTIFACT_FORMAT,
        "pipeline": model.pipeline,
        "vocabularies": {
            name: "\n".join(sorted(terms, key=terms.__getitem__))
            for name, terms in vocabularies.items()
        },
        "classes": list(model.classes),
        "n_train": int(model.n_train),
        "estimator": model.estimator,
        "params": dict(model.params),
        "notes": list(model.notes),
        "inputs": model.inputs.to_dict(),
    }
    target = Path(path)
    temporary = target.with_name(f".{target.name}.tmp")
    try:
        for step in vectorisers.values():
            step.vocabulary_ = {}
        skops.io.dump(payload, temporary, compression=zipfile.ZIP_DEFLATED)
    finally:
        for name, step in vectorisers.items():
            step.vocabulary_ = vocabularies[name]
    os.replace(temporary, target)


def load_model(path: str | os.PathLike[str]) -> TrainedModel:
    """Read a model written by ``save_model``.

    Raises:
        ModelArtifactError: the file is missing, is not a skops artifact, holds a
            type outside ``TRUSTED_TYPES``, or lacks the fields we save.
    """
    if not Path(path).is_file():
        raise ModelArtifactError(path, "file not found")
    try:
        untrusted = skops.io.get_untrusted_types(file=path)
    except Exception as error:  # zip, JSON or schema errors: all mean "corrupt"
        raise ModelArtifactError(path, f"not a readable skops artifact ({error})") from error
    refused = sorted(set(untrusted) - TRUSTED_TYPES)
    if refused:
        raise ModelArtifactError(path, f"holds types we never save: {refused}")
    try:
        payload = skops.io.load(path, trusted=list(untrusted))
        for name, step in _vectorisers(payload["pipeline"]).items():
            terms = payload["vocabularies"][name].split("\n")
            step.vocabulary_ = {term: index for index, term in enumerate(terms)}
        return TrainedModel(
            pipeline=payload["pipeline"],
            classes=[str(label) for label in payload["classes"]],
            n_train=int(payload["n_train"]),
            estimator=str(payload["estimator"]),
            params=dict(payload["params"]),
            notes=[str(note) for note in payload["notes"]],
            inputs=ModelInputs.from_dict(payload["inputs"]),
        )
    except Exception as error:
        raise ModelArtifactError(path, f"cannot be read back ({error})") from error

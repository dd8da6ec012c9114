"""Build and fit the project's model: one scikit-learn Pipeline from the model inputs.

Pure core: pandas, numpy and scikit-learn only (skops for artifacts). The caller
passes the final labels of train-split, non-ambiguous items; nothing here knows
about the database.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.impute import SimpleImputer
from sklearn.metrics import f1_score, make_scorer
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.naive_bayes import GaussianNB
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, MinMaxScaler, OneHotEncoder, StandardScaler
from threadpoolctl import threadpool_limits

from labeler.core.estimators import ESTIMATORS, GRIDS, validate_params
from labeler.core.model_inputs import ModelInputs, prepare_frame

"""The small grid ``train(grid_search=True)`` searches, per estimator (3-4 candidates)."""


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


"""Types skops does not trust by default that our own pipelines contain; loading
refuses any other, so an artifact cannot smuggle in code to run."""

"""Training: inputs, the estimator allow-list, pipelines, fitting, features, artifacts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import skops.io
from sklearn.datasets import load_digits
from sklearn.naive_bayes import ComplementNB, GaussianNB

from labeler.core.artifacts import ModelArtifactError, load_model, save_model
from labeler.core.estimators import ESTIMATORS, validate_params
from labeler.core.model_inputs import ModelInputs
from labeler.core.training import TrainedModel, build_pipeline, top_features, train

DATA = Path(__file__).resolve().parents[1] / "data"
TEXT = ModelInputs(text=("text",))
MIXED = ModelInputs(text=("text",), numeric=("length",), categorical=("kind",))


@pytest.fixture(scope="module")
def sms() -> pd.DataFrame:
    """600 real SMS messages (~13% spam) with a numeric and a categorical field added."""
    frame = pd.read_csv(DATA / "sms-spam.csv").sample(600, random_state=0)
    frame["label"] = np.where(frame["spam"] == 1, "spam", "ham")
    frame["length"] = frame["text"].str.len()
    frame["kind"] = np.where(frame["text"].str.contains(r"\d"), "digits", "plain")
    return frame.reset_index(drop=True)


@pytest.fixture(scope="module")
def spam_model(sms: pd.DataFrame) -> TrainedModel:
    return train(sms, sms["label"], TEXT)


def test_model_inputs_round_trip_json_shape() -> None:
    data = {"text": ["title", "body"], "numeric": ["price"], "categorical": []}
    inputs = ModelInputs.from_dict(data)
    assert inputs.text == ("title", "body")
    assert inputs.to_dict() == data
    assert ModelInputs.from_dict({"numeric": ["x"]}).fields == ("x",)


@pytest.mark.parametrize(
    ("data", "named"),
    [
        ({"text": ["a"], "colour": ["b"]}, "colour"),
        ({"text": "body"}, "'text'"),
        ({"text": ["a"], "numeric": ["a"]}, "'a'"),
        ({"categorical": [""]}, "'categorical'"),
        ({"numeric": [3]}, "'numeric'"),
    ],
)
def test_bad_model_inputs_name_the_field(data: dict[str, object], named: str) -> None:
    with pytest.raises(ValueError, match=named):
        ModelInputs.from_dict(data)


def test_each_text_field_gets_its_own_vectoriser() -> None:
    pipeline = build_pipeline(ModelInputs(text=("title", "body"), numeric=("n",)))
    names = [name for name, _, _ in pipeline.named_steps["features"].transformers]
    assert names == ["text_title", "text_body", "numeric"]


def test_pipeline_refuses_no_fields_and_unknown_estimators() -> None:
    with pytest.raises(ValueError, match="at least one"):
        build_pipeline(ModelInputs())
    with pytest.raises(ValueError, match="estimator"):
        build_pipeline(TEXT, "deep_net")


@pytest.mark.parametrize("estimator", sorted(ESTIMATORS))
@pytest.mark.parametrize("inputs", [TEXT, MIXED, ModelInputs(numeric=("length",))])
def test_every_estimator_fits_and_gives_probabilities(
    sms: pd.DataFrame, estimator: str, inputs: ModelInputs
) -> None:
    model = train(sms, sms["label"], inputs, estimator)
    proba = model.predict_proba(sms.head(20))
    assert model.classes == ["ham", "spam"] and model.n_train == len(sms)
    assert proba.shape == (20, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def test_naive_bayes_is_gaussian_for_numeric_only_inputs(sms: pd.DataFrame) -> None:
    numeric = train(sms, sms["label"], ModelInputs(numeric=("length",)), "naive_bayes")
    text = train(sms, sms["label"], MIXED, "naive_bayes")
    assert isinstance(numeric.pipeline.named_steps["clf"], GaussianNB)
    assert isinstance(text.pipeline.named_steps["clf"], ComplementNB)


def test_numeric_only_pipeline_learns_digits() -> None:
    digits = load_digits()
    columns = [f"px{i}" for i in range(digits.data.shape[1])]
    frame = pd.DataFrame(digits.data, columns=columns)
    labels = [str(t) for t in digits.target]
    model = train(frame[:1200], labels[:1200], ModelInputs(numeric=tuple(columns)))
    accuracy = np.mean(model.pipeline.predict(frame[1200:]) == np.array(labels[1200:]))
    assert accuracy > 0.9


@pytest.mark.parametrize(
    ("estimator", "params", "named"),
    [
        ("logistic_regression", {"gamma": 1.0}, "'gamma'"),
        ("logistic_regression", {"C": -1.0}, "'C'"),
        ("logistic_regression", {"C": "big"}, "'C'"),
        ("random_forest", {"n_estimators": True}, "'n_estimators'"),
        ("random_forest", {"n_estimators": 2.5}, "'n_estimators'"),
        ("sgd", {"penalty": "l3"}, "'penalty'"),
        ("svm_rbf", {}, "estimator"),
    ],
)
def test_bad_params_name_the_parameter(
    estimator: str, params: dict[str, object], named: str
) -> None:
    with pytest.raises(ValueError, match=named):
        validate_params(estimator, params)


def test_good_params_pass_and_are_used(sms: pd.DataFrame) -> None:
    assert validate_params("random_forest", {"max_depth": None, "n_estimators": 20}) == {
        "max_depth": None,
        "n_estimators": 20,
    }
    model = train(sms, sms["label"], TEXT, "logistic_regression", {"C": 5, "class_weight": None})
    assert model.pipeline.named_steps["clf"].C == 5


def test_training_refuses_too_little(sms: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="at least 2 labels"):
        train(sms.head(5), ["ham"] * 5, TEXT)
    with pytest.raises(ValueError, match="too few examples for linear_svm.*spam"):
        train(sms.head(5), ["ham"] * 4 + ["spam"], TEXT, "linear_svm")
    assert train(sms.head(5), ["ham"] * 4 + ["spam"], TEXT).classes == ["ham", "spam"]
    with pytest.raises(ValueError, match="rows"):
        train(sms.head(5), ["ham", "spam"], TEXT)
    with pytest.raises(ValueError, match="lacks field"):
        train(sms[["label"]], sms["label"], TEXT)


def test_missing_values_are_tolerated(sms: pd.DataFrame) -> None:
    frame = sms.head(60).astype({"length": object})
    frame.loc[:9, ["text", "length", "kind"]] = None
    frame.loc[10:19, "length"] = "n/a"
    model = train(frame, frame["label"], MIXED)
    assert model.predict_proba(frame).shape == (60, 2)


def test_grid_search_picks_from_the_grid_and_falls_back(sms: pd.DataFrame) -> None:
    model = train(sms, sms["label"], TEXT, grid_search=True)
    assert model.params["C"] in (0.1, 1.0, 10.0) and "grid search over" in model.notes[0]
    few = sms.groupby("label").head(2)
    fallback = train(few, few["label"], TEXT, "linear_svm", grid_search=True)
    assert "skipped" in fallback.notes[0] and fallback.params == {}


def test_top_features_name_spam_words(spam_model: TrainedModel) -> None:
    features = top_features(spam_model, n=15)
    assert set(features) == {"ham", "spam"}
    spam_words = {name.removeprefix("text_text__") for name, _ in features["spam"]}
    assert spam_words & {"free", "txt", "claim", "call", "mobile", "prize", "stop"}
    weights = [weight for _, weight in features["spam"]]
    assert weights == sorted(weights, reverse=True) and weights[0] > 0


def test_top_features_for_multiclass_svm_and_none_for_forests(sms: pd.DataFrame) -> None:
    labels = np.where(sms["label"] == "spam", "spam", np.where(sms["length"] > 60, "long", "short"))
    svm = train(sms, labels, MIXED, "linear_svm")
    assert set(top_features(svm, 3)) == {"long", "short", "spam"}
    forest = train(sms, sms["label"], TEXT, "random_forest", {"n_estimators": 10})
    assert top_features(forest) == {}


@pytest.mark.parametrize("estimator", sorted(ESTIMATORS))
def test_save_load_round_trip(sms: pd.DataFrame, tmp_path: Path, estimator: str) -> None:
    model = train(sms, sms["label"], MIXED, estimator, grid_search=estimator == "sgd")
    save_model(model, tmp_path / "model.skops")
    loaded = load_model(tmp_path / "model.skops")
    np.testing.assert_allclose(loaded.predict_proba(sms), model.predict_proba(sms))
    assert (loaded.classes, loaded.n_train, loaded.estimator) == (
        model.classes,
        model.n_train,
        estimator,
    )
    assert (loaded.params, loaded.notes, loaded.inputs) == (model.params, model.notes, MIXED)


def test_missing_corrupt_and_foreign_artifacts_raise(tmp_path: Path) -> None:
    with pytest.raises(ModelArtifactError, match="not found") as missing:
        load_model(tmp_path / "nowhere.skops")
    assert missing.value.path.endswith("nowhere.skops")
    (tmp_path / "corrupt.skops").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(ModelArtifactError, match="not a readable"):
        load_model(tmp_path / "corrupt.skops")
    skops.io.dump({"format": 1, "call": Path.unlink}, tmp_path / "foreign.skops")
    with pytest.raises(ModelArtifactError, match="types we never save"):
        load_model(tmp_path / "foreign.skops")
    skops.io.dump({"format": 1}, tmp_path / "partial.skops")
    with pytest.raises(ModelArtifactError, match="cannot be read back"):
        load_model(tmp_path / "partial.skops")


def test_an_artifact_saved_before_the_core_moved_still_loads(
    sms: pd.DataFrame, tmp_path: Path
) -> None:
    """Models saved when the core lived at labeler/training.py name that module's function;
    they keep serving after an upgrade (labeler.core.artifacts.FORMER_MODULES)."""
    import zipfile

    model = train(sms, sms["label"], MIXED, "logistic_regression")
    save_model(model, tmp_path / "today.skops")
    with zipfile.ZipFile(tmp_path / "today.skops") as today:
        schema = today.read("schema.json").decode()
        assert '"labeler.core.model_inputs"' in schema
        with zipfile.ZipFile(tmp_path / "before.skops", "w") as before:
            for info in today.infolist():
                body = today.read(info)
                if info.filename == "schema.json":
                    body = schema.replace(
                        '"labeler.core.model_inputs"', '"labeler.training"'
                    ).encode()
                before.writestr(info, body)
    loaded = load_model(tmp_path / "before.skops")
    np.testing.assert_allclose(loaded.predict_proba(sms), model.predict_proba(sms))

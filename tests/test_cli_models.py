"""``labeler train PROJECT_NAME``: trains now, prints the version, explains refusals."""

from __future__ import annotations

from labeler.extensions import db
from tests.api.test_models_api import label_all, text_project


def test_train_command_trains_and_reports(app):
    with app.app_context():
        project = text_project(min_labels_per_class=2)
        label_all(project, 50)
    result = app.test_cli_runner().invoke(args=["train", "Texts"])
    assert result.exit_code == 0, result.output
    assert "(champion) trained on" in result.output and "accuracy" in result.output


def test_train_command_explains_what_is_missing(app):
    with app.app_context():
        text_project()
        db.session.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["train", "Texts"])
    assert result.exit_code == 1 and "at least 2 different labels" in result.output
    result = runner.invoke(args=["train", "Nope"])
    assert result.exit_code == 1 and "no project named 'Nope'" in result.output

"""The ``labeler`` command: init, import with its messages, demo, tokens."""

from __future__ import annotations

from sqlalchemy import func, select

from labeler.extensions import db
from labeler.models import Item, Project, User
from labeler.services.projects.store import create_project


def test_init_migrates_and_creates_the_first_admin(tmp_path):
    from tests.conftest import make_app

    app = make_app(tmp_path)
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["init", "--admin-username", "root", "--admin-password", "long-enough"]
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        admin = db.session.scalar(select(User).where(User.username == "root"))
        assert admin.is_admin and admin.check_password("long-enough")
    again = runner.invoke(args=["init"])
    assert "an admin already exists" in again.output
    with app.app_context():
        db.engine.dispose()


def test_import_reports_counts_and_names_bad_lines(app, tmp_path):
    with app.app_context():
        create_project("Reviews", [{"name": "pos"}, {"name": "neg"}])
        db.session.commit()
    good = tmp_path / "reviews.csv"
    good.write_text("id,text\n1,fine film\n2,dull\n")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["import", "Reviews", str(good), "--id", "id", "--text", "text"])
    assert result.exit_code == 0, result.output
    assert "2 rows: 2 added, 0 updated, 0 unchanged" in result.output
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "3", "text": "ok"}\n{"id": "4", "text": \n')
    result = runner.invoke(args=["import", "Reviews", str(bad), "--id", "id", "--text", "text"])
    assert result.exit_code == 1
    assert "bad.jsonl: line 2: malformed JSON" in result.output
    assert "Nothing was imported" in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count(Item.id))) == 2


def test_import_brings_in_suggestions_and_names_a_bad_one(app, tmp_path):
    with app.app_context():
        create_project("Hinted", [{"name": "pos"}, {"name": "neg"}])
        db.session.commit()
    runner = app.test_cli_runner()
    args = ["import", "Hinted", "--id", "id", "--text", "text", "--suggestion", "prediction"]
    bad = tmp_path / "bad.csv"
    bad.write_text("id,text,prediction\n1,fine film,pos\n2,dull,meh\n")
    result = runner.invoke(args=[*args[:2], str(bad), *args[2:]])
    assert result.exit_code == 1
    assert "line 3" in result.output and "prediction" in result.output
    good = tmp_path / "good.csv"
    good.write_text("id,text,prediction\n1,fine film,pos\n2,dull,\n")
    result = runner.invoke(args=[*args[:2], str(good), *args[2:]])
    assert result.exit_code == 0, result.output
    assert "1 suggestions" in result.output
    with app.app_context():
        rows = dict(db.session.execute(select(Item.external_id, Item.suggestion_label)).all())
        assert rows == {"1": "pos", "2": None}
        assert "prediction" not in db.session.scalar(
            select(Item.data).where(Item.external_id == "1")
        )


def test_import_refuses_files_over_the_limit(app, tmp_path):
    app.config["IMPORT_MAX_BYTES"] = 10
    with app.app_context():
        create_project("Small", [{"name": "a"}])
        db.session.commit()
    big = tmp_path / "big.csv"
    big.write_text("id,text\n1,more than ten bytes\n")
    result = app.test_cli_runner().invoke(args=["import", "Small", str(big), "--text", "text"])
    assert result.exit_code == 1 and "the limit is 10" in result.output


def test_demo_builds_the_digits_project_once(app):
    from labeler.extensions import db as database

    with app.app_context():  # the demo only runs on an empty instance
        database.session.execute(database.delete(User))
        database.session.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["demo", "--no-serve"])
    assert result.exit_code == 0, result.output
    assert "alice" in result.output and "demo-alice" in result.output
    with app.app_context():
        project = db.session.scalar(select(Project))
        assert project.n_items == 1797 and project.label_names == [str(d) for d in range(10)]
        assert project.model_inputs["numeric"] == [f"p{i}" for i in range(64)]
    result = runner.invoke(args=["demo", "--no-serve"])
    assert "Using the existing instance" in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count(Project.id))) == 1


def test_token_command_prints_a_working_token(app, client, project):
    result = app.test_cli_runner().invoke(args=["token", "alice", "--days", "1"])
    token = result.output.strip()
    assert token.startswith("lbl_")
    response = client.get("/api/v1/projects", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200


def test_demo_text_csv_on_an_existing_instance_adds_the_project_once(app, tmp_path, project):
    texts = tmp_path / "reviews.csv"
    texts.write_text("text,label\nlovely,pos\nawful,neg\nfine,pos\n")
    runner = app.test_cli_runner()
    args = ["demo", "--no-serve", "--text-csv", str(texts), "--label-column", "label"]
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    assert "Added the project 'Texts from reviews.csv' (3 texts)" in result.output
    with app.app_context():
        added = db.session.scalar(select(Project).where(Project.name == "Texts from reviews.csv"))
        assert added.label_names == ["neg", "pos"] and added.n_items == 3
    again = runner.invoke(args=args)
    assert "is already here; reviews.csv was not imported again" in again.output
    with app.app_context():
        assert db.session.scalar(select(func.count(Project.id))) == 2


def test_every_project_command_names_a_missing_project_and_a_service_error_changes_nothing(
    app, tmp_path
):
    from sqlalchemy import func, select

    from labeler.extensions import db
    from labeler.models import Project

    runner = app.test_cli_runner()
    data = tmp_path / "items.csv"
    data.write_text("id,text\n1,hello\n")
    for args in (
        ["import", "Nowhere", str(data), "--text", "text"],
        ["export", "Nowhere", "-o", str(tmp_path / "out.csv")],
        ["train", "Nowhere"],
        ["quality", "Nowhere"],
        ["project", "set", "Nowhere", "--k", "2"],
        ["import-from", "prodigy", "Nowhere", str(data)],
    ):
        result = runner.invoke(args=args)
        assert result.exit_code == 1, (args, result.output)
        assert "no project named 'Nowhere'" in result.output, args
    # a service refusing inside the unit of work: rolled back, its message, status 1
    refused = runner.invoke(args=["project", "create", "Spam", "--labels", "a,a"])
    assert refused.exit_code == 1 and "appears twice" in refused.output
    with app.app_context():
        assert db.session.scalar(select(func.count(Project.id)).where(Project.name == "Spam")) == 0

"""Pages render for their users, and item content, names and guidelines stay inert."""

from __future__ import annotations

import io
from pathlib import Path

from sqlalchemy import select

from labeler.extensions import db
from labeler.models import Item, Project, User
from labeler.services.data.import_spec import ColumnMapping
from labeler.services.data.imports import import_rows

XSS = '<script>alert("x")</script>'


def test_guidelines_markdown_is_rendered_but_html_is_escaped(app, client, auth, project):
    with app.app_context():
        db.session.get(Project, project).guidelines = f"**bold** {XSS} [link](javascript:alert(1))"
        db.session.commit()
    auth.login("alice")
    html = client.get(f"/projects/{project}/annotate").get_data(as_text=True)
    assert "<strong>bold</strong>" in html
    assert XSS not in html and "&lt;script&gt;" in html
    assert 'href="javascript:' not in html


def test_item_text_reaches_the_form_as_json_data_not_markup(app, client, auth, project):
    with app.app_context():
        import_rows(
            db.session.get(Project, project),
            [(1, {"id": "x", "text": XSS})],
            ColumnMapping(id="id", text=("text",)),
        )
        db.session.commit()
    auth.login("admin")
    response = client.get(f"/api/v1/projects/{project}/items?limit=500")
    assert response.mimetype == "application/json"
    assert any(i["data"]["text"] == XSS for i in response.json["items"])


def test_user_names_are_escaped_on_admin_pages(app, client, auth):
    with app.app_context():
        db.session.add(User(username="x<b>y</b>", role="annotator", active=False))
        db.session.commit()
    auth.login("admin")
    html = client.get("/admin/users").get_data(as_text=True)
    assert "x&lt;b&gt;y&lt;/b&gt;" in html


def test_project_pages_render(client, auth, project):
    auth.login("rita")
    assert "SMS" in client.get("/").get_data(as_text=True)
    page = client.get(f"/projects/{project}").get_data(as_text=True)
    assert "Members" in page and "alice" in page


def test_admin_creates_a_project_and_imports_through_the_browser(client, auth, app):
    auth.login("admin")
    response = auth.post(
        "/admin/projects/new",
        {
            "name": "Tweets",
            "labels": "pos | p | positive\nneg | n\nneutral",
            "guidelines": "Be kind.",
            "annotations_per_item": "3",
            "test_fraction": "0.1",
        },
    )
    assert response.status_code == 302
    with app.app_context():
        project = db.session.scalar(select(Project).where(Project.name == "Tweets"))
        assert [(lbl["name"], lbl["hotkey"]) for lbl in project.labels] == [
            ("pos", "p"),
            ("neg", "n"),
            ("neutral", "1"),
        ]
        pid = project.id
    upload = {"file": (io.BytesIO(b"id,text,extra\n1,hello,a\n2,world,b\n"), "t.csv")}
    response = auth.post(f"/projects/{pid}/import", upload, content_type="multipart/form-data")
    assert response.headers["Location"].endswith("/import/mapping")
    page = client.get(f"/projects/{pid}/import/mapping").get_data(as_text=True)
    assert "hello" in page
    response = auth.post(
        f"/projects/{pid}/import/mapping",
        {"role:id": "id", "role:text": "text", "role:extra": "meta"},
    )
    assert response.status_code == 302
    with app.app_context():
        data = sorted(i.data["extra"] for i in db.session.scalars(select(Item)))
        assert data == ["a", "b"]


def test_a_failed_browser_import_says_why_and_changes_nothing(client, auth, app, project):
    auth.login("admin")
    upload = {"file": (io.BytesIO(b"id,text\n1,a\n1,b\n"), "dup.csv")}
    auth.post(f"/projects/{project}/import", upload, content_type="multipart/form-data")
    response = auth.post(
        f"/projects/{project}/import/mapping",
        {"role:id": "id", "role:text": "text"},
        follow_redirects=True,
    )
    html = response.get_data(as_text=True)
    assert "Nothing was imported" in html and "line 3" in html
    with app.app_context():
        assert db.session.get(Project, project).n_items == 20


def test_deleting_a_project_needs_its_name(client, auth, app, project):
    auth.login("admin")
    auth.post(f"/projects/{project}/delete", {"confirm_name": "wrong"})
    with app.app_context():
        assert db.session.get(Project, project) is not None
    auth.post(f"/projects/{project}/delete", {"confirm_name": "SMS"})
    with app.app_context():
        assert db.session.get(Project, project) is None


def test_an_upload_over_the_size_limit_is_refused_with_a_page(client, auth, app, project):
    app.config["MAX_CONTENT_LENGTH"] = 1024
    auth.login("admin")
    big = {"file": (io.BytesIO(b"id,text\n" + b"1,x\n" * 1000), "big.csv")}
    response = auth.post(f"/projects/{project}/import", big, content_type="multipart/form-data")
    assert response.status_code == 413
    assert "File too large" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Project, project).n_items == 20


def test_logins_are_rate_limited_with_a_clear_message(client, auth, app):
    from labeler.services import login_guard

    token = auth.csrf("/login")
    for _ in range(login_guard.MAX_FAILURES):
        response = client.post(
            "/login", data={"username": "alice", "password": "wrong", "csrf_token": token}
        )
        assert response.status_code == 200 and "wrong password" in response.get_data(True)
    response = client.post(
        "/login", data={"username": "alice", "password": "alice-pass", "csrf_token": token}
    )
    assert response.status_code == 429
    assert "Too many failed logins" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302  # still not logged in
    # other accounts from other addresses are not affected
    other = app.test_client()
    page = other.get("/login").get_data(as_text=True)
    other_token = page.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
    response = other.post(
        "/login",
        data={"username": "bob", "password": "bob-pass", "csrf_token": other_token},
        environ_base={"REMOTE_ADDR": "10.0.0.9"},
    )
    assert response.status_code == 302


def test_forms_without_a_csrf_token_are_refused(client, auth, app, project):
    auth.login("admin")
    response = client.post(f"/projects/{project}/delete", data={"confirm_name": "SMS"})
    assert response.status_code == 400
    with app.app_context():
        assert db.session.get(Project, project) is not None


def test_media_paths_cannot_leave_the_media_folder(app, client, auth, project):
    with app.app_context():
        item = db.session.scalars(select(Item)).first()
        item.project.display = {**item.project.display, "image": "pic"}
        item.data = {**item.data, "pic": "../config.py"}
        db.session.commit()
        item_id = item.id
    Path(app.instance_path, "config.py").write_text("SECRET = 1")
    auth.login("alice")
    response = client.get(f"/projects/{project}/items/{item_id}/image")
    assert response.status_code == 404 and b"SECRET" not in response.data


def test_the_browser_import_can_link_duplicates_and_mark_gold(client, auth, app, project):
    auth.login("admin")
    body = b"id,text,answer\nn1,message number 1,\nn2,brand new text,spam\n"
    auth.post(
        f"/projects/{project}/import",
        {"file": (io.BytesIO(body), "more.csv")},
        content_type="multipart/form-data",
    )
    response = auth.post(
        f"/projects/{project}/import/mapping",
        {"role:id": "id", "role:text": "text", "role:answer": "gold", "duplicates": "link"},
        follow_redirects=True,
    )
    assert "1 linked" in response.get_data(as_text=True)
    with app.app_context():
        copy = db.session.scalar(select(Item).where(Item.external_id == "n1"))
        gold = db.session.scalar(select(Item).where(Item.external_id == "n2"))
        assert copy.duplicate_of is not None
        assert gold.is_gold and gold.gold_label == "spam"

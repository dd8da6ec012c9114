"""What a new user hit on the pages: export filters, thumbnails, errors, docs links."""

from __future__ import annotations


def test_a_bad_export_filter_is_a_422_that_keeps_the_form(client, auth, project):
    auth.login("rita")
    response = client.get(
        f"/projects/{project}/export/download?view=annotations&format=jsonl&split=test"
        "&min_confidence=high&since=2026-01-02&final_only=true"
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "min_confidence must be a number" in html
    assert '<option value="annotations" selected>' in html
    assert "<option selected>jsonl</option>" in html and "<option selected>test</option>" in html
    assert 'value="high"' in html and 'value="2026-01-02"' in html
    assert 'name="final_only" value="true" checked' in html
    job = auth.post(f"/projects/{project}/export/jobs", {"format": "xlsx", "split": "train"})
    assert job.status_code == 422 and "format must be one of" in job.get_data(as_text=True)


def test_every_page_links_the_api_docs(client, auth, project):
    auth.login("alice")
    assert 'href="/api/docs"' in client.get(f"/projects/{project}").get_data(as_text=True)

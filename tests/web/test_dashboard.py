"""The dashboard in a real browser: sign in, submit, watch, download, compare, data sets, sign out, error pages."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.midi_sets import midi_folder
from tests.web.conftest import JOB_SECONDS, QUICK_PARAMS, Server, screenshot, sign_in

pytestmark = [pytest.mark.integration, pytest.mark.slow]

UNLABELLED = """() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
  .filter(e => !e.labels.length && !e.getAttribute('aria-label')).map(e => e.name || e.id)"""
WATCHED = """() => ({status: document.querySelector('h1 [data-role=status]')?.textContent,
  percent: document.querySelector('[data-role=progress]')?.value ?? -1,
  epochs: Number(document.querySelector('.chart')?.dataset.epochs || 0),
  results: !!document.getElementById('h-results')})"""
OVERFLOW = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"


def check_page(page: Any) -> None:
    """Every form field has a label, and the page does not scroll sideways at phone width (375 px)."""
    assert page.evaluate(UNLABELLED) == []
    size = page.viewport_size
    page.set_viewport_size({"width": 375, "height": 740})
    try:
        page.wait_for_timeout(150)
        assert page.evaluate(OVERFLOW) <= 1, f"{page.url} scrolls sideways at 375 px"
    finally:
        page.set_viewport_size(size)
        page.wait_for_timeout(100)


def watch_job(page: Any, server: Server, timeout: float = JOB_SECONDS) -> list[tuple[int, int]]:
    """Stay on a job page until it shows succeeded; the (progress %, epochs drawn) pairs seen on the way."""
    seen: list[tuple[int, int]] = []
    deadline = time.monotonic() + timeout
    from playwright.sync_api import Error

    while time.monotonic() < deadline:
        try:
            state = page.evaluate(WATCHED)
        except Error:  # the page reloads itself when the job finishes
            page.wait_for_load_state()
            continue
        pair = (int(state["percent"]), state["epochs"])
        if not seen or seen[-1] != pair:
            seen.append(pair)
        if state["status"] == "succeeded" and state["results"]:
            return seen
        assert state["status"] not in ("failed", "cancelled"), page.inner_text("main")
        page.wait_for_timeout(100)
    pytest.fail(f"the job page did not show succeeded in {timeout} s; saw {seen}\n{server.logs()}")


def submit_quick_job(page: Any, model: str = "groove_predictor") -> str:
    """Fill the submit form for a short synthetic job; its id (from the page it opens)."""
    page.goto("/submit")
    page.get_by_label("Model").select_option(model)
    page.get_by_label("Data", exact=True).select_option("synthetic")
    for name, value in QUICK_PARAMS.items():
        page.locator(f'[name="{name}"]').fill(value)
    page.get_by_role("button", name="Submit job").click()
    page.wait_for_url("**/jobs/*")
    return str(page.url.rsplit("/", 1)[1])


def test_sign_in_train_watch_download_compare_datasets_sign_out(page: Any, server: Server, tmp_path: Path) -> None:
    # Signed out, every page leads to the sign-in form; a wrong token gets a 401 page that says so.
    page.goto("/")
    assert "/signin" in page.url
    screenshot(page, "signin")
    page.get_by_label("API token").fill("mlt_not-a-real-token")
    with page.expect_response(lambda r: r.url.endswith("/signin") and r.request.method == "POST") as wrong:
        page.get_by_role("button", name="Sign in").click()
    assert wrong.value.status == 401
    assert "not valid" in page.inner_text("#signin-error")
    page.errors.clear()  # the console's note of that 401
    sign_in(page, server)
    assert page.get_by_role("heading", name="Jobs").is_visible()

    # Submit from the form: every parameter is there with its default and bounds.
    page.goto("/submit")
    epochs = page.get_by_label("epochs", exact=True)
    assert epochs.get_attribute("min") == "1" and epochs.input_value() == "50"
    check_page(page)
    screenshot(page, "submit")
    first = submit_quick_job(page)
    server.jobs.append(first)

    # The job page updates from the events stream: progress and the curve grow until it succeeds.
    seen = watch_job(page, server)
    assert any(0 < percent < 100 or 0 < epochs < 12 for percent, epochs in seen), seen
    assert page.locator(".chart").first.get_attribute("data-epochs") == "12"
    assert page.locator(".chart figcaption").first.inner_text() == "groove_predictor · MSE"
    evaluation = page.locator("table.evaluation").inner_text()
    assert "Test loss" in evaluation and "Baselines" in evaluation
    assert "ok" in page.locator("#h-results + .table-wrap").inner_text()  # export parity
    assert page.locator("table.metrics-table tr.best").count() == 1
    assert not page.errors, page.errors
    check_page(page)
    screenshot(page, "job")

    # Artifacts: sizes shown, one downloaded with the session cookie.
    row = page.locator("table.artifacts tr", has_text="groove_predictor.json")
    assert "kB" in row.inner_text() or " B" in row.inner_text()
    with page.expect_download() as download:
        row.get_by_role("link").click()
    saved = tmp_path / "model.json"
    download.value.save_as(saved)
    assert json.loads(saved.read_text())  # RTNeural JSON

    # Re-run makes a second job with the same parameters; then compare the two.
    page.get_by_role("button", name="Re-run").click()
    page.wait_for_url(lambda url: url.rstrip("/").rsplit("/", 1)[1] not in (first, "rerun"))
    second = page.url.rsplit("/", 1)[1]
    server.jobs.append(second)
    watch_job(page, server)
    page.goto("/")
    assert page.locator("#jobs-table tbody tr").count() == 2
    check_page(page)
    screenshot(page, "jobs")
    page.goto("/compare")
    page.get_by_label("Model").select_option("groove_predictor")
    page.get_by_role("button", name="Show jobs").click()
    for job_id in (first, second):
        page.locator(f'input[value="{job_id}"]').check()
    page.get_by_role("button", name="Compare").click()
    assert page.locator("#compare-chart").get_attribute("data-series") == "2"
    table = page.locator("table.compare-table")
    assert table.locator("thead th").count() == 3
    assert "val_loss" in table.inner_text() and "param: epochs" in table.inner_text()
    check_page(page)
    screenshot(page, "compare")

    # Data sets: register a real-format folder under the allowed root and read its report.
    folder = midi_folder(server.dataset_root / "takes")
    page.goto("/datasets")
    page.get_by_label("Name", exact=True).first.fill("takes")
    page.get_by_label("Folder (absolute path)").fill(str(folder))
    page.get_by_role("button", name="Register").click()
    page.wait_for_url("**/datasets/*")
    try:  # validated at once, or by a worker while the page polls
        page.locator("h1 .badge-ds-ready").wait_for(timeout=30_000)
    except Exception:
        pytest.fail(f"the data set did not become ready:\n{page.inner_text('main')}\n{server.logs()}")
    report = page.inner_text("main")
    assert "ready" in report and "broken.mid" in report, report
    check_page(page)
    screenshot(page, "dataset")
    page.goto("/datasets")
    assert "takes" in page.inner_text("#datasets-table")
    screenshot(page, "datasets")

    # Sign out: the cookie is gone and pages ask to sign in again.
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/signin")
    page.goto(f"/jobs/{first}")
    assert "/signin" in page.url
    assert not page.errors, page.errors


def _a_job_of(server: Server, owner: str) -> str:
    if owner == "alice" and server.jobs:
        return server.jobs[0]
    with server.api(owner) as api:
        response = api.post(
            "/jobs",
            json={
                "type": "train",
                "model": "groove_predictor",
                "synthetic": True,
                "params": {"epochs": 1, "synthetic_samples": 16},
            },
        )
        assert response.status_code == 202, response.text
        job_id = str(response.json()["id"])
    server.jobs.append(job_id)
    return job_id


def test_another_owners_job_is_a_404_page(page: Any, server: Server) -> None:
    job_id = _a_job_of(server, "alice")
    sign_in(page, server, "mallory")
    response = page.goto(f"/jobs/{job_id}")
    assert response is not None and response.status == 404
    assert "404" in page.inner_text("h1") and job_id in page.inner_text("main")
    # ... and through the API with the session cookie.
    api = page.request.get(f"/api/v1/jobs/{job_id}/artifacts")
    assert api.status == 404


def test_a_form_without_its_csrf_token_is_refused(page: Any, server: Server) -> None:
    sign_in(page, server)
    with server.api() as api:
        before = api.get("/jobs").json()["count"]
    page.goto("/submit")
    page.evaluate("() => document.querySelectorAll('input[name=csrf_token]').forEach(e => e.remove())")
    with page.expect_response(lambda r: r.url.endswith("/submit") and r.request.method == "POST") as refused:
        page.get_by_role("button", name="Submit job").click()
    assert refused.value.status == 403
    assert "CSRF" in page.inner_text("h1")
    with server.api() as api:
        assert api.get("/jobs").json()["count"] == before  # the refused form queued nothing


def test_keyboard_reaches_the_skip_link_and_the_navigation(page: Any, server: Server) -> None:
    sign_in(page, server)
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.textContent") == "Skip to content"
    names = []
    for _ in range(4):
        page.keyboard.press("Tab")
        names.append(page.evaluate("() => document.activeElement.textContent.trim()"))
    assert names[:3] == ["mltrain", "Jobs", "Submit"], names

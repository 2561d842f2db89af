"""Sweep pages in process: the list, a sweep's trials table and scatters, cancel with CSRF, another owner's 404."""

from __future__ import annotations

from fastapi.testclient import TestClient

from app.config import Settings
from app.db import SweepTrial, session_scope
from tests.app.test_sweeps import sweep_body
from tests.web.test_auth import csrf_of, sign_in, site, token_for

__all__ = ["site"]  # the fixture, imported


def test_sweep_list_page_trials_scatter_and_cancel(site: tuple[TestClient, Settings]) -> None:
    client, settings = site
    token = token_for(settings, "alice")
    created = client.post("/api/v1/sweeps", json=sweep_body(), headers={"Authorization": f"Bearer {token}"})
    sweep_id = created.json()["id"]
    batch = created.json()["batches"][0]["job_id"]
    with session_scope(settings.database_url) as db:
        for number, (lr, objective) in enumerate(((0.001, 0.5), (0.01, 0.25))):
            params = {"lr": lr, "weight_decay": 0.0}
            db.add(SweepTrial(sweep_id=sweep_id, number=number, batch=0, job_id=batch, status="complete",
                              params=params, objective=objective, epochs=2, best_epoch=2))  # fmt: skip
    sign_in(client, token)
    listed = client.get("/sweeps")
    assert listed.status_code == 200 and f'href="/sweeps/{sweep_id}"' in listed.text and "0.25" in listed.text
    page = client.get(f"/sweeps/{sweep_id}")
    assert page.status_code == 200
    assert page.text.count("<circle") == 4  # two trials on each of the two parameters' scatters
    assert 'data-trial="1"><td>1 <span aria-label="best trial">' in page.text
    assert client.post(f"/sweeps/{sweep_id}/cancel", data={}).status_code == 403  # no CSRF token
    done = client.post(f"/sweeps/{sweep_id}/cancel", data={"csrf_token": csrf_of(page.text)})
    assert done.status_code == 200 and "cancelled" in done.text
    client.cookies.clear()
    sign_in(client, token_for(settings, "bob"))
    assert client.get(f"/sweeps/{sweep_id}").status_code == 404

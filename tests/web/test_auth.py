"""Dashboard sessions and CSRF, in process: cookie flags, signing, expiry, revocation, what the cookie may do."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.api.deps import get_enqueuer
from app.config import Settings
from app.db import ApiToken, get_engine, session_scope
from app.main import create_app
from app.migrate import upgrade
from app.services.tokens import create_token, revoke_token
from app.web import auth
from tests.app.conftest import make_settings


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[TestClient, Settings]]:
    """The app on a migrated SQLite database, jobs recorded instead of enqueued."""
    url = f"sqlite:///{tmp_path / 'mltrain.db'}"
    upgrade(url)
    settings = make_settings(tmp_path, url)
    app = create_app(settings)
    app.dependency_overrides[get_enqueuer] = lambda: lambda job_id, queue: None
    with TestClient(app, base_url="http://127.0.0.1") as client:
        yield client, settings
    get_engine(url).dispose()


def token_for(settings: Settings, owner: str) -> str:
    with session_scope(settings.database_url) as session:
        return create_token(session, name=owner, owner=owner)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


def sign_in(client: TestClient, token: str, **headers: str) -> None:
    page = client.get("/signin")
    response = client.post(
        "/signin", data={"csrf_token": csrf_of(page.text), "token": token, "next": "/"}, headers=headers
    )
    assert response.status_code == 200 and "Sign out" in response.text


def test_the_session_cookie_is_httponly_strict_and_secure_over_https(site: tuple[TestClient, Settings]) -> None:
    client, settings = site
    token = token_for(settings, "alice")
    page = client.get("/signin")
    form = {"csrf_token": csrf_of(page.text), "token": token, "next": "/"}
    response = client.post("/signin", data=form, follow_redirects=False)
    assert response.status_code == 303
    cookie = next(v for k, v in response.headers.multi_items() if k == "set-cookie" and v.startswith(auth.COOKIE_NAME))
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Secure" not in cookie
    assert token not in cookie  # the token itself never reaches the browser
    client.cookies.clear()
    page = client.get("/signin")
    form["csrf_token"] = csrf_of(page.text)
    response = client.post("/signin", data=form, headers={"X-Forwarded-Proto": "https"}, follow_redirects=False)
    cookie = next(v for k, v in response.headers.multi_items() if k == "set-cookie" and v.startswith(auth.COOKIE_NAME))
    assert "Secure" in cookie


def test_sign_in_refuses_a_wrong_token_and_a_foreign_form(site: tuple[TestClient, Settings]) -> None:
    client, settings = site
    page = client.get("/signin")
    wrong = client.post("/signin", data={"csrf_token": csrf_of(page.text), "token": "mlt_nope"})
    assert wrong.status_code == 401 and "not valid" in wrong.text
    client.cookies.clear()  # a form posted from another site has no sign-in cookie
    foreign = client.post("/signin", data={"csrf_token": "x", "token": token_for(settings, "alice")})
    assert foreign.status_code == 403 and auth.COOKIE_NAME not in foreign.headers.get("set-cookie", "")


def test_the_next_page_after_sign_in_stays_on_this_site(site: tuple[TestClient, Settings]) -> None:
    client, settings = site
    page = client.get("/signin?next=//evil.example/x")
    form = {"csrf_token": csrf_of(page.text), "token": token_for(settings, "alice"), "next": "//evil.example/x"}
    response = client.post("/signin", data=form, follow_redirects=False)
    assert response.headers["location"] == "/"


def test_pages_redirect_to_sign_in_and_posts_need_the_csrf_token(site: tuple[TestClient, Settings]) -> None:
    client, settings = site
    response = client.get("/jobs/abc?x=1", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/signin?next=%2Fjobs%2Fabc%3Fx%3D1"
    assert client.post("/submit", data={"model": "all"}).status_code == 401
    sign_in(client, token_for(settings, "alice"))
    refused = client.post("/submit", data={"model": "groove_predictor", "data": "synthetic"})
    assert refused.status_code == 403 and "CSRF" in refused.text
    forged = client.post("/submit", data={"model": "groove_predictor", "data": "synthetic", "csrf_token": "0" * 64})
    assert forged.status_code == 403
    assert client.get("/api/v1/jobs").json()["count"] == 0


def test_the_cookie_reads_the_api_but_changes_nothing_there(site: tuple[TestClient, Settings]) -> None:
    client, settings = site
    sign_in(client, token_for(settings, "alice"))
    assert client.get("/api/v1/jobs").status_code == 200
    body = {"type": "train", "model": "all", "synthetic": True}
    assert client.post("/api/v1/jobs", json=body).status_code == 401
    page = client.get("/submit")
    created = client.post("/submit", data={"csrf_token": csrf_of(page.text), "model": "all", "data": "synthetic"})
    job_id = created.url.path.rsplit("/", 1)[1]
    assert client.post(f"/api/v1/jobs/{job_id}/cancel").status_code == 401


def test_a_tampered_expired_or_revoked_session_is_signed_out(site: tuple[TestClient, Settings]) -> None:
    client, settings = site
    token = token_for(settings, "alice")
    with session_scope(settings.database_url) as session:
        row = session.query(ApiToken).filter_by(name="alice").one()
        cookie = auth.make_cookie(settings, row)
        old = auth.make_cookie(settings, row, now=time.time() - auth.SESSION_SECONDS - 1)
    assert auth.read_session(settings, cookie) is not None
    payload, signature = cookie.split(".")
    other = auth.make_cookie(settings, ApiToken(id=row.id + 1, token_hash="0" * 64)).split(".")[0]
    for bad in (f"{other}.{signature}", f"{payload}.{signature[:-2]}AA", old, "garbage", ""):
        assert auth.read_session(settings, bad) is None, bad
    sign_in(client, token)
    assert client.get("/", follow_redirects=False).status_code == 200
    with session_scope(settings.database_url) as session:
        revoke_token(session, name="alice")
    assert client.get("/", follow_redirects=False).status_code == 303
    assert client.get("/api/v1/jobs").status_code == 401


def test_sign_out_clears_the_cookie(site: tuple[TestClient, Settings]) -> None:
    client, settings = site
    sign_in(client, token_for(settings, "alice"))
    page = client.get("/")
    response = client.post("/signout", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert response.status_code == 303 and 'mltrain_session=""' in response.headers["set-cookie"]
    assert client.get("/", follow_redirects=False).status_code == 303


def test_owners_see_only_their_own_jobs_and_data_sets(site: tuple[TestClient, Settings]) -> None:
    client, settings = site
    sign_in(client, token_for(settings, "alice"))
    page = client.get("/submit")
    created = client.post("/submit", data={"csrf_token": csrf_of(page.text), "model": "all", "data": "synthetic"})
    job_id = created.url.path.rsplit("/", 1)[1]
    client.cookies.clear()
    sign_in(client, token_for(settings, "mallory"))
    assert job_id not in client.get("/").text
    missing = client.get(f"/jobs/{job_id}")
    assert missing.status_code == 404 and "Not found" in missing.text
    assert client.get(f"/compare?model=groove_predictor&job={job_id}").status_code == 404
    assert client.post(f"/jobs/{job_id}/cancel", data={"csrf_token": csrf_of(client.get("/").text)}).status_code == 404


def test_the_page_headers_allow_only_this_server(site: tuple[TestClient, Settings]) -> None:
    client, _ = site
    csp = client.get("/signin").headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp and "http" not in csp
    assert "content-security-policy" not in client.get("/healthz").headers

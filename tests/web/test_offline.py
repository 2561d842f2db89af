"""Nothing outside the server: no page or static file names an outside host, and the docs render with it blocked."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest

from app.web.mount import STATIC_DIR
from tests.web.conftest import Server, screenshot, sign_in

pytestmark = [pytest.mark.integration, pytest.mark.slow]

HOST = re.compile(r"https?://([\w.-]+)")  # the host part of every http(s) URL
COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)
LOCAL = {"127.0.0.1", "localhost"}
NAMESPACES = {"www.w3.org"}  # SVG / XHTML / XLink namespace names, never fetched
# What the vendored bundles name in their code without loading it (spec and RFC links in Swagger UI's schema
# descriptions, JSON-schema ids, placeholder examples, React's error-page links); `validatorUrl: null` keeps
# Swagger UI off validator.swagger.io and ReDoc is served without web fonts. The browser test below blocks and
# records every outside request, so a bundle that started loading one of these would fail there.
VENDOR_NAMES = {
    "vendor/swagger-ui/swagger-ui-bundle.js": {
        "datatracker.ietf.org", "www.rfc-editor.org", "spec.openapis.org", "github.com", "json-schema.org",
        "validator.swagger.io", "www.tiktok.com", "twitter.com", "instagram.com", "example.com", "www.facebook.com",
        "vladimirgorej.com", "swagger.io", "spdx.org", "soundcloud.com", "redux.js.org", "reactjs.org", "fb.me",
        "실례.com",
    },
    "vendor/redoc/redoc.standalone.js": {
        "json-schema.org", "github.com", "redocly.com", "example.com", "raw.githubusercontent.com", "api.",
        "stackoverflow.com", "reactjs.org", "marked.js.org", "git.io", "cdn.redoc.ly", "fb.me",
    },
}  # fmt: skip
PAGES = ["/", "/submit", "/compare", "/compare?model=groove_predictor", "/datasets", "/jobs/0123456789abcdef"]


def outside_hosts(text: str, allowed: set[str] = frozenset()) -> set[str]:  # type: ignore[assignment]
    """Hosts of the http(s) URLs in `text` that are neither this machine, a namespace, nor in `allowed`."""
    hosts = {host.lower() for host in HOST.findall(COMMENT.sub("", text))}
    return {host for host in hosts if host not in LOCAL | NAMESPACES | allowed}


def test_the_url_scan_finds_outside_hosts() -> None:
    assert outside_hosts('<script src="https://cdn.example.net/x.js"></script>') == {"cdn.example.net"}
    assert outside_hosts('<svg xmlns="http://www.w3.org/2000/svg"></svg> /*! https://github.com/x */') == set()


def test_no_page_or_static_file_names_an_outside_host(server: Server) -> None:
    with server.signed_in() as client:
        served: dict[str, str] = {}
        for path in [*PAGES, *(f"/jobs/{job}" for job in server.jobs[:1]), "/docs", "/redoc"]:
            served[path] = client.get(path).text
        with httpx.Client(base_url=server.base_url) as signed_out:
            served["/signin"] = signed_out.get("/signin").text
        referenced = {ref for html in served.values() for ref in re.findall(r'(?:src|href)="(/static/[^"]+)"', html)}
        files = sorted(p for p in Path(STATIC_DIR).rglob("*") if p.suffix in (".js", ".css", ".html"))
        for path in {f"/static/{p.relative_to(STATIC_DIR).as_posix()}" for p in files} | referenced:
            response = client.get(path)
            assert response.status_code == 200, path
            served[path] = response.text
    assert referenced, "the pages load their scripts and styles from /static"
    found = {
        path: hosts
        for path, text in served.items()
        if (hosts := outside_hosts(text, VENDOR_NAMES.get(path.removeprefix("/static/"), set())))
    }
    assert found == {}


def test_docs_and_pages_work_with_the_network_blocked(browser: Any, server: Server) -> None:
    context = browser.new_context(base_url=server.base_url, viewport={"width": 1280, "height": 800})
    blocked: list[str] = []

    def only_local(route: Any) -> None:
        if urlparse(route.request.url).hostname in LOCAL:
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    context.route("**/*", only_local)
    page = context.new_page()
    try:
        page.goto("/docs")
        page.locator(".swagger-ui .info .title").wait_for()
        assert "mltrain" in page.inner_text(".swagger-ui .info .title")
        page.locator(".opblock-summary-path", has_text="/api/v1/jobs").first.wait_for()
        screenshot(page, "docs")
        page.goto("/redoc")
        page.locator("h1", has_text="mltrain").first.wait_for()
        assert "/api/v1/jobs" in page.inner_text("body")
        sign_in(page, server)
        for path in [*PAGES[:-1], *(f"/jobs/{job}" for job in server.jobs[:1])]:
            page.goto(path)
            page.wait_for_load_state("networkidle")
    finally:
        context.close()
    assert blocked == []

"""Sign-in with an API token (exchanged for the session cookie) and sign-out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.db import session_scope
from app.errors import Unauthorized
from app.services.tokens import authenticate, touch_token
from app.web import auth
from app.web.pages import HtmlRoute, checked_session, render, settings_of

router = APIRouter(route_class=HtmlRoute, include_in_schema=False)


def _safe_next(target: str | None) -> str:
    """Only same-site paths are followed after sign-in (no open redirect)."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return "/"


def _signin_page(request: Request, *, next_url: str, error: str | None, status_code: int) -> HTMLResponse:
    nonce = auth.new_signin_nonce()
    context = {"next": next_url, "error": error, "signin_csrf": auth.signin_csrf(settings_of(request), nonce)}
    response = render(request, "signin.html", context, status_code=status_code)
    auth.set_signin_cookie(response, request, nonce)
    return response


@router.get("/signin")
def signin_form(request: Request, next: str | None = None) -> Response:
    """The sign-in form (or the target page, if already signed in)."""
    if auth.session_from_request(request, settings_of(request)) is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    return _signin_page(request, next_url=_safe_next(next), error=None, status_code=200)


@router.post("/signin")
async def signin(request: Request) -> Response:
    """Exchange an API token for a session cookie; 401 with the form again for a wrong or revoked token."""
    settings = settings_of(request)
    form = await request.form()
    next_url = _safe_next(str(form.get("next") or "/"))
    if not auth.signin_csrf_ok(settings, request.cookies.get(auth.SIGNIN_COOKIE), form.get(auth.CSRF_FIELD)):
        error = "The sign-in form had expired or did not come from this site. Please try again."
        return _signin_page(request, next_url=next_url, error=error, status_code=403)
    token_text = str(form.get("token") or "").strip()
    try:
        with session_scope(settings.database_url, read_only=True) as db:
            token = authenticate(db, token=token_text)
            db.expunge(token)
    except Unauthorized:
        error = "That token is not valid (unknown or revoked). Create one with `mltrain tokens create --name NAME`."
        return _signin_page(request, next_url=next_url, error=error, status_code=401)
    with session_scope(settings.database_url) as db:
        touch_token(db, token_id=token.id, last_used_at=token.last_used_at)
    response = RedirectResponse(next_url, status_code=303)
    auth.set_session_cookie(response, request, auth.make_cookie(settings, token))
    response.delete_cookie(auth.SIGNIN_COOKIE, path="/signin")
    return response


@router.post("/signout")
def signout(request: Request, _: Annotated[auth.WebSession, Depends(checked_session)]) -> Response:
    """End the session in this browser (revoking the token ends every session made with it)."""
    response = RedirectResponse("/signin", status_code=303)
    auth.clear_session_cookie(response, request)
    return response

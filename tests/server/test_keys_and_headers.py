"""Admin key routes (list and revoke keys of the caller's workspace) and the security headers that
every response carries: API, UI pages, static files, errors (401, 404, 413, 422, 500) and the docs."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

from framescout.server import Settings, create_app
from framescout.server.cache import TTLCache
from framescout.server.security import API_CSP, DOCS_CSP, UI_CSP

HTML = {"Accept": "text/html"}


def _sign_in(client: TestClient, key: str) -> None:
    page = client.get("/ui/login")
    token = re.search(r'name="login_csrf" value="([^"]+)"', page.text)
    assert token, page.text
    done = client.post(
        "/ui/login", data={"api_key": key, "login_csrf": token.group(1)}, follow_redirects=False
    )
    assert done.status_code == 303, done.text


def _assert_secured(response: Any, csp: str) -> None:
    headers = response.headers
    assert headers["x-content-type-options"] == "nosniff", response.request.url
    assert headers["referrer-policy"] == "same-origin"
    assert headers["x-frame-options"] == "DENY"
    assert headers.get_list("content-security-policy") == [csp], response.request.url
    assert len(headers.get_list("x-frame-options")) == 1  # the UI's own header is not doubled


def test_list_and_revoke_keys_of_my_workspace(env: Any) -> None:
    created = env.client.post("/api/v1/workspaces/acme/keys", headers=env.auth(), json={"name": "cam 2"})
    assert created.status_code == 201
    new = created.json()
    assert new["id"] and new["key"].startswith(new["prefix"])

    listed = env.client.get("/api/v1/workspaces/acme/keys", headers=env.auth())
    assert listed.status_code == 200
    keys = listed.json()["keys"]
    assert {k["name"] for k in keys} == {"", "cam 2"}
    assert all(k["workspace"] == "acme" and k["revoked_at"] is None for k in keys)
    assert env.key not in listed.text and new["key"] not in listed.text  # never the keys themselves
    assert "key_hash" not in listed.text

    # Another workspace's keys are neither listed nor revocable (404 revealing nothing).
    other = env.client.get("/api/v1/workspaces/other/keys", headers=env.auth(env.other_key)).json()
    other_id = other["keys"][0]["id"]
    assert other_id not in {k["id"] for k in keys}
    assert env.client.get("/api/v1/workspaces/other/keys", headers=env.auth()).status_code == 404
    cross = env.client.delete(f"/api/v1/workspaces/acme/keys/{other_id}", headers=env.auth())
    assert cross.status_code == 404 and cross.json()["error"]["code"] == "key_not_found"

    # The new key works, is revoked, and is refused at once on this worker.
    assert env.client.get("/api/v1/whoami", headers=env.auth(new["key"])).status_code == 200
    revoked = env.client.delete(f"/api/v1/workspaces/acme/keys/{new['id']}", headers=env.auth())
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    refused = env.client.get("/api/v1/whoami", headers=env.auth(new["key"]))
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "invalid_api_key"
    again = env.client.delete(f"/api/v1/workspaces/acme/keys/{new['id']}", headers=env.auth())
    assert again.status_code == 200 and again.json()["revoked_at"] == revoked.json()["revoked_at"]
    after = env.client.get("/api/v1/workspaces/acme/keys", headers=env.auth()).json()["keys"]
    assert [k["id"] for k in after if k["revoked_at"]] == [new["id"]]  # kept, shown as revoked

    # A key may revoke itself; from then on it is refused.
    me = next(k["id"] for k in after if not k["revoked_at"])
    assert env.client.delete(f"/api/v1/workspaces/acme/keys/{me}", headers=env.auth()).status_code == 200
    assert env.client.get("/api/v1/whoami", headers=env.auth()).status_code == 401


def test_revocation_ends_the_keys_ui_session(env: Any) -> None:
    created = env.client.post("/api/v1/workspaces/acme/keys", headers=env.auth(), json={}).json()
    _sign_in(env.client, created["key"])
    assert env.client.get("/ui/", headers=HTML).status_code == 200
    env.client.delete(f"/api/v1/workspaces/acme/keys/{created['id']}", headers=env.auth())
    page = env.client.get("/ui/", headers=HTML, follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/ui/login")
    # Signing in again with the revoked key is refused.
    form = env.client.get("/ui/login")
    token = re.search(r'name="login_csrf" value="([^"]+)"', form.text)
    assert token
    refused = env.client.post(
        "/ui/login", data={"api_key": created["key"], "login_csrf": token.group(1)}, follow_redirects=False
    )
    assert refused.status_code == 401


def test_security_headers_on_every_kind_of_response(env: Any) -> None:
    client = env.client
    _assert_secured(client.get("/healthz"), API_CSP)
    _assert_secured(client.get("/api/v1/whoami", headers=env.auth()), API_CSP)
    _assert_secured(client.get("/api/v1/whoami"), API_CSP)  # 401
    _assert_secured(client.get("/api/v1/projects/acme/nope", headers=env.auth()), API_CSP)  # 404
    _assert_secured(  # 422
        client.post("/api/v1/workspaces/acme/projects", headers=env.auth(), json={"name": 5}), API_CSP
    )
    big = client.post(  # 413, answered by the body-size middleware itself
        "/api/v1/projects/acme/cams/images", headers=env.auth(), content=b"x" * 5_000_000
    )
    assert big.status_code == 413
    _assert_secured(big, API_CSP)
    _assert_secured(client.get("/ui/login"), UI_CSP)
    _assert_secured(client.get("/ui/static/review.js"), UI_CSP)
    _assert_secured(client.get("/ui/p/cams", headers=HTML, follow_redirects=False), UI_CSP)  # 303
    _sign_in(client, env.key)
    _assert_secured(client.get("/ui/"), UI_CSP)
    _assert_secured(client.get("/ui/p/nope", headers=HTML), UI_CSP)  # the UI's error page
    docs = client.get("/docs")
    assert docs.status_code == 200 and "swagger-ui" in docs.text
    _assert_secured(docs, DOCS_CSP)  # Swagger UI's CDN assets and inline bootstrap still load
    _assert_secured(client.get("/redoc"), DOCS_CSP)
    _assert_secured(client.get("/openapi.json"), API_CSP)


def test_an_unexpected_error_is_a_500_json_with_the_headers(env: Any) -> None:
    """An exception escaping a route still answers the usual 500 JSON, headers included."""
    settings = Settings(data_dir=env.store.data_dir)
    app = create_app(settings, env.store)

    def boom() -> None:
        raise RuntimeError("kaboom")

    app.add_api_route("/api/v1/test-boom", boom)
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/api/v1/test-boom")
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"
    assert "kaboom" not in response.text
    _assert_secured(response, API_CSP)


def test_ui_templates_have_no_inline_script() -> None:
    """The UI's CSP allows scripts only from /ui/static: no inline handlers or javascript: URLs."""
    from framescout.server.web.templating import HERE

    templates = sorted((HERE / "templates").glob("*.html"))
    assert len(templates) >= 5
    for template in templates:
        text = template.read_text()
        assert not re.search(r"\son[a-z]+\s*=", text), template.name
        assert "javascript:" not in text, template.name
        for script in re.findall(r"<script[^>]*>", text):
            assert 'type="application/json"' in script or "src=" in script, (template.name, script)


def test_a_lookup_that_began_before_a_clear_is_not_cached() -> None:
    """A worker thread that read a key before its revocation must not put that answer back into the
    cache after the revocation cleared it (the stale entry would live for the whole TTL)."""
    cache: TTLCache[str, str] = TTLCache(30.0)

    def load_then_revocation_lands() -> str:
        cache.clear()  # what the generation poll does while this load is in flight
        return "stale"

    assert cache.get("k", load_then_revocation_lands) == "stale"
    assert cache.get("k", lambda: "fresh") == "fresh"  # the stale answer was not kept
    assert cache.get("k", lambda: "again") == "fresh"  # an undisturbed load is cached as before

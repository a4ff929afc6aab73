"""Behind a TLS-terminating reverse proxy (docs/deployment.md): the review UI's sign-in cookie is
``Secure`` when the proxy says the request came over HTTPS (``X-Forwarded-Proto``), and uvicorn
believes that header only from the addresses in ``FORWARDED_ALLOW_IPS``. A real ``serve`` process."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from framescout.server.process import ServerProcess
from framescout.server.web.session import COOKIE

HTTPS = {"X-Forwarded-Proto": "https"}


def _session_cookie(url: str, key: str, headers: dict[str, str]) -> str:
    """The ``Set-Cookie`` header of a sign-in through the proxy (``headers`` as the proxy sets them)."""
    with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
        page = client.get("/ui/login")
        token = re.search(r'name="login_csrf" value="([^"]+)"', page.text)
        assert token is not None, page.text
        signed = client.post("/ui/login", data={"api_key": key, "login_csrf": token.group(1)})
    assert signed.status_code == 303, signed.text
    [cookie] = [c for c in signed.headers.get_list("set-cookie") if c.startswith(f"{COOKIE}=")]
    return cookie


@pytest.mark.parametrize(
    ("allow", "headers", "secure"),
    [(None, HTTPS, True), (None, {}, False), ("10.9.9.9", HTTPS, False)],
    ids=["proxy-on-loopback-says-https", "plain-http", "untrusted-proxy"],
)
def test_the_session_cookie_is_secure_only_when_a_trusted_proxy_says_https(
    tmp_path: Path, allow: str | None, headers: dict[str, str], secure: bool
) -> None:
    env = {"FORWARDED_ALLOW_IPS": allow} if allow else {}
    server = ServerProcess(tmp_path / "data", env=env)
    key = server.create_key("acme")
    with server:
        cookie = _session_cookie(server.url, key, headers)
    assert ("secure" in cookie.lower().split("; ")) is secure, cookie

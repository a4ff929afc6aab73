"""The Rules page over HTTP: the current rules with their ETag and history, a server-side diff, and
the editor saving through the store's ``put`` (CSRF, key errors with their lines, If-Match)."""

from __future__ import annotations

import html
import re
from typing import Any

from framescout.server.web.rules import key_line
from framescout.store.project_rules import MAX_RULES_BYTES
from server.web.test_pages import csrf_of, sign_in

PAGE = "/ui/p/cams/rules"
API = "/api/v1/projects/acme/cams/rules"
RULES = "rules:\n  - name: low\n    type: confidence\n    below: 0.4\n"


def _sign_in(env: Any) -> str:
    sign_in(env, reviewer="Alice")
    return csrf_of(env, PAGE)


def _save(env: Any, form: dict[str, str]) -> Any:
    return env.client.post(PAGE, data=form, follow_redirects=False)


def _form(csrf: str, text: str, if_match: str = "", fmt: str = "yaml") -> dict[str, str]:
    return {"csrf": csrf, "text": text, "format": fmt, "if_match": if_match}


def test_key_line_finds_keys_in_yaml_and_json() -> None:
    text = "seed: 1\nrules:\n  - name: a\n    type: random\n    limits:\n      per_minute: 0\n"
    assert key_line(text, "rules[0].limits.per_minute") == 6
    assert key_line(text, "rules[0].bellow") == 3  # missing key: its rule's line
    assert key_line('{"rules": [\n {"type": "random",\n  "probability": 7}]}', "rules[0].probability") == 3
    assert key_line("rules: [", "rules") is None


def test_the_page_shows_rules_history_and_a_diff(env: Any) -> None:
    csrf = _sign_in(env)
    empty = env.client.get(PAGE)
    assert empty.status_code == 200 and 'id="no-rules"' in empty.text
    assert "framescout rules push acme/cams rules.yaml" in html.unescape(empty.text)
    first = env.client.put(API, headers={**env.auth(), "Content-Type": "application/yaml"}, content=RULES)
    second = _save(env, _form(csrf, RULES.replace("0.4", "0.3"), first.json()["etag"]))
    assert second.status_code == 303 and second.headers["location"] == f"{PAGE}?saved=2"
    page = env.client.get(f"{PAGE}?saved=2")
    text = html.unescape(page.text)
    assert "Saved as version 2." in text
    current = env.client.get(API, headers=env.auth())
    assert current.text == RULES.replace("0.4", "0.3")  # the API serves what the editor saved
    assert f'<code id="current-etag">{current.headers["etag"].strip(chr(34))}</code>' in page.text
    rows = re.findall(r"<tr><td class=\"num\">(\d+)</td>.*?<td>([^<]*)</td><td>", page.text)
    assert [(n, who) for n, who in rows] == [("2", "Alice"), ("1", first.json()["pushed_by"])]
    diffed = env.client.get(f"{PAGE}?from={first.json()['etag']}&to={current.headers['etag'][1:-1]}")
    lines = re.findall(r'<span class="(add|del)">([^<]*)</span>', diffed.text)
    assert lines == [("del", "-    below: 0.4"), ("add", "+    below: 0.3")]
    same = env.client.get(f"{PAGE}?from={first.json()['etag']}&to={first.json()['etag']}")
    assert "The two versions have the same text." in same.text


def test_a_bad_save_shows_each_key_with_its_line_and_keeps_the_text(env: Any) -> None:
    csrf = _sign_in(env)
    bad = RULES.replace("below: 0.4", "below: 4") + "  - type: random\n    probabilty: 0.1\n"
    refused = _save(env, _form(csrf, bad))
    assert refused.status_code == 422
    problems = re.findall(
        r'<code class="key">([^<]+)</code> <span class="muted">line (\d+)</span><br><span class="message">',
        refused.text,
    )
    assert problems == [("rules[0].below", "4"), ("rules[1].probability", "5"), ("rules[1].probabilty", "6")]
    assert "did you mean &#39;probability&#39;?" in refused.text
    assert html.escape(bad) in refused.text  # the text as typed is still in the editor
    assert env.client.get(API, headers=env.auth()).status_code == 404  # nothing saved
    broken = _save(env, _form(csrf, "rules: ["))
    assert broken.status_code == 422 and "invalid YAML" in broken.text
    big = _save(env, _form(csrf, RULES + "#" * MAX_RULES_BYTES))
    assert big.status_code == 413 and "at most 262,144" in big.text


def test_saving_needs_the_csrf_token_and_refuses_a_stale_version(env: Any) -> None:
    csrf = _sign_in(env)
    forged = _save(env, _form("nope", RULES))
    assert forged.status_code == 403
    assert env.client.get(API, headers=env.auth()).status_code == 404
    assert _save(env, _form(csrf, RULES)).status_code == 303
    opened = re.search(r'name="if_match" value="([0-9a-f]{64})"', env.client.get(PAGE).text)
    assert opened
    env.client.put(API, headers={**env.auth(), "Content-Type": "application/yaml"}, content=RULES + "#\n")
    stale = _save(env, _form(csrf, RULES.replace("0.4", "0.2"), opened.group(1)))
    assert stale.status_code == 412 and "Someone saved a newer version meanwhile" in stale.text
    again = re.search(r'name="if_match" value="([0-9a-f]{64})"', stale.text)
    assert again and again.group(1) != opened.group(1)  # told now: saving again replaces it
    assert _save(env, _form(csrf, RULES.replace("0.4", "0.2"), again.group(1))).status_code == 303
    unchanged = _save(env, _form(csrf, RULES.replace("0.4", "0.2")))
    assert unchanged.headers["location"] == f"{PAGE}?saved=unchanged"

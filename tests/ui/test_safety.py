"""Safe by default: markup in files stays text, only indexed files are served, foreign Hosts are refused,
and the page never takes the index's writer lock (it only reads)."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest
import requests

from tests.ui.conftest import build_index, ui_process

EVIL = (
    "# Quokka <img src=x onerror=alert(2)> handbook\n\n"
    'The quokka keeper\'s rule: <script>alert(1)</script> must stay text, and so must "quotes" & ampersands.\n'
)
NOTES = "Pancakes\n\nMix flour, eggs and milk; fry the pancakes in butter until golden.\n"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Iterator[tuple[str, Path, Path]]:
    """(URL, index folder, corpus folder) for a two-file corpus, one of them hostile."""
    base = tmp_path_factory.mktemp("ui-safety")
    corpus = base / "corpus"
    corpus.mkdir()
    (corpus / "evil.md").write_text(EVIL)
    (corpus / "pancakes.txt").write_text(NOTES)
    index = build_index(base / "index", corpus)
    with ui_process(index) as (url, _):
        yield url, index, corpus


def raw_get(url: str, path: str, host: str | None = None) -> tuple[int, str]:
    """GET exactly `path` (no client-side normalization of `..`), optionally with another Host header."""
    parsed = urlparse(url)
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)
    try:
        conn.putrequest("GET", path, skip_host=host is not None)
        if host is not None:
            conn.putheader("Host", host)
        conn.endheaders()
        response = conn.getresponse()
        return response.status, response.read().decode("utf-8", "replace")
    finally:
        conn.close()


def file_ids(url: str) -> dict[str, int]:
    hits = requests.get(url + "api/search", params={"q": "quokka pancakes", "k": 10, "mode": "keyword"}).json()
    return {Path(h["path"]).name: h["file_id"] for h in hits["results"]}


def test_binds_loopback_by_default(tiny):
    url, _, _ = tiny
    assert url.startswith("http://127.0.0.1:")  # ui_process passes no --host


def test_a_script_in_a_file_is_shown_as_text_and_no_dialog_opens(tiny, page):
    url, _, _ = tiny
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(url)
    page.locator("#q").press_sequentially("quokka keeper rule", delay=10)
    page.wait_for_selector("#results li.card")
    card = page.locator("#results li.card").first
    assert card.locator(".path").inner_text() == "evil.md"
    assert card.locator(".heading").inner_text() == "Quokka <img src=x onerror=alert(2)> handbook"
    assert "<script>alert(1)</script>" in card.locator(".snippet").inner_text()
    page.locator("#q").press("Enter")
    page.wait_for_url(lambda u: "/file/" in u)
    text = page.locator(".file-text").inner_text()
    assert "<script>alert(1)</script>" in text and "<img src=x onerror=alert(2)>" in text
    assert page.locator(".file-text script, .file-text img, main img").count() == 0
    assert page.locator("script").count() == 1  # only the page's own ui.js
    page.wait_for_timeout(300)
    assert dialogs == []
    # the server-rendered search page (JavaScript's path not taken) escapes the same texts
    page.goto(url + "?q=quokka+keeper+rule")
    assert "<script>alert(1)</script>" in page.locator("#results").inner_text()
    assert page.locator("main script, main img").count() == 0
    assert dialogs == []


def test_pages_forbid_inline_script(tiny):
    url, _, _ = tiny
    policy = requests.get(url).headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy


def test_a_file_outside_the_index_is_refused(tiny):
    url, _, corpus = tiny
    ids = file_ids(url)
    assert set(ids) == {"evil.md", "pancakes.txt"}
    outside = max(ids.values()) + 1000
    for path in (
        f"/file/{outside}",
        "/file/99999999999999999999999999",
        "/api/file/99999999999999999999999999",
        f"/api/file/{outside}",
        "/file/../../../../etc/passwd",
        "/file/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "/file/%2Fetc%2Fpasswd",
        "/api/file/..%2F..%2Fetc%2Fpasswd",
        "/static/../../../../../etc/passwd",
        "/static/%2e%2e/reader.py",
        "/static/..%2F__init__.py",
        f"/file/{ids['evil.md']}/../../etc/passwd",
    ):
        status, body = raw_get(url, path)
        assert status == 404, (path, status)
        assert "root:" not in body and "import " not in body, path
    # the id is the only thing that picks a file: a path in the query is ignored
    status, body = raw_get(url, f"/file/{ids['pancakes.txt']}?path=/etc/passwd&file=/etc/passwd")
    assert status == 200 and "Pancakes" in body and "root:" not in body
    # a chunk of another file is not a way in either
    evil_chunk = requests.get(url + f"api/file/{ids['evil.md']}").json()["chunks"][0]["chunk_id"]
    status, _ = raw_get(url, f"/file/{ids['pancakes.txt']}?chunk={evil_chunk}")
    assert status == 404
    assert requests.get(url + f"api/file/{outside}").json()["error"] == f"the index holds no file with id {outside}"


def test_a_foreign_host_header_is_refused(tiny):
    url, _, _ = tiny
    port = urlparse(url).port
    assert raw_get(url, "/", host="evil.example")[0] == 403
    assert raw_get(url, "/api/search?q=quokka", host=f"rebind.attacker.test:{port}")[0] == 403
    assert raw_get(url, "/", host=f"localhost:{port}")[0] == 200
    assert raw_get(url, "/", host=f"127.0.0.1:{port}")[0] == 200


def test_bad_api_parameters_get_a_one_line_error(tiny):
    url, _, _ = tiny
    for params, message in (
        ({"q": "x", "mode": "fuzzy"}, "unknown search mode 'fuzzy': choose one of auto, dense, keyword, hybrid"),
        ({"q": "x", "k": "many"}, "k must be a whole number of results, not 'many'"),
        ({"q": "x", "k": "0"}, "k must be between 1 and 100, not 0"),
    ):
        response = requests.get(url + "api/search", params=params)
        assert response.status_code == 400
        assert response.json() == {"error": message}
    empty = requests.get(url + "api/search", params={"q": "  "})
    assert empty.status_code == 200 and empty.json()["results"] == []


def run_cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "SEMSEARCH_EMBEDDER": "local"}  # `rm` takes no --embedder: it embeds nothing
    return subprocess.run(
        [sys.executable, "-m", "semsearch", *args], capture_output=True, text=True, timeout=300, env=env
    )


def test_the_page_only_reads_so_indexing_goes_on_and_its_results_appear(tiny):
    url, index, corpus = tiny
    assert requests.get(url + "api/search", params={"q": "wombat burrow", "mode": "keyword"}).json()["results"] == []
    (corpus / "wombats.md").write_text("# Wombats\n\nA wombat digs its burrow with strong claws.\n")
    # --no-wait exits 75 if anyone holds the writer lock: the running page must not
    result = run_cli("index", str(corpus), "--index", str(index), "--no-wait")
    assert result.returncode == 0, result.stderr
    hits = requests.get(url + "api/search", params={"q": "wombat burrow"}).json()["results"]
    assert hits and hits[0]["path"] == "wombats.md"
    status = requests.get(url + "api/status").json()
    assert status["files"] == 3
    # a file removed from the index is no longer served, even though it is still on disk
    wombat_id = hits[0]["file_id"]
    result = run_cli("rm", str(corpus / "wombats.md"), "--index", str(index), "--no-wait")
    assert result.returncode == 0, result.stderr
    assert requests.get(url + f"file/{wombat_id}").status_code == 404
    assert json.loads(requests.get(url + "api/status").text)["files"] == 2


def test_a_missing_index_is_one_line_not_a_traceback(tmp_path):
    result = run_cli("ui", "--index", str(tmp_path / "nowhere"), "--port", "0")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"Error: no index at {tmp_path / 'nowhere'}: build one with `semsearch index PATH... --index "
        f"{tmp_path / 'nowhere'}`"
    ]
    assert not (tmp_path / "nowhere").exists()  # reading never creates an index


def test_a_file_changed_since_indexing_shows_its_indexed_text_not_the_new_one(tiny):
    url, _, corpus = tiny
    pancakes = corpus / "pancakes.txt"
    file_id = file_ids(url)["pancakes.txt"]
    original = pancakes.read_bytes()
    try:
        pancakes.write_text("root:x:0:0:root:/root:/bin/bash\n")  # e.g. swapped for a secret after indexing
        status, body = raw_get(url, f"/file/{file_id}?q=pancakes")
        assert status == 200
        assert "root:x:0:0" not in body
        assert "The file has changed since it was indexed; showing its indexed passages." in body
        assert "<mark>pancakes</mark> in butter" in body  # the indexed passage, query words marked
    finally:
        pancakes.write_bytes(original)
    status, body = raw_get(url, f"/file/{file_id}")
    assert status == 200 and 'class="code"' in body and "changed since" not in body


def test_open_starts_the_browser_on_the_page(tiny, tmp_path):
    _, index, _ = tiny
    opened = tmp_path / "opened.txt"
    browser = tmp_path / "browser.sh"
    browser.write_text(f'#!/bin/sh\necho "$1" > {opened}\n')
    browser.chmod(0o755)
    with ui_process(index, "--open", env={"BROWSER": f"{browser} %s"}) as (url, _):
        for _ in range(100):
            if opened.exists() and opened.read_text().strip():
                break
            time.sleep(0.1)
        assert opened.read_text().strip() == url


def test_a_port_in_use_is_one_line(tiny):
    url, index, _ = tiny
    port = urlparse(url).port
    result = run_cli("ui", "--index", str(index), "--port", str(port))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"Error: cannot listen on 127.0.0.1:{port}: Address already in use; try another --port, e.g. --port {port + 1}"
    ]


def test_json_status_and_map_describe_the_index(tiny):
    url, index, _ = tiny
    status = requests.get(url + "api/status").json()
    assert status["index"] == str(index) and status["model"] == "all-minilm" and status["files"] >= 2
    corpus = requests.get(url + "api/map").json()
    assert corpus["total_chunks"] == status["chunks"] == len(corpus["points"])
    assert {p["path"] for p in corpus["points"]} >= {"evil.md", "pancakes.txt"}
    assert [g["name"] for g in corpus["groups"]] == ["(top-level files)"]


def test_a_missing_chromium_fails_and_says_how_to_install_it():
    from tests.ui.conftest import find_chromium

    with pytest.raises(pytest.fail.Exception, match=r"apt-get update && apt-get install -y chromium"):
        find_chromium({"PATH": "/nonexistent"})
    with pytest.raises(pytest.fail.Exception, match=r"SEMSEARCH_CHROMIUM=/nope is not an executable file"):
        find_chromium({"SEMSEARCH_CHROMIUM": "/nope", "PATH": "/usr/bin"})


def test_each_result_links_to_the_files_like_it(tiny):
    url, _, _ = tiny
    ids = file_ids(url)
    hits = requests.get(url + "api/search", params={"q": "pancakes", "k": 10, "mode": "keyword"}).json()["results"]
    assert [h["similar_url"] for h in hits] == [f"/similar/{h['file_id']}" for h in hits]
    status, body = raw_get(url, "/?q=pancakes&mode=keyword")
    assert status == 200 and f'<a class="similar" href="/similar/{ids["pancakes.txt"]}">similar</a>' in body
    status, body = raw_get(url, f"/similar/{ids['pancakes.txt']}")
    assert status == 200 and "Files like" in body and "1 similar file" in body
    assert f'href="/file/{ids["evil.md"]}' in body and f'href="/file/{ids["pancakes.txt"]}' not in body
    status, body = raw_get(url, f"/similar/{max(ids.values()) + 1000}")
    assert status == 404 and "the index holds no file with id" in body

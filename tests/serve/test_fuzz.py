"""Thousands of malformed requests to a real `semsearch serve`: no 5xx, Ollama's errors, still embeds.

A seeded generator (reproducible: the seed is in the failure message) mutates valid bodies
of every route with hostile values (wrong types, NaN/Infinity literals, numbers past float
range, lone surrogates, 20,000-deep nesting, huge inputs) and sends raw garbage too.
"""

from __future__ import annotations

import json
import random

import pytest
import requests

from tests.conftest import server_process
from tests.serve.test_api import SKY

SEED = 20_261_126
REQUESTS = 2000

POST_ROUTES = ["/api/embed", "/api/embeddings", "/v1/embeddings", "/api/show"]
GET_ROUTES = ["/", "/api/version", "/api/tags", "/api/ps"]
UNKNOWN = ["/api/nothing", "/api/embed/", "/API/EMBED", "/v1/embeddings/x", "/api", "/%00", "/api/generate", "//"]

# Raw JSON fragments (bytes), so values Python's json.dumps cannot write are sent too.
HOSTILE_VALUES = [
    b"null", b"true", b"false", b"0", b"-1", b"1", b"8", b"383", b"384", b"100000", b"1e12", b"-1e12", b"1e400",
    b"1" + b"0" * 400, b"-0.0", b"0.5", b"NaN", b"Infinity", b"-Infinity", b'""', b'" "', b'"8"', b'"x"',
    b'"all-minilm"', b'"all-minilm:latest"', b'"nope"', b'"\\ud800"', b'"a\\udfffb"', b'"\\u0000"', b'"5m"',
    b'"-1"', b'"1e12"', b'"nan"', b'"float"', b'"base64"', b"[]", b"{}", b"[1]", b'["a", 1]', b'["a", null]',
    b'["why", "is", "the", "sky"]', b'[""]', b'{"num_ctx": 1}', b'{"num_ctx": 0}', b'{"num_ctx": "8"}',
    b'{"num_ctx": 1e400}', b'{"num_ctx": 2.0}', b'{"num_ctx": -3}', b'[[["x"]]]',
    b"[" * 20_000 + b"]" * 20_000, b'{"a":' * 5_000 + b"1" + b"}" * 5_000,
    json.dumps("word " * 2000).encode(), json.dumps(["tiny"] * 40).encode(),
]  # fmt: skip
FIELDS = ["model", "input", "prompt", "truncate", "dimensions", "options", "keep_alive", "encoding_format", "name"]
GARBAGE = [
    b"", b" ", b"\n\t", b"{", b"}", b"[", b'{"model": "all-minilm"', b"{'model': 'all-minilm'}", b"null", b"1",
    b'"x"', b"[]", b"\xff\xfe\x00", b"\xef\xbb\xbf{}", b'{"model": "all-minilm", "input": "\xff"}', b"{}" * 3,
    b'{"model": "all-minilm", "model": 5}', b'{"input": ' + b"[" * 30_000,
]  # fmt: skip


def valid_body(path: str) -> dict[str, bytes]:
    if path == "/api/embeddings":
        return {"model": b'"all-minilm"', "prompt": b'"Why is the sky blue?"'}
    if path == "/api/show":
        return {"model": b'"all-minilm"'}
    return {"model": b'"all-minilm"', "input": b'"Why is the sky blue?"'}


def render(fields: dict[str, bytes]) -> bytes:
    return b"{" + b",".join(json.dumps(k).encode() + b":" + v for k, v in fields.items()) + b"}"


def generate(rng: random.Random):
    """(method, path, body) triples: mostly mutated bodies, some garbage, some wrong routes."""
    for _ in range(REQUESTS):
        roll = rng.random()
        if roll < 0.05:
            yield rng.choice(["GET", "POST", "PUT", "DELETE", "PATCH"]), rng.choice(UNKNOWN), rng.choice(GARBAGE)
        elif roll < 0.10:
            path = rng.choice(GET_ROUTES + POST_ROUTES)
            method = "POST" if path in GET_ROUTES[1:] else rng.choice(["GET", "PUT", "DELETE"])
            yield method, path, b""
        elif roll < 0.15:
            yield "GET", rng.choice(GET_ROUTES), b""
        elif roll < 0.30:
            yield "POST", rng.choice(POST_ROUTES), rng.choice(GARBAGE)
        else:
            path = rng.choice(POST_ROUTES)
            fields = valid_body(path)
            for _ in range(rng.randint(1, 3)):
                fields[rng.choice(FIELDS)] = rng.choice(HOSTILE_VALUES)
            if rng.random() < 0.1:
                del fields[rng.choice(list(fields))]
            yield "POST", path, render(fields)


def is_real_route(method: str, path: str) -> bool:
    return (method == "POST" and path in POST_ROUTES) or (method in ("GET", "HEAD") and path in GET_ROUTES)


@pytest.mark.slow
def test_fuzzed_requests_never_get_a_5xx_and_errors_are_ollamas():
    rng = random.Random(SEED)
    seen: dict[int, int] = {}
    with server_process() as (url, process), requests.Session() as session:
        for number, (method, path, body) in enumerate(generate(rng)):
            where = f"request {number} (seed {SEED}): {method} {path} {body[:120]!r}"
            reply = session.request(method, url + path, data=body, timeout=60)
            seen[reply.status_code] = seen.get(reply.status_code, 0) + 1
            assert reply.status_code < 500, f"{where} -> {reply.status_code} {reply.text[:300]}"
            if not is_real_route(method, path):
                assert (reply.status_code, reply.text) == (404, "404 page not found"), where
            elif reply.status_code >= 400:
                error = reply.json()["error"]
                if path.startswith("/v1/"):
                    assert set(error) == {"message", "type", "param", "code"} and error["message"], where
                else:
                    assert isinstance(error, str) and error, where
        # Still serving, with the right vectors.
        reply = session.post(url + "/api/embed", json={"model": "all-minilm", "input": "Why is the sky blue?"})
        assert reply.status_code == 200
        assert reply.json()["embeddings"][0][:10] == pytest.approx(SKY, abs=1e-3)
        assert session.get(url + "/api/ps").status_code == 200
    # The run exercised both sides: plenty of successes and plenty of refusals.
    assert seen.get(200, 0) > REQUESTS // 10 and sum(n for s, n in seen.items() if 400 <= s < 500) > REQUESTS // 3

"""OllamaClient against a real `semsearch serve`, and against a fake only for 503/drops/slowness."""

from __future__ import annotations

import pytest

from semsearch.embed import get_embedder
from semsearch.embed.local import LocalEmbedder
from semsearch.embed.ollama import OllamaClient, OllamaEmbedder, parse_host
from semsearch.errors import EmbedderHTTPError
from tests.conftest import free_port
from tests.embed.fake_ollama import fake_ollama


@pytest.mark.parametrize(
    "value, expected",
    [
        ("", "http://127.0.0.1:11434"),
        ("1.2.3.4", "http://1.2.3.4:11434"),
        ("0.0.0.0", "http://0.0.0.0:11434"),
        (":1234", "http://127.0.0.1:1234"),
        ("example.com:56789", "http://example.com:56789"),
        ("https://example.com", "https://example.com:443"),
        ("http://example.com/path/", "http://example.com:80/path"),
        ("::1", "http://[::1]:11434"),
        ("[::1]:8080", "http://[::1]:8080"),
    ],
)
def test_host_forms_are_read_as_ollamas_python_client_reads_them(value, expected):
    assert parse_host(value) == expected


def test_ollama_host_environment_is_the_fallback(monkeypatch):
    monkeypatch.setenv("OLLAMA_HOST", ":4321")
    assert OllamaClient().base_url == "http://127.0.0.1:4321"
    assert OllamaClient("10.0.0.1").base_url == "http://10.0.0.1:11434"


def test_client_batches_and_keeps_order_against_a_real_server(live_server):
    client = OllamaClient(live_server, batch_size=3)
    texts = [f"text {i} " * (i + 1) for i in range(8)]
    result = client.embed(texts, "all-minilm")
    local = LocalEmbedder().embed(texts)
    assert result.vectors.shape == (8, 384)
    assert (result.vectors * local).sum(axis=1) == pytest.approx([1.0] * 8, abs=1e-5)


def test_batches_are_separate_requests():
    with fake_ollama([]) as (url, fake):
        OllamaClient(url, batch_size=3).embed(["a", "bb", "ccc", "dddd", "eeeee", "f", "g"], "m")
        assert [r["input"] for r in fake.requests] == [["a", "bb", "ccc"], ["dddd", "eeeee", "f"], ["g"]]


def test_errors_carry_the_status_and_the_servers_error_text(live_server):
    client = OllamaClient(live_server)
    with pytest.raises(EmbedderHTTPError) as info:
        client.embed(["hi"], "no-such-model")
    assert info.value.status == 404 and 'model "no-such-model" not found' in str(info.value)
    with pytest.raises(EmbedderHTTPError) as info:
        client.embed(["word " * 1000], "all-minilm", truncate=False)
    assert info.value.status == 400 and "exceeds the context length" in str(info.value)
    with pytest.raises(EmbedderHTTPError) as info:
        client.request("POST", "/api/embed", {"model": "all-minilm", "input": [1]})
    assert info.value.status == 400 and "invalid input type" in str(info.value)
    assert "ollama pull no-such-model" in str(_raised(lambda: client.embed(["hi"], "no-such-model")))


def _raised(action) -> EmbedderHTTPError:
    with pytest.raises(EmbedderHTTPError) as info:
        action()
    return info.value


def test_a_model_that_cannot_embed_is_named_with_what_to_use_instead():
    with fake_ollama(["501"]) as (url, fake):
        error = _raised(lambda: OllamaClient(url, backoff=0.01).embed(["abc"], "llama3.2"))
    assert error.status == 501 and len(fake.requests) == 1  # not retried
    assert "does not support embeddings" in str(error) and "llama3.2 is not an embedding model" in str(error)


def test_503_is_retried_then_succeeds():
    with fake_ollama(["503", "503"]) as (url, fake):
        result = OllamaClient(url, backoff=0.01).embed(["abc"], "m")
        assert len(fake.requests) == 3 and result.vectors[0][0] == 3.0


def test_503_that_never_ends_becomes_a_clear_error():
    with fake_ollama(["503"] * 10) as (url, _):
        with pytest.raises(EmbedderHTTPError) as info:
            OllamaClient(url, backoff=0.01, retries=2).embed(["abc"], "m")
        assert info.value.status == 503 and "server busy" in str(info.value)


def test_dropped_connection_is_retried():
    with fake_ollama(["drop"]) as (url, fake):
        result = OllamaClient(url, backoff=0.01).embed(["abcd"], "m")
        assert len(fake.requests) == 2 and result.vectors[0][0] == 4.0


def test_server_errors_are_not_retried():
    with fake_ollama(["500"]) as (url, fake):
        with pytest.raises(EmbedderHTTPError) as info:
            OllamaClient(url, backoff=0.01).embed(["abcd"], "m")
        assert info.value.status == 500 and "llama runner process has terminated" in str(info.value)
        assert len(fake.requests) == 1


def test_slow_reply_times_out_with_a_clear_message():
    with fake_ollama(["slow"]) as (url, _), pytest.raises(EmbedderHTTPError, match="did not answer within 0.5s"):
        OllamaClient(url, timeout=0.5).embed(["abcd"], "m")


def test_refused_connection_is_retried_then_explained():
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(EmbedderHTTPError, match="cannot connect to") as info:
        OllamaClient(url, backoff=0.01, retries=2).embed(["x"], "m")
    assert info.value.status == 0


def test_default_embedder_is_ollama_when_it_answers_else_local(monkeypatch, live_server):
    monkeypatch.delenv("SEMSEARCH_EMBEDDER", raising=False)
    monkeypatch.setenv("OLLAMA_HOST", live_server)
    assert isinstance(get_embedder(), OllamaEmbedder)
    assert isinstance(get_embedder(model="all-minilm:int8"), LocalEmbedder)  # a tag Ollama does not have
    monkeypatch.setenv("OLLAMA_HOST", f"127.0.0.1:{free_port()}")
    assert isinstance(get_embedder(), LocalEmbedder)
    monkeypatch.setenv("SEMSEARCH_EMBEDDER", live_server)
    assert get_embedder().description == f"Ollama API at {live_server} (all-minilm)"
    assert isinstance(get_embedder("local"), LocalEmbedder)

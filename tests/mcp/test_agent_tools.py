"""The agents' contract, over stdio with the SDK's own client: five tools with strict schemas, typed
sub-queries, a token budget, reading lines safely, related files, and one-line argument errors."""

from __future__ import annotations

import json
from pathlib import Path

import anyio
import jsonschema
import pytest

from semsearch.mcp.schema import untyped_properties
from tests.mcp.test_server import ENV, ROOT, call, session

FLAGS = '''"""Feature flags read at start-up from the environment."""

import os

FLAGS = {
    "flux_capacitor": False,  # the flux_capacitor experiment, see docs/flux_capacitor.md
    "dark_mode": True,
    "beta_search": False,
}


def enabled(name):
    """Whether a flag is on, e.g. enabled("flux_capacitor"): FLAG_<NAME>=1 in the environment wins."""
    return os.environ.get(f"FLAG_{name.upper()}", "1" if FLAGS.get(name) else "0") == "1"
'''
BALANCE = '''"""Spreading work evenly across the servers of a cluster."""


def spread_load(servers, jobs):
    """Assign each job to the least busy server so that every machine carries a similar load."""
    load = {server: 0 for server in servers}
    for job in jobs:
        target = min(load, key=load.get)
        load[target] += job.cost
    return load
'''
SHARDS = '''"""Shard placement: keep the load even across the storage machines."""


def place_shards(nodes, shards, flux_capacitor=None):
    """Move shards between machines until each one carries about the same load.

    The flux_capacitor hook, when given, is called after every move.
    """
    for shard in sorted(shards, key=lambda s: -s.size):
        node = min(nodes, key=lambda n: n.used)
        node.used += shard.size
        if flux_capacitor:
            flux_capacitor(shard, node)
'''
HEALTH = '''"""Health checks for cluster members."""


def ping_all(servers, timeout=2.0):
    """Send a ping to every server and return the ones that did not answer in time."""
    return [server for server in servers if not server.ping(timeout)]
'''
OTHERS = {
    "src/docs/tea.md": "# Tea\n\nGreen tea brews at eighty degrees for two minutes; black tea wants boiling water.\n",
    "src/docs/bikes.md": "# Bikes\n\nPump the tyres to four bar before a long ride and oil the chain every month.\n",
    "src/logs.py": '"""Log files."""\n\n\ndef rotate(path, keep=7):\n    """Rename the log to a numbered backup."""\n',
    "src/csvread.py": '"""Billing exports."""\n\n\ndef read_rows(path):\n    """Yield one dict per CSV row."""\n',
    "src/dates.py": '"""Report dates."""\n\n\ndef iso_day(moment):\n    """The calendar day as YYYY-MM-DD."""\n',
    "src/retry.py": '"""HTTP retries."""\n\n\ndef with_backoff(call):\n    """Retry on 503."""\n',
    "src/cache.py": '"""A cache."""\n\n\ndef remember(key, value, ttl=60):\n    """Keep a value for ttl seconds."""\n',
}
QUESTION = "how is the load spread evenly across the servers"
TOOLS = {"search", "get", "related", "status", "index"}


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> tuple[Path, Path, Path]:
    """(corpus, index, a secret outside the corpus that a symlink inside it points to), indexed once."""
    import subprocess
    import sys

    base = tmp_path_factory.mktemp("agents")
    corpus = base / "project"
    files = {"src/config/flags.py": FLAGS, "src/cluster/balance.py": BALANCE, "src/cluster/shards.py": SHARDS,
             "src/cluster/health.py": HEALTH, **OTHERS}  # fmt: skip
    for name, text in files.items():
        (corpus / name).parent.mkdir(parents=True, exist_ok=True)
        (corpus / name).write_text(text)
    secret = base / "secret.txt"
    secret.write_text("TOPSECRET password for the vault\n")
    (corpus / "src" / "leak.txt").symlink_to(secret)
    index = base / "index"
    result = subprocess.run(
        [sys.executable, "-m", "semsearch", "index", str(corpus), "--index", str(index)],
        capture_output=True, text=True, env=ENV, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return corpus, index, secret


def files_of(found: dict) -> list[str]:
    return [Path(hit["path"]).name for hit in found["results"]]


def test_five_tools_with_schemas_strict_validators_accept(project):
    _, index, _ = project

    async def scenario():
        async with session("--index", str(index)) as client:
            tools = {tool.name: tool for tool in (await client.list_tools()).tools}
            assert set(tools) == TOOLS
            for tool in tools.values():
                schema = tool.input_schema
                jsonschema.Draft202012Validator.check_schema(schema)
                assert schema["type"] == "object" and untyped_properties(schema) == [], tool.name
                text = json.dumps(schema)
                assert "$ref" not in text and "anyOf" not in text and '"default": null' not in text, tool.name
            search = tools["search"].input_schema["properties"]
            assert set(search) == {"query", "queries", "k", "mode", "path", "files", "max_tokens"}
            assert search["queries"]["items"]["properties"]["type"]["enum"] == ["lex", "vec", "hyde"]
            assert set(tools["get"].input_schema["properties"]) == {"path", "start_line", "end_line"}
            assert set(tools["related"].input_schema["properties"]) == {"path", "line", "k"}
            # A call the schema allows validates against it (what a strict client checks before sending).
            jsonschema.validate({"queries": [{"type": "lex", "query": "x"}], "k": 3}, tools["search"].input_schema)

    anyio.run(scenario)


def test_typed_subqueries_find_the_file_that_needs_both_keyword_and_meaning(project):
    _, index, _ = project

    async def scenario():
        async with session("--index", str(index)) as client:
            # Meaning alone finds the load balancer; the keyword alone, the flags first.
            error, found = await call(client, "search", queries=[{"type": "vec", "query": QUESTION}], files=True)
            assert not error and files_of(found)[0] == "balance.py", found
            error, found = await call(client, "search", queries=[{"type": "lex", "query": "flux_capacitor"}])
            assert not error and files_of(found)[:2] == ["flags.py", "shards.py"], found
            error, found = await call(client, "search", query=f"flux_capacitor {QUESTION}", files=True)
            assert not error and files_of(found)[0] == "balance.py", found  # one plain query: meaning wins
            typed = [{"type": "lex", "query": "flux_capacitor"}, {"type": "vec", "query": QUESTION}]
            error, found = await call(client, "search", queries=typed, k=3, files=True)
            assert not error and files_of(found)[0] == "shards.py", found
            assert found["queries"] == typed and "mode" not in found

    anyio.run(scenario)


def test_max_tokens_bounds_the_answer_and_says_what_was_cut(project):
    _, index, _ = project

    async def scenario():
        async with session("--index", str(index)) as client:
            error, full = await call(client, "search", query=QUESTION, k=10)
            assert not error and len(full["results"]) == 10
            result = await client.call_tool("search", {"query": QUESTION, "k": 10, "max_tokens": 200})
            text = result.content[0].text
            answer = result.structured_content
            assert not result.is_error and len(text) <= 200 * 4, len(text)
            assert json.loads(text) == answer
            assert 1 <= len(answer["results"]) < 10
            budget = answer["budget"]
            assert budget["max_tokens"] == 200 and budget["estimated_tokens"] <= 200
            assert budget["dropped"] + len(answer["results"]) == 10
            assert (
                answer["note"] == f"cut to fit max_tokens 200: {budget['trimmed']} trimmed, {budget['dropped']} "
                "dropped; `get` reads the rest"
            )
            # What is kept is the head of the full answer, in order.
            kept = answer["results"]
            assert [h["path"] for h in kept] == [h["path"] for h in full["results"][: len(kept)]]
            for hit, whole in zip(kept, full["results"], strict=False):
                assert whole["text"].startswith(hit["text"])

    anyio.run(scenario)


def test_get_reads_indexed_lines_and_nothing_else(project, tmp_path):
    corpus, index, secret = project
    shards = corpus / "src" / "cluster" / "shards.py"
    wanted = "\n".join(SHARDS.splitlines()[3:5])  # lines 4-5

    async def scenario():
        async with session("--index", str(index)) as client:
            for path in (
                str(shards),
                "src/cluster/shards.py",
                "cluster/shards.py",
                str(corpus / "src/x/../cluster/shards.py"),
            ):
                error, lines = await call(client, "get", path=path, start_line=4, end_line=5)
                assert not error, (path, lines)
                assert (lines["path"], lines["start_line"], lines["end_line"]) == (str(shards), 4, 5)
                assert lines["text"] == wanted and lines["total_lines"] == len(SHARDS.splitlines())
            error, lines = await call(client, "get", path=str(shards), start_line=12)
            assert not error and lines["end_line"] == 13 and lines["text"].endswith("flux_capacitor(shard, node)")
            refused = {
                "/etc/passwd": "/etc/passwd: not a file this index holds",
                "../secret.txt": "../secret.txt: leads out of the indexed folders (..)",
                "src/../../secret.txt": "src/../../secret.txt: leads out of the indexed folders (..)",
                str(corpus / ".." / "secret.txt"): f"{corpus / '..' / 'secret.txt'}: not a file this index holds",
                str(secret): f"{secret}: not a file this index holds",
                str(corpus / "src" / "leak.txt"): f"{corpus / 'src' / 'leak.txt'}: a symlink that leads out of the "
                "indexed files",
                "src/leak.txt": "src/leak.txt: a symlink that leads out of the indexed files",
            }
            for path, message in refused.items():
                error, text = await call(client, "get", path=path)
                assert error and text == f"Error executing tool get: {message}", (path, text)
                assert "TOPSECRET" not in text and "root:" not in text
            error, text = await call(client, "get", path=str(shards), start_line=5, end_line=4)
            assert error and text == "Error executing tool get: end_line must be at least start_line (5), not 4"

    anyio.run(scenario)


def test_related_lists_the_files_neighbours_never_itself(project):
    corpus, index, _ = project
    shards = corpus / "src" / "cluster" / "shards.py"

    async def scenario():
        async with session("--index", str(index)) as client:
            error, found = await call(client, "related", path=str(shards), k=3)
            assert not error, found
            assert files_of(found)[0] == "balance.py" and "shards.py" not in files_of(found), found
            assert len(found["results"]) == 3 and all(hit["text"] for hit in found["results"])
            error, found = await call(client, "related", path="src/cluster/balance.py", line=6, k=2)
            assert not error and files_of(found)[0] == "shards.py" and "balance.py" not in files_of(found)
            error, text = await call(client, "related", path="/etc/passwd")
            assert error and text == "Error executing tool related: /etc/passwd: not a file this index holds"

    anyio.run(scenario)


BAD_CALLS = [
    ("search", {"query": "x", "k": 0}, "invalid argument k: input should be greater than or equal to 1, got 0"),
    ("search", {"query": "x", "mode": "fuzzy"},
     "invalid argument mode: input should be 'auto', 'dense', 'keyword' or 'hybrid', got \"fuzzy\""),
    ("search", {"query": "x", "k": "many"},
     'invalid argument k: input should be a valid integer, unable to parse string as an integer, got "many"'),
    ("search", {"query": 5}, "invalid argument query: input should be a valid string, got 5"),
    ("search", {}, "missing argument query: pass query (a question) or queries (typed sub-queries)"),
    ("search", {"queries": [{"type": "regex", "query": "x"}]},
     "invalid argument queries[0].type: input should be 'lex', 'vec' or 'hyde', got \"regex\""),
    ("search", {"queries": [{"type": "lex"}]}, "missing argument queries[0].query"),
    ("search", {"query": "x", "max_tokens": 10},
     "invalid argument max_tokens: input should be greater than or equal to 100, got 10"),
    ("get", {}, "missing argument path"),
    ("get", {"path": "a.py", "start_line": 0}, "invalid argument start_line: input should be greater than or equal "
     "to 1, got 0"),
    ("related", {"path": "a.py", "k": 0}, "invalid argument k: input should be greater than or equal to 1, got 0"),
    ("related", {"path": "a.py", "line": "ten"},
     'invalid argument line: input should be a valid integer, unable to parse string as an integer, got "ten"'),
    ("index", {"paths": "nope"}, 'invalid argument paths: input should be a valid list, got "nope"'),
]  # fmt: skip


def test_bad_arguments_are_one_line_tool_errors_and_the_server_keeps_serving(project):
    _, index, _ = project

    async def scenario():
        async with session("--index", str(index)) as client:
            for tool, arguments, message in BAD_CALLS:
                error, text = await call(client, tool, **arguments)
                assert error and text == f"Error executing tool {tool}: {message}", (tool, arguments, text)
                assert "\n" not in text and "pydantic" not in text
                error, found = await call(client, "search", query=QUESTION, k=1)
                assert not error and found["results"], (tool, arguments)

    anyio.run(scenario)


def test_readme_lists_the_tools_and_their_arguments():
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("`semsearch mcp [--index") :]
    for tool in TOOLS:
        assert f"`{tool}`" in section, tool
    for argument in ("query", "queries", "k", "mode", "path", "files", "max_tokens", "start_line", "end_line", "line"):
        assert f"`{argument}`" in section, argument
    assert '"type": "lex"' in section and '"type": "hyde"' in section

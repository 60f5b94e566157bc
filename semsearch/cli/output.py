"""What the commands print: printable one-line text, paths relative to here, and the result formats."""

from __future__ import annotations

import os

import click


def printable(text) -> str:
    """Text (or a file name) that any terminal can print: undecodable bytes become \\xNN escapes."""
    if isinstance(text, bytes | os.PathLike):
        text = os.fsdecode(text)
    return str(text).encode("utf-8", errors="surrogateescape").decode("utf-8", errors="backslashreplace")


def one_line(message: str) -> str:
    return " ".join(printable(message).split()) or "failed"


def say(line: str) -> None:
    """A status line on stderr ("semsearch: ..."), so stdout carries only results."""
    click.echo(f"semsearch: {line}", err=True)


def warn(line: str) -> None:
    click.echo(f"warning: {printable(line)}", err=True)


def display_path(path: str) -> str:
    """Paths under the current folder print relative to it, like grep does."""
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return path
    return path if rel.startswith("..") else rel


def format_score(score: float | None) -> str:
    """Three decimals, or a dash for a chunk a running index has not embedded yet."""
    return "–" if score is None else f"{score:.3f}"


def result_record(rank: int, hit) -> dict:
    record = hit.to_dict()
    record["path"] = display_path(hit.path)
    record["rank"] = rank
    record["score"] = None if hit.score is None else round(hit.score, 6)
    return record


def print_hits(hits, as_json: bool) -> None:
    """JSON Lines, or a numbered list with location, score, heading and a snippet."""
    import json

    if as_json:
        for rank, hit in enumerate(hits, start=1):
            click.echo(json.dumps(result_record(rank, hit)))
        return
    if not hits:
        click.echo("No results.", err=True)
    for rank, hit in enumerate(hits, start=1):
        location = display_path(hit.path) + hit.location[len(hit.path) :]
        heading = f"  {hit.heading}" if hit.heading else ""
        click.echo(f"{rank:>2}. {click.style(location, bold=True)}  [{format_score(hit.score)}]{heading}")
        click.echo(f"    {hit.snippet()}")


def print_files(hits, as_json: bool) -> None:
    """One line per file: path:first-last  score (JSON Lines with --json)."""
    import json

    if as_json:
        for rank, hit in enumerate(hits, start=1):
            record = result_record(rank, hit)
            click.echo(json.dumps({key: record[key] for key in ("rank", "path", "start_line", "end_line", "score",
                                                                 "heading")}))  # fmt: skip
        return
    if not hits:
        click.echo("No results.", err=True)
    for hit in hits:
        location = display_path(hit.path) + hit.location[len(hit.path) :]
        click.echo(f"{location}  {format_score(hit.score)}")

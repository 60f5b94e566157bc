"""What semsearch knows about common Ollama embedding models.

Used to pick prefixes (some models are trained with "search_query: ..." style prompts),
to size chunks below the context, and to answer /api/show for the embedded model.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ModelInfo:
    name: str
    dimensions: int
    context_length: int
    query_prefix: str = ""
    document_prefix: str = ""
    family: str = "bert"
    parameter_size: str = ""


KNOWN_MODELS: dict[str, ModelInfo] = {
    m.name: m
    for m in [
        ModelInfo("all-minilm", 384, 256, family="bert", parameter_size="23M"),
        # semsearch's own, distilled from all-minilm (semsearch.embed.static): token vectors, no network.
        ModelInfo("all-minilm:static", 256, 256, family="static", parameter_size="7.8M"),
        ModelInfo(
            "nomic-embed-text",
            768,
            2048,
            query_prefix="search_query: ",
            document_prefix="search_document: ",
            family="nomic-bert",
            parameter_size="137M",
        ),
        ModelInfo(
            "mxbai-embed-large",
            1024,
            512,
            query_prefix="Represent this sentence for searching relevant passages: ",
            parameter_size="334M",
        ),
        ModelInfo("bge-m3", 1024, 8192, family="xlm-roberta", parameter_size="567M"),
        ModelInfo("snowflake-arctic-embed", 1024, 512, parameter_size="335M"),
        ModelInfo("snowflake-arctic-embed:335m", 1024, 512, parameter_size="335M"),
        ModelInfo("snowflake-arctic-embed:33m", 384, 512, parameter_size="33M"),
        ModelInfo("snowflake-arctic-embed:22m", 384, 512, parameter_size="22M"),
    ]
}


def base_name(model: str) -> str:
    """'all-minilm:latest' -> 'all-minilm'; other tags are kept ('snowflake-arctic-embed:22m')."""
    return model[: -len(":latest")] if model.endswith(":latest") else model


def lookup(model: str) -> ModelInfo | None:
    """Model info by Ollama name, tolerating ':latest' and size tags of a known family."""
    name = base_name(model)
    if name in KNOWN_MODELS:
        return KNOWN_MODELS[name]
    family = name.split(":", 1)[0]
    return KNOWN_MODELS.get(family)


def query_prefix(model: str) -> str:
    info = lookup(model)
    return info.query_prefix if info else ""


def document_prefix(model: str) -> str:
    info = lookup(model)
    return info.document_prefix if info else ""

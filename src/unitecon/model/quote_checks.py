"""Every figure's source, checked against the documents it cites: each document readable in the sources
folder, each quote found there verbatim."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..errors import Problem
from .inputs_schema import DocumentSpec, InputSpec, SourceSpec
from .safe_yaml import line_of


def valid_documents(plain: Any) -> dict[str, DocumentSpec]:
    """The ``documents:`` entries that are valid on their own (for a file whose other parts are not)."""
    documents = plain.get("documents") if isinstance(plain, dict) else None
    out = {}
    for name, raw in (documents.items() if isinstance(documents, dict) else ()):
        with contextlib.suppress(ValidationError):  # an invalid entry is reported by the file's own validation
            out[name] = DocumentSpec.model_validate(raw)
    return out


def _sources(key: str, item: InputSpec) -> list[tuple[tuple[Any, ...], SourceSpec]]:
    """Every cited source of one input, with its key path."""
    base: tuple[Any, ...] = ("inputs", key)
    out = [(base, item.source)] if item.source is not None else []
    out += [((*base, "alternatives", i), alt.source) for i, alt in enumerate(item.alternatives)]
    for pid, fig in (item.values or {}).items():
        out.append(((*base, "values", pid), fig.source))
        out += [((*base, "values", pid, "alternatives", i), alt.source) for i, alt in enumerate(fig.alternatives)]
    return out


def quote_problems(shown: str, data: Any, documents: dict[str, Any], inputs: dict[str, InputSpec],
                   sources_dir: Path) -> list[Problem]:
    """Documents that cannot be read, and quotes not found verbatim in the document they cite."""
    problems = []
    texts: dict[str, str] = {}
    for doc in documents:
        try:
            texts[doc] = (sources_dir / doc).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            problems.append(Problem(shown, f"documents.{doc}", f"document file not found or unreadable in "
                                                               f"{sources_dir}", line_of(data, ("documents", doc))))
    for key, item in inputs.items():
        for loc, source in _sources(key, item):
            if not source.assumption and source.document in texts and source.quote not in texts[source.document]:
                where = (*loc, "source", "quote")
                problems.append(Problem(shown, ".".join(map(str, where)),
                                        f"quote not found verbatim in {source.document}", line_of(data, where)))
    return problems

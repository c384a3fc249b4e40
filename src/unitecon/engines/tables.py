"""What a query engine is given to read (a table of files) and how it fails: the neutral ground between the
ledger's declared queries (:mod:`unitecon.model.ledger_query`) and the engines that run them
(:mod:`.duckdb_adapter` on one machine, :mod:`.spark_adapter` on a cluster)."""

from __future__ import annotations

import codecs
import gzip
from dataclasses import dataclass, field
from typing import Literal, Protocol

import pandas as pd


@dataclass(frozen=True)
class TableSource:
    """Rows to query: CSV files (text, each with ``skips[i]`` banner lines above its header), Parquet files,
    or a frame already in memory (an .xlsx ledger, read by calamine)."""

    format: Literal["csv", "parquet", "frame"]
    files: tuple[str, ...] = ()
    skips: tuple[int, ...] = ()
    columns: tuple[tuple[str, ...], ...] = ()  # CSV: each file's header, already checked (names become SQL)
    frame: pd.DataFrame | None = field(default=None, compare=False)

    def only(self, index: int) -> TableSource:
        """The same source restricted to its ``index``-th file (the whole frame for an in-memory one)."""
        if self.format == "frame":
            return self
        return TableSource(self.format, (self.files[index],), self.skips[index:index + 1] if self.skips else (),
                           self.columns[index:index + 1] if self.columns else ())


def first_bad_utf8(file: str) -> int | None:
    """The offset of the first byte of ``file`` (inflated, for a .gz) that is not UTF-8, if any: what a problem
    names when an engine refuses a file's text."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0
    with (gzip.open if file.lower().endswith(".gz") else open)(file, "rb") as fh:
        while chunk := fh.read(1 << 20):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                return offset + exc.start
            offset += len(chunk)
    return None


class QueryError(Exception):
    """An engine could not read the source or run a query; the message is the engine's own first line."""


class Dialect(Protocol):
    """The few places two SQL engines spell the same thing differently; the declared queries use nothing else
    that differs."""

    name: str

    def literal(self, text: str) -> str:
        """``text`` as a string literal."""

    def finds(self, expr: str, pattern: str) -> str:
        """True where the regular expression ``pattern`` (RE2 and Java agree on it) matches part of ``expr``."""

    def timestamp(self, expr: str) -> str:
        """The text ``expr`` as a timestamp in UTC (an offset such as +08:00 converted), NULL where it is none."""

    def row_number(self) -> str:
        """Each row's position in a single file's scan, from 1, in file order."""


class Tables(Protocol):
    """A query engine: views over sources, then queries over the views, answered as pandas frames."""

    dialect: Dialect

    def view(self, name: str, source: TableSource) -> None: ...

    def define(self, name: str, sql: str) -> None: ...

    def columns(self, name: str) -> dict[str, str]:
        """The view's columns and their kinds: text, number, timestamp, date, boolean or other."""

    def frame(self, sql: str) -> pd.DataFrame: ...

    def close(self) -> None: ...

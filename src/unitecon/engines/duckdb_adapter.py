"""DuckDB, the embedded query engine: reads CSV, .csv.gz and Parquet files where they lie, out of core, under a
memory limit, and answers the ledger's declared queries. The only module that imports duckdb.

DuckDB keeps to ``memory_limit`` by spilling to a temporary folder, so a ledger of any size aggregates in
bounded memory; the limit (``UNITECON_DUCKDB_MEMORY``, default 1GB) and the threads
(``UNITECON_DUCKDB_THREADS``, default one per core) can be set from the environment.
"""

from __future__ import annotations

import contextlib
import os
import tempfile

import duckdb
import pandas as pd

from .tables import QueryError, TableSource

MEMORY_LIMIT = "1GB"


class DuckDBDialect:
    name = "duckdb"

    def literal(self, text: str) -> str:
        return "'" + text.replace("'", "''") + "'"  # a backslash is an ordinary character in a DuckDB string

    def finds(self, expr: str, pattern: str) -> str:
        return f"regexp_matches({expr}, {self.literal(pattern)})"

    def timestamp(self, expr: str) -> str:
        # without the ICU extension DuckDB reads an offset (+08:00, Z) into UTC, and a time without one as UTC
        return f"CAST(TRY_CAST({expr} AS TIMESTAMPTZ) AS TIMESTAMP)"

    def row_number(self) -> str:
        return "row_number() OVER ()"  # DuckDB keeps a scan's insertion order (preserve_insertion_order)


class DuckDBTables:
    """Views over files and queries over them, in one in-process DuckDB database."""

    dialect = DuckDBDialect()

    def __init__(self, memory_limit: str | None = None, threads: int | None = None):
        limit = memory_limit or os.environ.get("UNITECON_DUCKDB_MEMORY") or MEMORY_LIMIT
        threads = threads or _threads(os.environ.get("UNITECON_DUCKDB_THREADS")) or os.cpu_count() or 1
        self._spill = tempfile.TemporaryDirectory(prefix="unitecon-duckdb-")
        try:
            self._con = duckdb.connect(config={"memory_limit": limit, "threads": threads,
                                               "temp_directory": self._spill.name,
                                               "preserve_insertion_order": True, "autoinstall_known_extensions": False,
                                               "autoload_known_extensions": False})
        except duckdb.Error as exc:
            self._spill.cleanup()
            raise QueryError(_first_line(exc)) from None
        # with the ICU extension a timestamp with an offset is read in the host's zone unless told; without it,
        # DuckDB knows no zone but UTC
        with contextlib.suppress(duckdb.Error):
            self._con.execute("SET TimeZone = 'UTC'")
        self._frames = 0

    def view(self, name: str, source: TableSource) -> None:
        """Create (or replace) the view ``name`` over ``source``: its columns as the files have them (CSV: all
        text) and ``_file``, the file each row came from."""
        self._run(f"CREATE OR REPLACE VIEW {name} AS {self._scan(source)}")

    def define(self, name: str, sql: str) -> None:
        """Create (or replace) the view ``name`` as the query ``sql``."""
        self._run(f"CREATE OR REPLACE VIEW {name} AS {sql}")

    def _scan(self, source: TableSource) -> str:
        lit = self.dialect.literal
        if source.format == "frame":
            self._frames += 1
            frame_name = f"_frame_{self._frames}"
            self._con.register(frame_name, source.frame)
            return f"SELECT '' AS _file, * FROM {frame_name}"
        if source.format == "parquet":
            files = ", ".join(lit(f) for f in source.files)
            return (f"SELECT filename AS _file, * EXCLUDE (filename) FROM read_parquet([{files}], filename = true, "
                    "union_by_name = true, hive_partitioning = false)")
        by_head: dict[tuple[int, tuple[str, ...]], list[str]] = {}
        for i, file in enumerate(source.files):
            skip = source.skips[i] if source.skips else 0
            by_head.setdefault((skip, source.columns[i] if source.columns else ()), []).append(file)
        scans = []
        for (skip, names), files in by_head.items():
            # the header is read by unitecon and checked; the sniffer is not asked (it would guess a comment
            # character from a '#' row and drop such rows, or fail on a short row without naming its line)
            typed = ", ".join(f"{lit(n)}: 'VARCHAR'" for n in names)
            layout = (f"auto_detect = false, columns = {{{typed}}}" if names else "all_varchar = true")
            listed = ", ".join(lit(f) for f in files)
            scans.append(f"SELECT filename AS _file, * EXCLUDE (filename) FROM read_csv([{listed}], "
                         f"header = true, {layout}, skip = {skip}, delim = ',', quote = '\"', escape = '\"', "
                         "comment = '', filename = true, hive_partitioning = false, strict_mode = true, "
                         "null_padding = false, encoding = 'utf-8')")
        return " UNION ALL BY NAME ".join(scans)

    def columns(self, name: str) -> dict[str, str]:
        described = self.frame(f"DESCRIBE SELECT * FROM {name}")
        return {column: _kind(kind) for column, kind in zip(described["column_name"], described["column_type"],
                                                             strict=True) if column != "_file"}

    def frame(self, sql: str) -> pd.DataFrame:
        try:
            return self._con.sql(sql).df()
        except duckdb.Error as exc:
            raise QueryError(_first_line(exc)) from None

    def _run(self, sql: str) -> None:
        try:
            self._con.execute(sql)
        except duckdb.Error as exc:
            raise QueryError(_first_line(exc)) from None

    def close(self) -> None:
        self._con.close()
        self._spill.cleanup()


def _threads(text: str | None) -> int:
    if not text:
        return 0
    if not text.strip().isdigit() or int(text) < 1:
        raise QueryError(f"UNITECON_DUCKDB_THREADS is {text!r}; expected a whole number of threads, 1 or more")
    return int(text)


def _kind(duckdb_type: str) -> str:
    t = duckdb_type.upper()
    if t.endswith("]") or t.startswith(("STRUCT", "MAP", "UNION", "LIST")):
        return "other"
    if t in ("VARCHAR", "STRING", "TEXT", "UUID") or t.startswith("VARCHAR("):
        return "text"
    if t.startswith("TIMESTAMP"):
        return "timestamp"
    if t == "DATE":
        return "date"
    if t == "BOOLEAN":
        return "boolean"
    if t.startswith(("DECIMAL", "DOUBLE", "FLOAT", "REAL", "HUGEINT", "UHUGEINT", "BIGINT", "INTEGER", "SMALLINT",
                     "TINYINT", "UBIGINT", "UINTEGER", "USMALLINT", "UTINYINT")):
        return "number"
    return "other"


def _first_line(exc: Exception) -> str:
    """DuckDB's message in one line: its first line, and for a CSV error what is wrong and in which file."""
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    if not lines:
        return type(exc).__name__
    if "CSV Error" not in lines[0]:
        return lines[0]
    reason = next((line for line in lines[1:] if not line.startswith(("Original Line", "Possible Solution", "file =",
                                                                        "delimiter =", "quote ="))), "")
    file = next((line.removeprefix("file = ") for line in lines if line.startswith("file = ")), "")
    return "; ".join(part for part in (lines[0], reason, f"file {file}" if file else "") if part)

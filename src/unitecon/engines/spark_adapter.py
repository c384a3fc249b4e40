"""Apache Spark, the cluster query engine: reads the same CSV, .csv.gz and Parquet files as
:mod:`.duckdb_adapter` and answers the ledger's declared queries with the same results. The only module that
imports pyspark (installed with ``pip install 'unitecon[spark]'``; Spark needs a Java 17+ runtime).

One Spark context serves the whole process (``master``: ``local[*]`` unless the inputs file or
``UNITECON_SPARK_MASTER`` names a cluster, whose machines must see the ledger's files at the same paths): it
starts once, in ten to thirty seconds, and every later ledger reuses it, each reading in a session of its own.
A session runs in UTC, in ANSI mode (a sum of amounts that overflows ``DECIMAL(38, 9)`` fails, as in DuckDB,
rather than turning into NULL) and without SQL variable substitution (``${…}`` in a literal stays text). The
Java process writes its log to a temporary file, never to the terminal; the driver's memory is
``UNITECON_SPARK_MEMORY`` (default 1g).

Where Spark reads otherwise than DuckDB the reading here makes up the difference: a CSV file's banner lines
(``#``) are skipped with Spark's comment marker, after a check that no later line starts with ``#`` (such a
row would be dropped); each file's own line break is named so a quoted line break keeps its ``\\r\\n``; files
with different headers are put together by column name, and columns are named as DuckDB names them; text that
is not UTF-8 is refused (Spark would replace the bytes); a timestamp is read only in the forms DuckDB reads;
``.`` and ``$`` in a regular expression mean what they mean to RE2; ``_file`` is the path as given.
"""

from __future__ import annotations

import atexit
import contextlib
import csv
import gzip
import io
import os
import re
import shutil
import tempfile
import urllib.parse
import warnings
from typing import TYPE_CHECKING, Any

import pandas as pd

from .tables import QueryError, TableSource, first_bad_utf8

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

JAVA = "install a Java 17+ runtime (such as openjdk-17-jre-headless) or set JAVA_HOME to one"
DRIVER_MEMORY = "1g"
#: The timestamps DuckDB reads too (a date; a time after T or a space; Z, an offset or " UTC"); Spark alone
#: would also read "2024", "2024-03", "2024-03-01 10" and zone names, which DuckDB refuses.
TIMESTAMP_TEXT = (r"^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([T ][0-9]{1,2}:[0-9]{1,2}(:[0-9]{1,2}(\.[0-9]*)?)?)?"
                  r"(Z|[+-][0-9]{2}(:?[0-9]{2})?| UTC)?$")
GLOB = re.compile(r"([\\{}\[\]*?])")  # Hadoop reads these in a path as a pattern unless escaped
HEAD_BYTES = 1 << 16
#: Each session's: UTC; ANSI (an overflowing sum fails, not NULL); a literal's ``${…}`` left as text and its
#: backslash escapes read (as :meth:`SparkDialect.literal` writes them); names compared ignoring case, as DuckDB.
SETTINGS = {"spark.sql.session.timeZone": "UTC", "spark.sql.ansi.enabled": "true",
            "spark.sql.variable.substitute": "false", "spark.sql.parser.escapedStringLiterals": "false",
            "spark.sql.caseSensitive": "false"}
WRAPPERS = ("Job aborted", "Exception thrown in awaitResult", "An error occurred while calling")


class SparkDialect:
    name = "spark"

    def literal(self, text: str) -> str:
        return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"  # Spark reads \ escapes in a literal

    def finds(self, expr: str, pattern: str) -> str:
        return f"regexp_like({expr}, {self.literal(_as_re2(pattern))})"  # Java's find(): a match anywhere

    def timestamp(self, expr: str) -> str:
        # the session runs in UTC: a time without an offset is UTC, one with an offset is converted
        return f"CASE WHEN {self.finds(expr, TIMESTAMP_TEXT)} THEN TRY_CAST({expr} AS TIMESTAMP) END"

    def row_number(self) -> str:
        # one file's scan: its partitions in file order, rows in order within each; the id follows both
        return "row_number() OVER (ORDER BY monotonically_increasing_id())"


def _as_re2(pattern: str) -> str:
    """``pattern`` for Java's regular expressions, meaning what it means to RE2 (DuckDB's): ``$`` the end of the
    text only (Java's also matches before a final line break) and ``.`` any character but ``\\n`` (Java's also
    refuses ``\\r``, ``\\u0085``, ``\\u2028`` and ``\\u2029``)."""
    out, escaped, in_class = [], False, False
    for char in pattern:
        if escaped:
            out.append(char)
            escaped = False
        elif char == "\\":
            out.append(char)
            escaped = True
        elif in_class:
            out.append(char)
            in_class = char != "]" or out[-2:-1] == ["["] or out[-3:-1] == ["[", "^"]
        elif char == "[":
            out.append(char)
            in_class = True
        else:
            out.append({"$": "\\z", ".": "[^\\n]"}.get(char, char))
    return "".join(out)


class SparkTables:
    """Views over files and queries over them, in a SparkSession of their own."""

    dialect = SparkDialect()

    def __init__(self, master: str | None = None):
        #: this reading's own session (its settings and views), on the process's Spark context
        self.session = _session(master or "local[*]")
        self._spark = self.session
        self._views: set[str] = set()
        self._checked: dict[tuple[str, int], str | None] = {}  # CSV file, banner lines -> a copy without them
        self._csv: dict[str, tuple[str, int, int]] = {}  # a CSV file Spark reads -> the file, banner, columns
        self._copies: tempfile.TemporaryDirectory | None = None

    def view(self, name: str, source: TableSource) -> None:
        """Create (or replace) the view ``name`` over ``source``: ``_file`` (the file each row came from, as
        given), then its columns as the files have them (CSV: all text)."""
        with self._errors():
            frame = self._scan(source)
            frame.createOrReplaceTempView(name)
        self._views.add(name)

    def define(self, name: str, sql: str) -> None:
        """Create (or replace) the view ``name`` as the query ``sql``."""
        with self._errors():
            self._spark.sql(sql).createOrReplaceTempView(name)
        self._views.add(name)

    def columns(self, name: str) -> dict[str, str]:
        with self._errors():
            fields = self._spark.table(name).schema.fields
        return {f.name: _kind(f.dataType) for f in fields if f.name != "_file"}

    def frame(self, sql: str) -> pd.DataFrame:
        with self._errors():
            out = self._spark.sql(sql).toPandas()
        for column in out.columns:
            if pd.api.types.is_datetime64_dtype(out[column]):  # DuckDB gives microseconds
                out[column] = out[column].astype("datetime64[us]")
        return out

    def close(self) -> None:
        """Drop this reading's views (and its copies of CSV files); the Spark context stays for the next."""
        with contextlib.suppress(Exception):
            for name in self._views:
                self._spark.catalog.dropTempView(name)
        self._views.clear()
        if self._copies is not None:
            self._copies.cleanup()
            self._copies = None
            self._checked.clear()

    @contextlib.contextmanager
    def _errors(self):
        """Spark's errors as one-line QueryErrors (a CSV record with the wrong number of fields named by its
        line, as DuckDB names it); its warnings (pandas and Arrow versions) kept off the terminal."""
        from py4j.protocol import Py4JError
        from pyspark.errors import PySparkException

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                yield
        except (PySparkException, Py4JError) as exc:
            message = _message(exc)
            if "MALFORMED_RECORD_IN_PARSING" in message:
                with contextlib.suppress(OSError, EOFError):
                    message = self._malformed(message) or message
            raise QueryError(message) from None
        except (OSError, EOFError) as exc:  # reading a file's head, or copying it without its banner
            raise QueryError(f"cannot read {getattr(exc, 'filename', None) or 'a ledger file'} ({exc})") from None

    def _malformed(self, message: str) -> str | None:
        read = re.search(r"reading file (/.*?)\. \[", message)
        known = self._csv.get(os.path.abspath(read.group(1))) if read else None
        if known is None:
            return None
        file, skip, width = known
        bad = _bad_record(file, skip, width)
        if bad is None:
            return None
        return f"CSV Error on Line: {bad[0]}; Expected Number of Columns: {width} Found: {bad[1]}; file {file}"

    # --- reading files ----------------------------------------------------------------------------------
    def _scan(self, source: TableSource) -> DataFrame:
        from pyspark.sql import functions as F
        from pyspark.sql.types import StringType, StructField, StructType

        if source.format == "frame":
            names = [str(c) for c in source.frame.columns]
            text = source.frame.astype(object).map(lambda v: None if v is None or v != v else str(v))
            text.columns = names
            frame = self._spark.createDataFrame(text, StructType([StructField(c, StringType()) for c in names]))
            return frame.select(F.lit("").alias("_file"), *[_col(c) for c in names])
        for file in source.files:
            _check_path(file)
        if source.format == "parquet":
            frame = self._spark.read.option("mergeSchema", "true").parquet(*(_spark_path(f) for f in source.files))
            return self._with_file(frame, [(f, f) for f in source.files])
        skips = source.skips or (0,) * len(source.files)
        copies = self._check_csv(source.files, skips)
        groups: dict[tuple[tuple[str, ...], str, bool], list[tuple[str, str]]] = {}
        for i, (file, skip) in enumerate(zip(source.files, skips, strict=True)):
            header, newline = _head(file, skip)
            header = source.columns[i] if source.columns else header  # as the caller read and checked them
            read = copies.get(file) or file
            self._csv[os.path.abspath(read)] = (file, skip, len(header))
            groups.setdefault((header, newline, skip > 0 and read == file), []).append((read, file))
        frames = []
        for (header, newline, banner), files in groups.items():
            reader = (self._spark.read.schema(StructType([StructField(c, StringType()) for c in header]))
                      .options(header=True, sep=",", quote='"', escape='"', multiLine=True, encoding="UTF-8",
                               lineSep=newline, mode="FAILFAST", unescapedQuoteHandling="RAISE_ERROR",
                               enforceSchema=True))
            if banner:  # Spark has no option to skip lines: the banner's '#' lines are comments
                reader = reader.option("comment", "#")
            frames.append(self._with_file(reader.csv([_spark_path(read) for read, _ in files]), files))
        frame = frames[0]
        for more in frames[1:]:
            frame = frame.unionByName(more, allowMissingColumns=True)
        return frame

    def _with_file(self, frame: DataFrame, files: list[tuple[str, str]]) -> DataFrame:
        """``frame`` (read from the first of each pair of ``files``) with ``_file`` first: the second, the path
        as given (Spark names a file by its ``file:`` URI)."""
        from pyspark.sql import functions as F

        columns = [_col(c) for c in frame.columns]
        if len(files) == 1:
            return frame.select(F.lit(files[0][1]).alias("_file"), *columns)
        uri = F.col("_metadata.file_path")
        local = F.regexp_replace(F.url_decode(F.replace(uri, F.lit("+"), F.lit("%2B"))), "^file:(//)?", "")
        given = self._spark.createDataFrame([(os.path.abspath(read), file) for read, file in files],
                                            "_local string, _given string")
        return (frame.select(local.alias("_local"), *columns).join(F.broadcast(given), "_local", "left")
                .select(F.coalesce("_given", "_local").alias("_file"), *columns))

    def _check_csv(self, files: tuple[str, ...], skips: tuple[int, ...]) -> dict[str, str]:
        """Refuse bytes that are not UTF-8 (Spark would replace them); and where a line below a file's banner
        starts with '#' (Spark's comment marker would drop it) read a copy of the file without its banner,
        which a local Spark can (a cluster's machines cannot see it: refused there). Returns the copies."""
        todo = [(f, s) for f, s in zip(files, skips, strict=True) if (f, s) not in self._checked]
        if todo:
            from pyspark.sql import functions as F

            lines = self._spark.read.text([_spark_path(f) for f, _ in todo])
            counts = (lines.groupBy(F.col("_metadata.file_path").alias("uri"))
                      .agg(F.sum(F.col("value").rlike("^\ufeff?#").cast("int")).alias("hashes"),
                           F.max((~F.expr("is_valid_utf8(value)")).cast("int")).alias("invalid"))
                      .collect())
            seen = {_local_path(r["uri"]): (r["hashes"] or 0, r["invalid"] or 0) for r in counts}
            for file, skip in todo:
                hashes, invalid = seen.get(os.path.abspath(file), (0, 0))
                byte = first_bad_utf8(file) if invalid else None
                if byte is not None:
                    raise QueryError(f"invalid UTF-8 in {file} at byte {byte}; the ledger must be UTF-8 text")
                self._checked[(file, skip)] = self._without_banner(file, skip) if skip and hashes > skip else None
        return {f: self._checked[(f, s)] for f, s in zip(files, skips, strict=True) if self._checked[(f, s)]}

    def _without_banner(self, file: str, skip: int) -> str:
        if not self._spark.sparkContext.master.startswith("local"):
            line = _first_hash_line(file, skip)
            raise QueryError(f"{file}: line {line} starts with '#' below the banner; Spark on a cluster reads such "
                             "a row as a comment and would drop it (remove the banner, or read the ledger with "
                             "DuckDB or a local Spark)")
        if self._copies is None:
            self._copies = tempfile.TemporaryDirectory(prefix="unitecon-spark-")
        copy = os.path.join(self._copies.name, f"{len(os.listdir(self._copies.name))}.csv")
        newline = _head(file, skip)[1].encode()
        with _open(file) as source, open(copy, "wb") as out:
            head = b""
            while head.count(newline) < skip and (chunk := source.read(HEAD_BYTES)):
                head += chunk
            at = 0
            for _ in range(skip):
                at = head.index(newline, at) + len(newline)
            out.write(head[at:])
            shutil.copyfileobj(source, out, 1 << 20)
        return copy


def _session(master: str) -> SparkSession:
    """A new SparkSession on the process's Spark context for ``master``: the context started once (the JVM's log
    to a temporary file) and reused, restarted only for another master."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from pyspark import SparkConf, SparkContext
            from pyspark.sql import SparkSession
    except ImportError:
        raise QueryError("Apache Spark is not installed; pip install 'unitecon[spark]' (Spark also needs a Java 17+ "
                         "runtime)") from None
    if not _java():
        where = f"JAVA_HOME={os.environ['JAVA_HOME']} holds no bin/java" if os.environ.get("JAVA_HOME") else \
            "no java on PATH and JAVA_HOME unset"
        raise QueryError(f"Spark needs Java and finds none ({where}); {JAVA}")
    active = SparkContext._active_spark_context
    if active is not None and (active.master != master or _stopped(active)):
        with contextlib.suppress(Exception):
            active.stop()
        active = None
    try:
        if active is None:
            local = master.startswith("local")
            conf = (SparkConf().setMaster(master).setAppName("unitecon")
                    .set("spark.driver.memory", os.environ.get("UNITECON_SPARK_MEMORY") or DRIVER_MEMORY)
                    .set("spark.ui.enabled", "false").set("spark.ui.showConsoleProgress", "false")
                    .set("spark.sql.execution.arrow.pyspark.enabled", "true"))
            if local:
                conf = conf.set("spark.driver.host", "127.0.0.1").set("spark.driver.bindAddress", "127.0.0.1")
            with warnings.catch_warnings(), _local_ip(local):
                warnings.simplefilter("ignore")
                gateway = None if SparkContext._gateway is not None else _gateway(conf)
                SparkContext(conf=conf, gateway=gateway).setLogLevel("ERROR")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            spark = SparkSession.builder.getOrCreate().newSession()  # settings and views of its own
            for key, value in SETTINGS.items():
                spark.conf.set(key, value)
    except QueryError:
        raise
    except Exception as exc:
        unanswered = any("unresponsive" in line for line in _log())
        reason = "no master answers there" if unanswered else _message(exc)
        raise QueryError(f"Spark cannot start on {master} ({reason})") from None
    _quiet()
    return spark


def _stopped(context: Any) -> bool:
    try:
        return bool(context._jsc.sc().isStopped())
    except Exception:  # the JVM is gone
        return True


def _quiet() -> None:
    """pyspark logs a failed query's error to stderr as JSON; it reaches the user as a QueryError instead."""
    from pyspark.logger import PySparkLogger

    for name in ("SQLQueryContextLogger", "DataFrameQueryContextLogger"):
        PySparkLogger.getLogger(name).disabled = True


def _java() -> str | None:
    home = os.environ.get("JAVA_HOME")
    if home:
        java = os.path.join(home, "bin", "java")
        return java if os.access(java, os.X_OK) else None
    return shutil.which("java")


_LOG: list[str] = []  # the JVM's log file, once started here


def _log() -> list[str]:
    """What the JVM has written to its log, line by line."""
    if not _LOG:
        return []
    with contextlib.suppress(OSError), open(_LOG[0], encoding="utf-8", errors="replace") as fh:
        return [line.strip() for line in fh if line.strip() and not line.startswith("WARNING:")]
    return []


def _gateway(conf: Any) -> Any:
    """Start Spark's JVM with its output to a log file (kept off the terminal), or say why it would not."""
    from pyspark.java_gateway import launch_gateway

    if "PYSPARK_GATEWAY_PORT" in os.environ:  # already inside spark-submit
        return launch_gateway(conf)
    handle, path = tempfile.mkstemp(prefix="unitecon-spark-", suffix=".log")
    atexit.register(_remove, path)
    _LOG[:] = [path]
    try:
        return launch_gateway(conf, popen_kwargs={"stdout": handle, "stderr": handle})
    except Exception:
        said = _log()
        if any("UnsupportedClassVersionError" in line for line in said):
            raise QueryError(f"Spark needs Java 17 or later and {_java()} is older; {JAVA}") from None
        reason = next((line for line in said if "Error" in line or "Exception" in line), said[-1] if said else "")
        raise QueryError(f"Spark's Java process exited ({reason or 'no message'}); {JAVA}") from None
    finally:
        os.close(handle)


def _remove(path: str) -> None:
    with contextlib.suppress(OSError):
        os.remove(path)


@contextlib.contextmanager
def _local_ip(local: bool):
    """SPARK_LOCAL_IP=127.0.0.1 for a local master while the JVM starts (no lookup of this host's name)."""
    if not local or "SPARK_LOCAL_IP" in os.environ:
        yield
        return
    os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"
    try:
        yield
    finally:
        os.environ.pop("SPARK_LOCAL_IP", None)


def _message(exc: BaseException) -> str:
    """What went wrong, in one line: for a failed job its causes (the file, then what is wrong in it), not the
    job's wrappers, and none of Spark's advice to turn ANSI mode off."""
    java = getattr(exc, "java_exception", None) or getattr(exc, "_origin", None)
    said: list[str] = []
    with contextlib.suppress(Exception):
        while java is not None and len(said) < 10:
            said.append(str(java.getMessage() or java.toString()))
            java = java.getCause()
    lines = [text.strip().splitlines()[0].strip() for text in said if text.strip()]
    lines = [line for line in lines if not line.startswith(WRAPPERS)] or [str(exc).strip() or type(exc).__name__]
    first = lines[0].splitlines()[0] if lines[0].strip() else type(exc).__name__
    if first.startswith("[FAILED_READ_FILE") and len(lines) > 1:  # the file, then what is wrong in it
        first = f"{first} {lines[1]}"
    first = re.sub(r"\s*SQLSTATE: \w+\.?", "", first)
    first = re.sub(r"\s*If necessary set \S+ to \S+ to bypass this error\.", "", first)
    first = re.sub(r"\bfile:(//)?(/\S*)", lambda m: urllib.parse.unquote(m.group(2)), first)
    return re.sub(r"^([\w$]+\.)+\w*(Exception|Error): ", "", first).strip() or type(exc).__name__


def _col(name: str) -> Any:
    """The column ``name``, whatever characters it holds."""
    from pyspark.sql import functions as F

    return F.col("`" + name.replace("`", "``") + "`")


def _kind(spark_type: Any) -> str:
    from pyspark.sql import types as T

    if isinstance(spark_type, (T.StringType, T.VarcharType, T.CharType)):
        return "text"
    if isinstance(spark_type, (T.TimestampType, T.TimestampNTZType)):
        return "timestamp"
    if isinstance(spark_type, T.DateType):
        return "date"
    if isinstance(spark_type, T.BooleanType):
        return "boolean"
    if isinstance(spark_type, T.NumericType):
        return "number"
    return "other"


# --- files ---------------------------------------------------------------------------------------------------
def _check_path(file: str) -> None:
    if ":" in os.path.abspath(file):
        raise QueryError(f"{file}: Spark (Hadoop) cannot read a file whose path holds ':'; rename it")
    if file.lower().endswith(".gz") and not file.endswith(".gz"):
        raise QueryError(f"{file}: Spark inflates only files named .gz (lower case); rename it")


def _spark_path(file: str) -> str:
    """``file`` as Spark reads it: absolute (the JVM's working folder may not be ours), on the local file
    system even where the cluster's default is HDFS, its glob characters escaped."""
    return "file://" + GLOB.sub(r"\\\1", os.path.abspath(file))


def _local_path(uri: str) -> str:
    """The local path of Spark's ``file:`` URI for a file."""
    return os.path.abspath(urllib.parse.unquote(re.sub(r"^file:(//)?", "", uri)))


def _open(file: str):
    return gzip.open(file, "rb") if file.lower().endswith(".gz") else open(file, "rb")


def _head(file: str, skip: int) -> tuple[tuple[str, ...], str]:
    """A CSV file's column names (named as DuckDB's sniffer names an empty or repeated one) and its line break."""
    with _open(file) as fh:
        head = fh.read(HEAD_BYTES)
        while head.count(b"\n") + head.count(b"\r") <= skip + 1 and len(head) < 1 << 24:
            more = fh.read(HEAD_BYTES)
            if not more:
                break
            head += more
    text = head.removeprefix(b"\xef\xbb\xbf").decode("utf-8", "replace")
    at = min((i for i in (text.find("\r"), text.find("\n")) if i >= 0), default=-1)
    newline = "\r\n" if text[at:at + 2] == "\r\n" else text[at] if at >= 0 else "\n"
    rows = text.split(newline)
    record = next(csv.reader([rows[skip] if skip < len(rows) else ""]), [])
    return _names(record), newline


def _names(header: list[str]) -> tuple[str, ...]:
    """Column names as DuckDB makes them of a header: spaces trimmed, an empty one ``column<i>`` (as many
    digits as the last index has), a repeated one (ignoring case) suffixed ``_1``, ``_2``, …"""
    width = len(str(len(header) - 1))
    seen: set[str] = set()
    counts: dict[str, int] = {}
    names = []
    for i, name in enumerate(header):
        name = name.strip(" ") or f"column{i:0{width}d}"
        while name.lower() in seen:
            counts[name.lower()] = counts.get(name.lower(), 0) + 1
            name = f"{name}_{counts[name.lower()]}"
        seen.add(name.lower())
        names.append(name)
    return tuple(names)


def _first_hash_line(file: str, skip: int) -> int:
    with _open(file) as fh, io.TextIOWrapper(fh, encoding="utf-8", errors="replace", newline=None) as text:
        for number, line in enumerate(text, start=1):
            if number > skip and line.lstrip("\ufeff").startswith("#"):
                return number
    return skip + 1


def _bad_record(file: str, skip: int, width: int) -> tuple[int, int] | None:
    """The first line and the number of fields of the first record below ``file``'s header whose fields are not
    ``width``, read with Python's csv module (Spark's error names the record, not its line)."""
    with _open(file) as raw, io.TextIOWrapper(raw, encoding="utf-8", errors="replace", newline="") as text:
        for _ in range(skip):
            text.readline()
        reader = csv.reader(text)
        end = 0
        for number, record in enumerate(reader):
            start, end = end + 1, reader.line_num
            if number and record and len(record) != width:
                return skip + start, len(record)
    return None

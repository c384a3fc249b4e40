"""Where a ledger's rows lie: the one file, folder or glob an inputs file's ``ledger: file:`` names, resolved to
the files read, their format, their banner, and a content hash.

A folder is read with everything under it (a data lake's ``year=2024/part-0.parquet`` partitions too); a glob
(``billing/*.parquet``, ``**/*.csv.gz``) is matched relative to the inputs file. Either way names starting with
``.`` or ``_`` are left out, folder links are not followed and each file is read once. One dataset holds one
format: Parquet, or CSV (``.csv`` and ``.csv.gz`` mixed), or a single .xlsx workbook.

The content hash is SHA-256: of the file itself for a one-file ledger (so it is the digest ``sha256sum``
prints), else of the ``sha256sum`` listing of its files (``<digest>  <path relative to the dataset>`` per line,
sorted by path in C order), so an auditor can check any file on its own. :class:`Hashing` computes it in a thread of its
own while the engine reads the files, each file read once more, but in the same time as the query.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path

from ..errors import Problem, UniteconError

PARQUET = (".parquet", ".parq")
CSV = (".csv", ".csv.gz")
XLSX = (".xlsx", ".xlsm")
BANNER_KEY = "unitecon.banner"  # a Parquet file's key-value metadata: what a CSV says in its '#' lines
MAX_BANNER_LINES = 100


class LedgerError(UniteconError):
    """The ledger is unusable; every problem found is listed, one per line."""


@dataclass(frozen=True)
class Dataset:
    """The files of one ledger."""

    spec: str  # what the inputs file says: a file, folder or glob
    root: Path  # the folder the files' shown names are relative to
    files: tuple[Path, ...]
    format: str  # "parquet", "csv" or "xlsx"
    banner: str  # the first file's own header text, "" if none
    skips: tuple[int, ...]  # CSV: banner lines above each file's header
    columns: tuple[tuple[str, ...], ...] = ()  # each file's columns, as its header (or schema) names them

    @property
    def name(self) -> str:
        """How the sheets name it: the file's name, or the folder or glob and how many files it matched."""
        if len(self.files) == 1:
            return self.files[0].name
        kind = {"parquet": "Parquet", "csv": "CSV"}.get(self.format, self.format)
        return f"{self.spec if _is_glob(self.spec) else Path(self.spec).name} ({len(self.files):,} {kind} files)"

    def shown(self, file: Path) -> str:
        """``file``'s name relative to the dataset's folder."""
        try:
            return file.relative_to(self.root).as_posix()
        except ValueError:
            return file.name


def resolve(spec: str, base: Path) -> Dataset:
    """The dataset ``spec`` names (relative to the folder ``base``)."""
    target = Path(spec) if Path(spec).is_absolute() else base / spec
    if _is_glob(spec):
        root = _glob_root(target)
        pattern = _glob_pattern(target.relative_to(root).as_posix()) if root != target else None
        files = _walk(root, pattern)
        if not files:
            raise LedgerError(Problem(spec, "", f"no ledger files match under {root}; expected Parquet, CSV or "
                                                 ".csv.gz files"))
    elif target.is_dir():
        root = target
        files = _walk(root, None)
        if not files:
            raise LedgerError(Problem(str(target), "", "the folder holds no ledger files; expected Parquet, CSV "
                                                        "or .csv.gz files"))
    else:
        root = target.parent
        files = [target]
        if not target.exists():
            raise LedgerError(Problem(str(target), "", "cannot read ledger (No such file or directory)"))
    kinds = {_format(f) for f in files}
    if None in kinds:
        raise LedgerError(Problem(str(files[0]), "", "unsupported ledger file type; expected .parquet, .csv, "
                                                      ".csv.gz or .xlsx"))
    if len(kinds) > 1:
        first = {k: next(f for f in files if _format(f) == k) for k in kinds}
        shown = " and ".join(f"{k} ({first[k].name})" for k in sorted(kinds))
        raise LedgerError(Problem(spec, "", f"mixes {shown} files; expected one format per ledger"))
    (kind,) = kinds
    if kind == "xlsx" and len(files) > 1:
        raise LedgerError(Problem(spec, "", f"matches {len(files):,} .xlsx workbooks; a ledger is one workbook or "
                                             "a set of Parquet or CSV files"))
    for f in files:
        try:
            with open(f, "rb"):
                pass
        except OSError as exc:
            raise LedgerError(Problem(str(f), "", f"cannot read ledger ({exc.strerror})")) from None
    shown_spec = str(target) if len(files) == 1 and files[0] == target else spec
    if kind == "csv":
        heads = [_csv_head(f) for f in files]
        banner, skips, columns = heads[0][0], tuple(h[1] for h in heads), tuple(h[2] for h in heads)
    elif kind == "parquet":
        banner, skips, columns = _parquet_banner(files[0]), (), tuple(_parquet_columns(f) for f in files)
    else:
        banner, skips, columns = "", (), ()
    return Dataset(shown_spec, root, tuple(files), kind, banner, skips, columns)


def _walk(root: Path, pattern: re.Pattern | None) -> list[Path]:
    """The ledger files under ``root`` (matching ``pattern``, a path relative to ``root``), never following a
    link to a folder (a link loop would read the same rows again and again) and each file once, however many
    links lead to it; hidden and ``_``-prefixed files and folders left out (Spark's ``_SUCCESS``,
    ``_temporary/``). In C-locale order of their relative paths, as ``LC_ALL=C sort`` lists them."""
    found: dict[str, Path] = {}
    for folder, folders, names in os.walk(root, followlinks=False):
        folders[:] = [d for d in folders if not d.startswith((".", "_"))]
        for name in names:
            path = Path(folder) / name
            relative = path.relative_to(root).as_posix()
            if not _wanted(path) or (pattern is not None and not pattern.fullmatch(relative)):
                continue
            real = os.path.realpath(path)
            if real not in found and path.is_file():
                found[real] = path
    return sorted(found.values(), key=lambda p: p.relative_to(root).as_posix().encode("utf-8"))


def _glob_pattern(glob_text: str) -> re.Pattern:
    """A glob relative to its root (``*`` within a name, ``**/`` any folders, ``?``, ``[…]``) as a regex."""
    out, i = [], 0
    while i < len(glob_text):
        if glob_text.startswith("**/", i):
            out.append("(?:[^/]+/)*")
            i += 3
        elif glob_text.startswith("**", i):
            out.append(".*")
            i += 2
        elif glob_text[i] == "*":
            out.append("[^/]*")
            i += 1
        elif glob_text[i] == "?":
            out.append("[^/]")
            i += 1
        elif glob_text[i] == "[" and "]" in glob_text[i + 2:]:
            end = glob_text.index("]", i + 2)
            body = glob_text[i + 1:end]
            out.append("[" + ("^" + re.escape(body[1:]) if body.startswith("!") else re.escape(body)) + "]")
            i = end + 1
        else:
            out.append(re.escape(glob_text[i]))
            i += 1
    return re.compile("".join(out))


def _is_glob(spec: str) -> bool:
    return any(c in spec for c in "*?[")


def _glob_root(pattern: Path) -> Path:
    """The folder a glob's matches lie under: its parts before the first with a wildcard."""
    parts = []
    for part in pattern.parts:
        if _is_glob(part):
            break
        parts.append(part)
    return Path(*parts) if parts else Path(".")


def _wanted(path: Path) -> bool:
    return not path.name.startswith((".", "_")) and _format(path) is not None


def _format(path: Path) -> str | None:
    name = path.name.lower()
    if name.endswith(PARQUET):
        return "parquet"
    if name.endswith(CSV):
        return "csv"
    if name.endswith(XLSX):
        return "xlsx"
    return None


def _csv_head(path: Path) -> tuple[str, int, tuple[str, ...]]:
    """The '#' lines at the top of a CSV (gzipped or not): their text and how many there are; and the names in
    its header row."""
    import csv
    import gzip
    import io

    opener = gzip.open if path.name.lower().endswith(".gz") else open
    lines = []
    try:
        with opener(path, "rb") as fh:
            line = fh.readline(1 << 20).removeprefix(b"\xef\xbb\xbf")
            while line.startswith(b"#") and len(lines) <= MAX_BANNER_LINES:
                lines.append(line)
                line = fh.readline(1 << 20)
            header = line
            empty = not header.strip() and not fh.read(1 << 16).strip()
    except (OSError, EOFError) as exc:
        raise LedgerError(Problem(str(path), "", f"not a readable gzip file ({exc})")) from None
    if len(lines) > MAX_BANNER_LINES:
        raise LedgerError(Problem(str(path), "", f"more than {MAX_BANNER_LINES} '#' lines at the top; expected a "
                                                  "short banner, then the header row"))
    if empty:
        raise LedgerError(Problem(str(path), "", "the ledger is empty; expected a header row (customer_id, "
                                                 "customer_name, segment, deployment, period or billed_at, amount, "
                                                 "currency) and data rows"))
    try:
        names = next(csv.reader(io.StringIO(header.decode("utf-8"))), [])
    except UnicodeDecodeError as exc:
        raise LedgerError(Problem(str(path), f"line {len(lines) + 1}", f"the header row is not UTF-8 text (byte "
                                                                       f"{exc.start}); save the ledger as UTF-8 "
                                                                       "CSV")) from None
    text = " ".join(line.decode("utf-8", "replace").lstrip("#").strip() for line in lines)
    return text.strip(), len(lines), tuple(name.strip() for name in names)


def _parquet_columns(path: Path) -> tuple[str, ...]:
    import pyarrow.parquet as pq

    try:
        return tuple(pq.read_schema(path).names)
    except Exception as exc:  # pyarrow raises ArrowInvalid, OSError and others for a damaged footer
        raise LedgerError(Problem(str(path), "", f"not a readable Parquet file ({str(exc).strip()})")) from None


def _parquet_banner(path: Path) -> str:
    import pyarrow.parquet as pq

    try:
        metadata = pq.read_metadata(path).metadata or {}
    except Exception as exc:  # pyarrow raises ArrowInvalid, OSError and others for a damaged footer
        raise LedgerError(Problem(str(path), "", f"not a readable Parquet file ({str(exc).strip()})")) from None
    return metadata.get(BANNER_KEY.encode(), b"").decode("utf-8", "replace").strip()


class Hashing:
    """The dataset's content hash, computed in a thread beside the query that reads the same files."""

    CHUNK = 1 << 20

    def __init__(self, dataset: Dataset):
        self._dataset = dataset
        self._digests: list[str] = []
        self._error: OSError | None = None
        self._thread = threading.Thread(target=self._run, name="unitecon-ledger-hash", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            for file in self._dataset.files:
                digest = hashlib.sha256()
                with open(file, "rb") as fh:
                    while chunk := fh.read(self.CHUNK):
                        digest.update(chunk)
                self._digests.append(digest.hexdigest())
        except OSError as exc:
            self._error = exc

    def result(self) -> str:
        """The hash (waits for the thread)."""
        self._thread.join()
        if self._error is not None:
            raise LedgerError(Problem(str(self._error.filename or self._dataset.spec), "",
                                       f"cannot read ledger ({self._error.strerror})"))
        if len(self._dataset.files) == 1:
            return self._digests[0]
        listing = "".join(f"{d}  {self._dataset.shown(f)}\n" for d, f in zip(self._digests, self._dataset.files,
                                                                            strict=True))
        return hashlib.sha256(listing.encode("utf-8")).hexdigest()

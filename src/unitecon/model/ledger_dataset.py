"""Where a ledger's rows lie: the one file, folder or glob an inputs file's ``ledger: file:`` names, resolved to
the files read, their format, their banner, and a content hash.

A folder is read with everything under it (a data lake's ``year=2024/part-0.parquet`` partitions too),
leaving out hidden files and Spark's ``_SUCCESS`` markers; a glob (``billing/*.parquet``, ``**/*.csv.gz``) is
matched relative to the inputs file. One dataset holds one format: Parquet, or CSV (``.csv`` and ``.csv.gz``
mixed), or a single .xlsx workbook.

The content hash is SHA-256: of the file itself for a one-file ledger (so it is the digest ``sha256sum``
prints), else of the ``sha256sum`` listing of its files (``<digest>  <path relative to the dataset>`` per line,
in path order), so an auditor can check any file on its own. :class:`Hashing` computes it in a thread of its
own while the engine reads the files, each file read once more, but in the same time as the query.
"""

from __future__ import annotations

import glob
import hashlib
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from ..errors import Problem, UniteconError

PARQUET = (".parquet", ".parq")
CSV = (".csv", ".csv.gz")
XLSX = (".xlsx", ".xlsm")
BANNER_KEY = b"unitecon.banner"  # a Parquet file's key-value metadata: what a CSV says in its '#' lines
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
        files = sorted(Path(p) for p in glob.glob(str(target), recursive=True) if Path(p).is_file()
                       and _wanted(Path(p)))
        if not files:
            raise LedgerError(Problem(spec, "", f"no ledger files match under {root}; expected Parquet, CSV or "
                                                 ".csv.gz files"))
    elif target.is_dir():
        root = target
        files = sorted(p for p in target.rglob("*") if p.is_file() and _wanted(p)
                       and not any(part.startswith((".", "_")) for part in p.relative_to(target).parts))
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
            os.stat(f)
            with open(f, "rb"):
                pass
        except OSError as exc:
            raise LedgerError(Problem(str(f), "", f"cannot read ledger ({exc.strerror})")) from None
    shown_spec = str(target) if len(files) == 1 and files[0] == target else spec
    if kind == "csv":
        banners = [_csv_banner(f) for f in files]
        banner, skips = banners[0][0], tuple(b[1] for b in banners)
    elif kind == "parquet":
        banner, skips = _parquet_banner(files[0]), ()
    else:
        banner, skips = "", ()
    return Dataset(shown_spec, root, tuple(files), kind, banner, skips)


def _is_glob(spec: str) -> bool:
    return any(c in spec for c in "*?[")


def _glob_root(pattern: Path) -> Path:
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


def _csv_banner(path: Path) -> tuple[str, int]:
    """The '#' lines at the top of a CSV (gzipped or not): their text, and how many there are."""
    import gzip

    opener = gzip.open if path.name.lower().endswith(".gz") else open
    lines = []
    try:
        with opener(path, "rb") as fh:
            while len(lines) <= MAX_BANNER_LINES:
                line = fh.readline(1 << 16)
                if not line.startswith(b"#") and not (not lines and line.startswith(b"\xef\xbb\xbf#")):
                    break
                lines.append(line.removeprefix(b"\xef\xbb\xbf"))
            empty = not line.removeprefix(b"\xef\xbb\xbf").strip() and not fh.read(1 << 16).strip()
    except (OSError, EOFError) as exc:
        raise LedgerError(Problem(str(path), "", f"not a readable gzip file ({exc})")) from None
    if len(lines) > MAX_BANNER_LINES:
        raise LedgerError(Problem(str(path), "", f"more than {MAX_BANNER_LINES} '#' lines at the top; expected a "
                                                  "short banner, then the header row"))
    if empty and len(lines) <= MAX_BANNER_LINES:
        raise LedgerError(Problem(str(path), "", "the ledger is empty; expected a header row (customer_id, "
                                                 "customer_name, segment, deployment, period or billed_at, amount, "
                                                 "currency) and data rows"))
    text = " ".join(line.decode("utf-8", "replace").lstrip("#").strip() for line in lines)
    return text.strip(), len(lines)


def _parquet_banner(path: Path) -> str:
    import pyarrow.parquet as pq

    try:
        metadata = pq.read_metadata(path).metadata or {}
    except Exception as exc:  # pyarrow raises ArrowInvalid, OSError and others for a damaged footer
        raise LedgerError(Problem(str(path), "", f"not a readable Parquet file ({str(exc).strip()})")) from None
    return metadata.get(BANNER_KEY, b"").decode("utf-8", "replace").strip()


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

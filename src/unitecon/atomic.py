"""Replace a file all at once: a killed or failed write leaves the previous file as it was."""

from __future__ import annotations

import contextlib
import errno
import os
import re
import stat
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

STALE_AFTER = 60 * 60  # seconds: far longer than any write takes, so an older temporary file's writer is gone
_RANDOM = "[a-z0-9_]{8}"  # what tempfile.mkstemp puts between prefix and suffix


@contextlib.contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """A temporary file beside ``path``, renamed onto it when the block ends without error, removed otherwise.

    The temporary file sits in the same folder so the rename is atomic; it is hidden (``.name.…tmp``). A
    symbolic link is written through (the file it points at is replaced); anything at ``path`` that is not a
    regular file (a folder, a device) is refused with OSError. Temporary files of the same target that a
    killed write left behind are removed first (see :func:`remove_stale`).
    """
    if path.is_symlink():
        path = path.resolve()
    if path.exists() and not path.is_file():
        raise OSError(errno.EEXIST, "exists and is not a regular file", str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f"{path.suffix}.tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)  # mkstemp makes the file private; the result is an ordinary file
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def remove_stale(path: Path, older_than: float = STALE_AFTER) -> list[Path]:
    """Remove the temporary files :func:`replacing` made for ``path`` that were last modified more than
    ``older_than`` seconds ago; returns those removed.

    A write killed outright (SIGKILL, power loss) cannot remove its own temporary file, and nothing in the
    file says whether its writer still runs (a process id is reused, and means nothing on another machine
    sharing the folder). Age does: a write finishes in minutes at most, so a temporary file untouched for
    an hour belongs to a write that is gone, while one being written now is left alone. Only regular files
    named exactly as ``replacing`` names them for this target are touched; one that cannot be removed is
    left for a later write.
    """
    pattern = re.compile(re.escape(f".{path.stem}.") + _RANDOM + re.escape(f"{path.suffix}.tmp"))
    cutoff = time.time() - older_than
    removed = []
    try:
        entries = list(os.scandir(path.parent))
    except OSError:
        return removed
    for entry in entries:
        if not pattern.fullmatch(entry.name):
            continue
        try:
            info = entry.stat(follow_symlinks=False)
            if stat.S_ISREG(info.st_mode) and info.st_mtime < cutoff:
                os.unlink(entry.path)
                removed.append(Path(entry.path))
        except OSError:
            continue
    return removed

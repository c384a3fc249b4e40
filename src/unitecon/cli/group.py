"""The ``unitecon`` command group and what its commands share: one-line errors, progress, file checks."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import click

from .. import __version__
from ..errors import UniteconError


def fail(err: UniteconError) -> None:
    for problem in err.problems:
        click.echo(f"error: {problem}", err=True)
    sys.exit(1)


def progress(target: Path):
    """A one-line progress display on a terminal (stderr); nothing when output is piped or logged."""
    if not sys.stderr.isatty():
        return None

    def show(message: str) -> None:
        click.echo(f"\r\x1b[K{target.name}: {message}", err=True, nl=False)

    return show


def inputs_files(models: tuple[str, ...], inputs_dir: Path) -> list[Path]:
    if not models:
        found = sorted(inputs_dir.glob("*.yaml"))
        if not found:
            raise UniteconError(f"{inputs_dir}: no *.yaml inputs files found")
        return found
    out = []
    for m in models:
        path = Path(m) if m.endswith((".yaml", ".yml")) else inputs_dir / f"{m}.yaml"
        if not path.is_file():
            known = ", ".join(p.stem for p in sorted(inputs_dir.glob("*.yaml"))) or "none"
            raise UniteconError(f"{path}: no such inputs file (models in {inputs_dir}: {known})")
        out.append(path)
    return out


def writable_folder(folder: Path) -> None:
    """Create ``folder`` if needed and prove a file can be written in it, before any long work is done."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise UniteconError(f"{folder}: cannot write files in this folder ({exc.strerror or exc}); expected a "
                            "folder you can write to") from None


def readable(path: Path) -> None:
    if not path.is_file():
        raise UniteconError(f"{path}: no such file")


class _Commands(click.Group):
    """The command group, with a last line of defence: an error nobody foresaw is one line, not a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException, SystemExit):
            raise
        except UniteconError as err:  # a command that does not catch its own (a catalogue typo in `catalogue`)
            fail(err)
        except KeyboardInterrupt:
            click.echo("error: interrupted; nothing was half-written (files are replaced whole)", err=True)
            sys.exit(130)
        except MemoryError:
            click.echo("error: out of memory; see the README's Limits for the sizes unitecon reads", err=True)
            sys.exit(70)
        except Exception as exc:
            if os.environ.get("UNITECON_DEBUG"):
                raise
            click.echo(f"error: internal error ({type(exc).__name__}: {str(exc)[:200]}); this is a bug in unitecon "
                       "- please report it with the command; UNITECON_DEBUG=1 shows the traceback", err=True)
            sys.exit(70)


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="unitecon")
def main() -> None:
    """Cited assumptions in, live-formula unit-economics workbooks out."""

"""Errors that reach the user as one line each, never as a traceback."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a user's file: where, what, and what was expected."""

    file: str
    where: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        if not self.file:
            return self.message
        location = f"{self.file}:{self.line}" if self.line else self.file
        return f"{location}: {self.where}: {self.message}" if self.where else f"{location}: {self.message}"


class UniteconError(Exception):
    """An error with a list of problems, each printed on its own line by the CLI."""

    def __init__(self, problems: list[Problem] | Problem | str):
        if isinstance(problems, str):
            problems = [Problem(file="", where="", message=problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class InputsError(UniteconError):
    """The inputs file is invalid."""


class ScenarioError(InputsError):
    """A scenario asked for (``--scenario``, or a workbook's selector) that the inputs file does not declare."""


class ModelError(UniteconError):
    """The metric catalogue cannot be applied to the inputs (missing inputs, cycles, bad names)."""

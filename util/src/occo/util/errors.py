"""The Occopus error hierarchy.

Every expected failure is an `OccoError`; the commands print it as one line
(`file:line:column: message`, then a hint) and exit non-zero. Any other
exception is a bug and is logged with its traceback.

    OccoError
    ├── ConfigurationError      a config or auth file is missing or wrong
    ├── SchemaError             a description breaks the schema (all problems at once)
    └── PluginNotAvailable      a declared plugin type has no implementation installed
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SourceLocation:
    """Where in which file a value came from; line and column count from 1."""

    file: str | None = None
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        parts = [self.file or "<input>"]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts)


class OccoError(Exception):
    """An expected failure, reported to the user as one line plus a hint."""

    def __init__(self, message: str, *, location: SourceLocation | None = None,
                 hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.location = location
        self.hint = hint

    def __str__(self) -> str:
        text = f"{self.location}: {self.message}" if self.location else self.message
        return f"{text}\n  hint: {self.hint}" if self.hint else text


class ConfigurationError(OccoError):
    """A configuration or authentication file is missing or wrong."""


class SchemaError(OccoError):
    """A description breaks the schema; `problems` holds every problem found."""

    def __init__(self, problems: list[OccoError]) -> None:
        super().__init__(f"{len(problems)} problem(s) found")
        self.problems = problems

    def __str__(self) -> str:
        return "\n".join(str(problem) for problem in self.problems)


class PluginNotAvailable(OccoError):
    """A plugin type is declared in a description but no implementation is installed."""

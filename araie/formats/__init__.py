"""Readers and writers between araie's JSONL records and other annotation formats."""

from __future__ import annotations


class FormatError(ValueError):
    """Input a format cannot read, or a record it cannot carry; the message names the place.

    `problems` lists each problem when the error gathers several (see `refuse`).
    """

    def __init__(self, message: str, problems: list[str] | None = None):
        super().__init__(message)
        self.problems = problems or [message]


def refuse(problems: list[str]) -> None:
    """Raise one FormatError listing every problem (each naming its own place); nothing when there are none."""
    if len(problems) == 1:
        raise FormatError(problems[0])
    if problems:
        raise FormatError(f"{len(problems)} problems:\n" + "\n".join(problems), problems)

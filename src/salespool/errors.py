"""Errors a user can cause; the CLI prints them as one line and exits 1.

The core speaks in its own terms: a message about one of a function's arguments
names that argument as `option` (e.g. "amount"), and the CLI shows it as the
flag a user typed (`--amount: ...`). No core message names a command-line flag.
"""

from __future__ import annotations


class SalespoolError(Exception):
    """A refusal or a bad input: the message is shown to the user as is.

    `option`: the argument the message is about (a keyword of the core function,
    such as "amount" or "external_id"), or None.
    """

    def __init__(self, message: str, *, option: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.option = option


class NotFound(SalespoolError):
    """A named rep or customer does not exist."""


class Refused(SalespoolError):
    """The operation is not allowed in the current state (e.g. claim an owned customer)."""


class BadInput(SalespoolError):
    """A value or file the user gave cannot be read."""


class Locked(SalespoolError):
    """Another run holds a run lock (e.g. two `recycle` runs from cron); exit code 3."""

"""Errors a user can cause; the CLI prints them as one line and exits 1.

The core speaks in its own terms: a message about one of a function's arguments
names that argument as `option` (e.g. "amount"), and the CLI shows it as the
flag a user typed (`--amount: ...`). No core message names a command-line flag.
"""

from __future__ import annotations

# Where a message names the argument it advises (see SalespoolError.advises).
FLAG = "{flag}"


class SalespoolError(Exception):
    """A refusal or a bad input: the message is shown to the user as is.

    `option`: the argument the message is about (a keyword of the core function,
    such as "amount" or "external_id"), or None. `advises`: an argument the message
    advises giving, marked FLAG in the text ("pass {flag} (e.g. big5)"); `str()` names
    it by the argument, `worded(flag)` by the flag a caller has for it.
    """

    def __init__(
        self, message: str, *, option: str | None = None, advises: str | None = None
    ) -> None:
        self.text, self.option, self.advises = message, option, advises
        super().__init__(self.worded(advises) if advises else message)

    def worded(self, flag: str) -> str:
        """The message, naming the advised argument as `flag`."""
        return self.text.replace(FLAG, flag) if self.advises else self.text


class NotFound(SalespoolError):
    """A named rep or customer does not exist."""


class Refused(SalespoolError):
    """The operation is not allowed in the current state (e.g. claim an owned customer)."""


class BadInput(SalespoolError):
    """A value or file the user gave cannot be read."""


class Locked(SalespoolError):
    """Another run holds a run lock (e.g. two `recycle` runs from cron); exit code 3."""

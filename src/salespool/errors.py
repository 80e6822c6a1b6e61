"""Errors a user can cause; the CLI prints them as one line and exits 1."""


class SalespoolError(Exception):
    """A refusal or a bad input: the message is shown to the user as is."""


class NotFound(SalespoolError):
    """A named rep or customer does not exist."""


class Refused(SalespoolError):
    """The operation is not allowed in the current state (e.g. claim an owned customer)."""


class BadInput(SalespoolError):
    """A value or file the user gave cannot be read."""


class Locked(SalespoolError):
    """Another run holds a run lock (e.g. two `recycle` runs from cron); exit code 3."""

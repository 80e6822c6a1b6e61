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


# Refusals that carry what the CLI needs to advise the next command (cli/app.py said()).


class NoSuchCustomer(NotFound):
    """No customer answers to `key`; `finder` says how to find the id (the CLI: a command)."""

    def __init__(self, key: str, finder: str = "list_customers(session, search=TEXT)") -> None:
        super().__init__(
            f"no customer '{key}' (give #ID, an external_id or the exact name; "
            f"{finder} finds the id)"
        )
        self.key = key


class InPool(Refused):
    """Work on a customer in the pool: it needs an owner first (`handover.claim`).

    `customer_id` and `rep` say who would claim which customer, for the CLI's advice.
    """

    def __init__(self, name: str, customer_id: int, rep: str) -> None:
        super().__init__(f"'{name}' is in the pool; claim it first")
        self.customer_id = customer_id
        self.rep = rep


class Inactive(Refused):
    """A rep marked inactive may not receive customers; `rep` names them (the CLI says how
    to mark them active again)."""

    def __init__(self, rep: str) -> None:
        super().__init__(f"inactive: {rep} is marked inactive and receives no customers")
        self.rep = rep


class Clash(BadInput):
    """Two arguments that exclude each other were both given; `options` names them."""

    def __init__(self, first: str, second: str) -> None:
        super().__init__(f"{first} and {second}: choose one")
        self.options = (first, second)


class OwnersDiffer(Refused):
    """A merge of two customers owned by different reps, with no `owner` to say who keeps it.

    `held` says who owns which; `owners` are the two reps' names (KEEP's first), for the
    CLI to say the same with its flag.
    """

    def __init__(self, held: str, owners: tuple[str, str]) -> None:
        first, second = owners
        super().__init__(f"{held}: say who keeps it with owner={first!r} or owner={second!r}")
        self.held = held
        self.owners = owners

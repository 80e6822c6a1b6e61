"""Usage errors (a mistyped option, a value of the wrong kind) as one line, exit 2.

Typer checks option values with pydantic and shows its wording in a six-line box
("Value error, ...", "Input should be greater than or equal to 1"). A script's log
or a cron mail wants one line that names the option and says what it takes:
`error: --kind: 'fax' is not one of call, wechat, visit, email, meeting, other`.
"""

from __future__ import annotations

import re
from typing import Any

from typer import _click as click

EXIT_USAGE = 2
# pydantic's error types, worded for the option they are about.
WORDING = {
    "int_parsing": "'{input}' is not a whole number",
    "int_from_float": "'{input}' is not a whole number",
    "float_parsing": "'{input}' is not a number",
    "decimal_parsing": "'{input}' is not a number",
    "bool_parsing": "'{input}' is not true or false",
    "greater_than_equal": "{input} must be {ge} or more",
    "greater_than": "{input} must be more than {gt}",
    "less_than_equal": "{input} must be {le} or less",
    "less_than": "{input} must be less than {lt}",
}
_QUOTED_CHOICE = re.compile(r"'([^']*)'(?=,|\.?$)")


def usage_line(exc: click.exceptions.UsageError) -> str:
    """What a usage error says, in one line: the option or argument first, if it has one."""
    if isinstance(exc, click.exceptions.MissingParameter) and exc.param is not None:
        return f"{_name(exc.param)}: missing; try '{_help(exc)}'"
    if isinstance(exc, click.exceptions.BadParameter) and exc.param is not None:
        return f"{_name(exc.param)}: {_worded(exc)}"
    if isinstance(exc, click.exceptions.BadParameter) and exc.param_hint:
        hint = exc.param_hint
        named = hint if isinstance(hint, str) else " / ".join(hint)
        return f"{named}: {_worded(exc)}"
    return f"{_sentence(exc.format_message())}; try '{_help(exc)}'"


def _name(param: Any) -> str:
    longest = [opt for opt in param.opts if opt.startswith("--")]
    return longest[0] if longest else param.name.upper()


def _worded(exc: click.exceptions.BadParameter) -> str:
    cause = exc.__cause__
    errors = getattr(cause, "errors", None)
    if callable(errors):
        first = errors(include_url=False)[0]
        wording = WORDING.get(first.get("type", ""))
        if wording:
            return wording.format(input=first.get("input"), **first.get("ctx", {}))
        if first.get("type") == "value_error" and "error" in first.get("ctx", {}):
            return _choices(str(first["ctx"]["error"]))
    return _choices(_sentence(exc.message))


def _choices(text: str) -> str:
    """'fax' is not one of 'call', 'wechat'. -> 'fax' is not one of call, wechat"""
    head, sep, tail = text.partition(" is not one of ")
    if not sep:
        return _sentence(text)
    listed = _QUOTED_CHOICE.sub(r"\1", tail).rstrip(".")
    return f"{head}{sep}{listed}"


def _sentence(text: str) -> str:
    text = text.strip().removeprefix("Value error, ").rstrip(".")
    return text[:1].lower() + text[1:] if text[:2] != text[:2].upper() else text


def _help(exc: click.exceptions.UsageError) -> str:
    path = exc.ctx.command_path if exc.ctx is not None else "salespool"
    return f"{path} -h"

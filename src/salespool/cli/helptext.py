"""Help that reads like a man page: `--to NAME`, `--dry-run`, `CUSTOMER`.

Typer labels every value by its Python type (`<str>`, `<bool>`, `<list[str]>`) and a
required argument as `{customer}`. A sales manager reading `salespool assign -h` wants
what to type instead, so each parameter gets a metavar once, when the app is built.
"""

from __future__ import annotations

from typing import Any

# What a value of each option is, by parameter name; others are their name in capitals.
METAVARS = {
    "rep": "NAME",
    "to": "NAME",
    "coach": "NAME",
    "owner": "NAME",
    "name": "NAME",
    "at": "WHEN",
    "next": "WHEN",
    "until": "WHEN",
    "since": "WHEN",
    "as_of": "WHEN",
    "now": "WHEN",
    "limit": "N",
    "days": "N",
    "within": "N",
    "capacity": "N",
    "out": "FILE",
    "rejects": "FILE",
    "config": "FILE",
    "keep": "FILE",
    "db": "PATH|URL",
    "tz": "ZONE",
    "mapping": "HEADER=column",
    "map_kind": "LABEL=kind",
    "period": "YYYY-MM",
}


def tidy(command: Any) -> None:
    """Give every parameter below `command` (a group or a command) a metavar for its help."""
    for sub in getattr(command, "commands", {}).values():
        tidy(sub)
    for param in getattr(command, "params", []):
        if param.param_type_name == "argument":
            _argument(param)
        elif getattr(param, "is_flag", False):
            param.metavar = ""  # a switch takes no value: nothing to show after it
        elif param.metavar is None:
            param.metavar = METAVARS.get(param.name, param.name.upper())
            _list_choices(param)
    made = command.get_help_option

    def help_option(ctx: Any) -> Any:
        option = made(ctx)
        if option is not None:
            option.metavar = ""
        return option

    command.get_help_option = help_option


def _list_choices(param: Any) -> None:
    """An option taking one of a few words says which in its help (words never break)."""
    descriptor = getattr(param, "type_descriptor", None)
    if descriptor is None or not descriptor.is_choice:
        return
    words = [getattr(c, "value", c) for c in descriptor.choices or ()]
    if words and not all(str(w) in (param.help or "") for w in words):
        param.help = f"{param.help or ''} One of: {', '.join(map(str, words))}.".strip()


def _argument(param: Any) -> None:
    name = (param.metavar or param.name).upper()
    shown = name if param.nargs == 1 else f"{name}..."
    param.metavar = shown
    # Typer's own usage piece is `{name}` for a required argument: the Unix way is bare.
    param._usage_display_name = lambda: shown if param.required else f"[{shown}]"
    param.display_type_rich = lambda ctx: None

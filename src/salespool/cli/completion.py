"""What TAB offers beyond commands, options and choices: rep names, stages, kinds.

Wired once when the app runs, by parameter name as helptext.py gives metavars, so
every `--rep`, `--to`, `--coach` and `--owner` completes rep names, and a new one
does too without remembering to ask. Rep names are read from the store `--db` (or
SALESPOOL_DB, or the default) names by storage/lookup.py, loaded only when a rep
name is completed: completing anything else loads no database code at all.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from typer import _click as click

from salespool.core.vocabulary import FOLLOWUP_KINDS, KIND_ALIASES, kind_key

CompletionItem = click.shell_completion.CompletionItem
Completer = Callable[[Any, str], list[CompletionItem]]

# The stages and their Chinese labels, as models.Stage and STAGE_ALIASES have them
# (a test holds the two equal): loading models for a TAB press would take a second.
STAGES = {
    "prospecting": "寻找客户",
    "negotiating": "商务谈判",
    "won": "业绩合格",
    "maintaining": "维系客户",
    "deepening": "深耕客户",
    "lost": "流失",
}
# Options whose value is a rep's name, by parameter name.
REP_OPTIONS = ("rep", "to", "coach", "owner")
# Arguments that name an existing rep, by command path ("rep add NAME" names a new one).
REP_ARGUMENTS = {
    ("rep", "set"): "name",
    ("rep", "leave"): "name",
    ("rep", "rename"): "old",
    ("coach",): "name",
}


def wire(command: Any, path: tuple[str, ...] = ()) -> None:
    """Give the parameters below `command` (a group or a command) their completions."""
    for name, sub in getattr(command, "commands", {}).items():
        wire(sub, (*path, name))
    for param in getattr(command, "params", []):
        completer = _completer_for(path, param)
        if completer is not None:
            param.shell_complete = completer


def _completer_for(path: tuple[str, ...], param: Any) -> Completer | None:
    if param.param_type_name == "argument":
        return rep_names if REP_ARGUMENTS.get(path) == param.name else None
    if param.name in REP_OPTIONS:
        return rep_names
    if param.name == "stage":
        return stages
    if param.name == "kind":
        return kinds
    return None


def rep_names(ctx: Any, incomplete: str) -> list[CompletionItem]:
    """The store's rep names starting with `incomplete`; none if the store cannot be read."""
    try:
        from salespool.storage.lookup import rep_names as lookup

        names = lookup(_db(ctx))
    except Exception:  # a TAB press must never print a traceback into the prompt
        return []
    return [CompletionItem(name) for name in names if name.startswith(incomplete)]


def _db(ctx: Any) -> str | None:
    """The store the command line names: the global --db parsed so far, else SALESPOOL_DB."""
    db = ctx.find_root().params.get("db")
    return db or os.environ.get("SALESPOOL_DB") or None


def stages(ctx: Any, incomplete: str) -> list[CompletionItem]:
    """The stage names matching `incomplete` (a name's start or a Chinese label's)."""
    return [
        CompletionItem(name, help=label)
        for name, label in STAGES.items()
        if name.startswith(incomplete.lower()) or label.startswith(incomplete)
    ]


def kinds(ctx: Any, incomplete: str) -> list[CompletionItem]:
    """The follow-up kinds matching `incomplete` by name or by any label `--kind` takes
    (微 completes wechat); each with its Chinese label as help."""
    typed = kind_key(incomplete)
    labels: dict[str, list[str]] = {kind: [] for kind in FOLLOWUP_KINDS}
    for label, kind in KIND_ALIASES.items():
        labels[kind].append(label)
    return [
        CompletionItem(kind, help=_chinese(labels[kind]))
        for kind in FOLLOWUP_KINDS
        if any(label.startswith(typed) for label in labels[kind])
    ]


def _chinese(labels: list[str]) -> str | None:
    """The first label written in Chinese: what zsh and fish show beside the name."""
    return next((label for label in labels if not label.isascii()), None)

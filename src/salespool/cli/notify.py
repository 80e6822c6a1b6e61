"""`salespool notify`: the day's warnings before recycling, as JSON Lines or to a chat robot."""

from __future__ import annotations

import json
import sys
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Annotated
from urllib.parse import urlsplit

import typer

from salespool.cli.app import EXIT_ERROR, JsonOpt, app, state
from salespool.cli.recycling import DryRunOpt, QuietOpt
from salespool.errors import BadInput
from salespool.render import error, note, plain, plural, utf8

if TYPE_CHECKING:
    from salespool.core.notify import Message

KINDS = ("wecom", "dingtalk", "feishu", "slack")  # salespool.webhooks.KINDS, without loading it


@app.command()
def notify(
    ctx: typer.Context,
    webhook: Annotated[
        str | None,
        typer.Option(
            "--webhook",
            envvar="SALESPOOL_WEBHOOK",
            help="Post each message to this incoming webhook.",
            show_default=False,
        ),
    ] = None,
    webhook_kind: Annotated[
        str | None,
        typer.Option(
            "--webhook-kind",
            help="The robot behind --webhook: wecom, dingtalk, feishu or slack.",
            show_default=False,
        ),
    ] = None,
    timeout: Annotated[
        float, typer.Option("--timeout", min=0.1, help="Seconds to wait for each post.")
    ] = 10.0,
    retries: Annotated[
        int,
        typer.Option(
            "--retries", min=0, help="More tries after a failed post (5xx, 429, network)."
        ),
    ] = 3,
    backoff: Annotated[
        float,
        typer.Option("--backoff", min=0, help="Seconds before the first retry; doubled each time."),
    ] = 1.0,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Write the JSON Lines here (overwritten), not stdout."),
    ] = None,
    dry_run: DryRunOpt = False,
    quiet: QuietOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Warn before recycling (for cron, before `recycle`): who hears which customers today.

    The ladder is recycle.warn (days before recycling, farthest first, e.g.
    [7, 3, 1]) and recycle.escalate (who hears each step: the owner, then the
    owner's coach, then the managers). Each customer is warned at the nearest
    step it has reached, once per step and recycle date: a second run the same
    day sends nothing new. The messages go to stdout as JSON Lines (one per
    recipient and step), or to --out; with --webhook they are also posted, and
    a message that could not be posted is not remembered, so the next run sends
    it again (exit 1). --dry-run posts and remembers nothing.

    Example (cron): salespool notify --webhook "$HOOK" --webhook-kind wecom && salespool recycle
    """
    from salespool.core.notify import remember, warnings

    if webhook is not None:
        if webhook_kind is None:
            raise BadInput(f"say which robot it is: {', '.join(KINDS)}", option="webhook_kind")
        if urlsplit(webhook).scheme not in ("http", "https"):
            raise BadInput("must be an http:// or https:// URL", option="webhook")
    if webhook_kind is not None and webhook_kind not in KINDS:
        raise BadInput(f"'{webhook_kind}' is not one of {', '.join(KINDS)}", option="webhook_kind")
    st = state(ctx)
    rules, ladder = st.config.recycle_rules(), st.config.warning_rules()
    # Two notify runs at once would both send what neither has remembered yet.
    run_lock = nullcontext() if dry_run else st.store.exclusive("notify")
    with run_lock:
        with st.read() as session:
            result = warnings(
                session,
                now=st.clock.now,
                tz=st.clock.tz,
                rules=rules,
                ladder=ladder,
                dry_run=dry_run,
            )
        failures = (
            []
            if dry_run
            else _deliver(result.messages, webhook, webhook_kind, timeout, retries, backoff)
        )
        _write(result.messages, out, as_json)
        delivered = [m for m in result.messages if m.sent]
        if delivered:
            with st.write() as session:
                remember(session, now=st.clock.now, messages=delivered)
    if as_json:
        st.output(True).json(result)
    if failures:
        count = len(failures)
        error(
            f"--webhook: {count} of {plural(len(result.messages), 'message')} not posted "
            f"({failures[0]}); not remembered, the next run sends them again"
        )
        raise typer.Exit(EXIT_ERROR)
    if not quiet:
        note(_summary(result, delivered, dry_run, webhook is not None))


def _deliver(
    messages: list[Message],
    webhook: str | None,
    kind: str | None,
    timeout: float,
    retries: int,
    backoff: float,
) -> list[str]:
    """Mark each message sent: posted, or (without a webhook) written. Why the rest failed."""
    if webhook is None or kind is None:
        for message in messages:
            message.sent = True
        return []
    from salespool import webhooks

    failures = []
    for message in messages:
        try:
            webhooks.post(
                webhook,
                webhooks.body(kind, message.title, message.text),
                timeout=timeout,
                retries=retries,
                backoff=backoff,
            )
        except webhooks.PostFailed as exc:
            failures.append(str(exc))
        else:
            message.sent = True
    return failures


def _write(messages: list[Message], out: Path | None, as_json: bool) -> None:
    """The messages as JSON Lines: to --out, else to stdout unless --json prints the result."""
    lines = "".join(json.dumps(plain(m), ensure_ascii=False) + "\n" for m in messages)
    if out is not None:
        try:
            out.write_text(lines, encoding="utf-8")
        except OSError as exc:
            raise BadInput(f"cannot write {out}: {exc.strerror or exc}", option="out") from exc
    elif not as_json:
        utf8(sys.stdout).write(lines)


def _summary(result, delivered: list[Message], dry_run: bool, posted: bool) -> str:
    """One line for people on stderr (stdout is the data)."""
    if not result.warn:
        return "no warnings set (recycle.warn = []): nothing to send"
    before = (
        f" ({plural(result.already_sent, 'warning')} sent before)" if result.already_sent else ""
    )
    if not result.messages:
        return f"nothing new to send today{before}"
    customers = len({c.id for m in result.messages for c in m.customers})
    what = f"{plural(len(result.messages), 'message')} about {plural(customers, 'customer')}"
    if dry_run:
        return f"would send {what}; nothing posted or remembered{before}"
    return f"{'posted' if posted else 'wrote'} {what}{before}"

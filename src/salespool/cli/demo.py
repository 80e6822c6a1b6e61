"""`salespool demo`: the whole workflow on the bundled example team."""

from __future__ import annotations

import tempfile
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from salespool.cli.app import JsonOpt, app, state

if TYPE_CHECKING:
    from salespool.core.coach import RookieProgress
    from salespool.core.demo import DemoResult, NotifyRun
    from salespool.render import Output


@app.command()
def demo(
    ctx: typer.Context,
    keep: Annotated[
        Path | None,
        typer.Option(
            "--keep", help="Write the demo store to this file instead of a temporary one."
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Load the example team into a fresh store and live a month of the remedy, then report.

    The team sets up two pools (华北 for the rookies, and the default one); the
    book comes in on 2026-11-29 and idle customers are recycled into them; the pool
    goes to the rookies, who call, negotiate and (one of them) win under their
    coach; on 2026-12-31 the warnings before recycling go out (warn 7, 3 and 1 days
    before: owner, coach, manager), the recycling runs again and the report shows
    who is still hunting. It ends by writing the team's HTML report (`report --html`):
    beside the kept store (demo.db -> demo.html), else in a folder of its own under
    the temporary directory. It never touches your own store.
    Example: salespool demo --keep demo.db
    """
    from salespool.cli.report import render_report
    from salespool.core.demo import DEMO_TZ, demo_page, run_demo
    from salespool.pages import report_html, write_page
    from salespool.render import Format, Output, choose_format, plain
    from salespool.storage.store import open_store

    st = state(ctx)
    beside = page_beside(keep) if keep is not None else None
    for taken in (keep, beside):  # the store, then its page: both must be new
        if taken is not None and taken.exists():
            raise typer.BadParameter(f"{taken} exists; give a new file", param_hint="--keep")
    with tempfile.TemporaryDirectory(prefix="salespool-demo-") as tmp:
        store = open_store(str(keep or Path(tmp) / "demo.db"), create=True)
        try:
            with store.write() as session:
                result = run_demo(session, actor=st.actor)
                page = demo_page(session, result)
        finally:
            store.dispose()
    # A folder of the demo's own only once there is a page to put in it.
    page_path = beside or Path(tempfile.mkdtemp(prefix="salespool-demo-")) / "report.html"
    write_page(page_path, report_html(page), force=False)
    out = Output(choose_format(as_json), DEMO_TZ)
    if out.fmt is Format.json:
        out.json({**plain(result), "html": str(page_path)})
        return
    tell_story(out, result)
    out.say("")
    render_report(out, result.report)
    if keep is not None:
        out.say(closing_line(keep, result))
    out.say(f"The team's report as a page: {page_path} (open it in a browser, or print it)")


def page_beside(keep: Path) -> Path:
    """Where the demo writes its HTML report beside a kept store: demo.db -> demo.html
    (without --keep it goes into a new folder of the demo's own, which outlives the store)."""
    page = keep.with_suffix(".html")
    return page if page != keep else keep.with_name(keep.name + ".html")


def tell_story(out: Output, result: DemoResult) -> None:
    """What happened, in a few lines: the move, the month, the flagged, the rookies."""
    from salespool.core.demo import RECYCLE_DAYS
    from salespool.render import plural

    imp, month = result.imported, result.month
    out.say(
        f"Loaded {result.reps} reps and {imp.inserted} customers "
        f"({', '.join(imp.reps_created) or 'no new reps'} created from owners) on "
        f"{_day(result.moved_at, out)}, the day the team moved to salespool; replayed their "
        f"{result.follow_ups} follow-ups and {result.deals} deals from before."
    )
    out.say(
        f"Nightly recycling (--days {RECYCLE_DAYS}) took "
        f"{plural(result.recycled.count, 'idle customer')} "
        f"back into the pool; {plural(result.assigned.count, 'pool customer')} went to the rookies "
        f"({', '.join(sorted({a.owner for a in result.assigned.assigned})) or 'none'})."
    )
    out.say(pools_line(result))
    by_owner = ", ".join(f"{rep} {n}" for rep, n in month.recycled_by_owner.items())
    out.say(
        f"Then the month to {_day(result.as_of, out)}, replayed in time order: "
        f"{plural(month.claimed, 'claim')}, {plural(month.follow_ups, 'follow-up')} and "
        f"{plural(month.deals, 'deal')}."
    )
    for line in notify_lines(result.notified):
        out.say(line)
    out.say(
        f"Then this morning's recycling took {plural(month.recycled.count, 'more idle customer')}"
        + (f" ({by_owner})" if by_owner else "")
        + f": {_routed(month.recycled_by_pool)}."
    )
    out.say("")
    flagged = result.order_followers
    if flagged:
        rule = result.report.hunting_rule
        periods = f"the last {rule.periods} {rule.period}s" if rule else "the last months"
        shares = [f"{f.hunting_share:.0%}" if f.hunting_share is not None else "-" for f in flagged]
        out.say(
            f"{_and([f.rep for f in flagged])} "
            f"{'are' if len(flagged) > 1 else 'is'} flagged as order-followers (跟单): "
            f"{_and(shares)} of their follow-ups hunted over {periods}; the rule took "
            f"{_and([str(f.recycled_at_move) for f in flagged])} of their idle customers back "
            f"at the move, {_and([str(f.recycled_now) for f in flagged])} more this morning."
        )
    else:
        out.say("No rep is flagged as an order-follower (跟单).")
    targets = result.coaching.targets
    for rookie in result.coaching.rookies:
        out.say(_rookie_line(out, rookie, targets, month.recycled_by_owner.get(rookie.rep, 0)))


def pools_line(result: DemoResult) -> str:
    """The pools set up before the first recycling, and where that recycling routed its take."""
    named = [
        f"{p.name} (rule {p.rule}, members {', '.join(p.members) or 'everyone'})"
        for p in result.pools
        if p.rule is not None
    ]
    return (
        f"Pools, set up before that recycling: {_and([*named, 'the default pool'])}; "
        f"it routed {_routed(result.recycled_by_pool)}."
    )


def _routed(by_pool: dict[str, int]) -> str:
    """`6 to 华北 and 34 to default`: named pools first, the default pool last."""
    from salespool.core.routing import DEFAULT_POOL

    order = sorted(by_pool, key=lambda name: name == DEFAULT_POOL)
    return _and([f"{by_pool[name]} to {name}" for name in order])


# How a ladder step's recipients are named, by the role they hear it as.
HEARERS = {"owner": "the owners", "coach": "the coaches", "manager": "the managers"}


def notify_lines(run: NotifyRun) -> list[str]:
    """The morning's warnings in a few lines: one per ladder step, who heard how many."""
    from salespool.render import plural

    if not run.messages:
        return ["This morning's warnings before recycling: nothing to send."]
    warn = _and([str(d) for d in run.warn])
    lines = [
        f"This morning, before the recycling, the warnings went out (warn {warn} days "
        f"before; {' → '.join(run.escalate)}): {plural(len(run.messages), 'message')} about "
        f"{plural(run.customers, 'customer')}, remembered in the store (no webhook), so a "
        "second run today sends nothing:"
    ]
    for step in sorted({m.step for m in run.messages}):
        groups = []
        for role, hearers in HEARERS.items():
            heard = []
            for m in run.messages:
                if m.step != step or m.role != role:
                    continue
                owners = Counter(c.owner for c in m.customers)
                whose = ", ".join(f"{o} {n}" for o, n in sorted(owners.items()))
                heard.append(
                    f"{m.recipient} {len(m.customers)}" + (f" ({whose})" if role != "owner" else "")
                )
            if heard:
                # A step meant for the coach reaches the owner when there is none above them.
                audience = run.escalate[min(step, len(run.escalate)) - 1]
                instead = f" (no {audience} above them)" if role != audience else ""
                groups.append(f"to {hearers} {_and(heard)}{instead}")
        days = run.warn[step - 1]
        lines.append(
            f"  warning {step} of {len(run.warn)}, {plural(days, 'day')} before: "
            + "; ".join(groups)
        )
    return lines


def _rookie_line(out: Output, r: RookieProgress, targets, recycled_now: int) -> str:
    """One rookie's month in a sentence, by their coaching status."""
    from salespool.core.coach import BEHIND, QUALIFIED

    who = f"{r.rep} (coached by {r.coach}, hired {_day(r.hired_at, out)})"
    pool = f"{plural_of(r.taken_from_pool, 'customer')} from the pool, {r.converted} converted"
    if r.status == QUALIFIED and r.first_won is not None:
        return (
            f"{who} closed a first deal on {_day(r.first_won, out)}, day {r.first_won_days} "
            f"(due by day {targets.first_won_days}), and qualified: first follow-up on day "
            f"{r.first_follow_up_days}, first negotiation on day {r.first_negotiation_days}; "
            f"{pool}. Ready for  salespool rep set {r.rep} --role rep"
        )
    if r.status == BEHIND:
        due = {
            "first follow-up": (r.first_follow_up_days, targets.first_follow_up_days),
            "first negotiation": (r.first_negotiation_days, targets.first_negotiation_days),
            "first won deal": (r.first_won_days, targets.first_won_days),
        }
        missed = []
        for name in r.missed:
            day, target = due[name]
            reached = f"day {day}" if day is not None else f"none by day {r.days_since_hire}"
            missed.append(f"{name} ({reached}, due by day {target})")
        back = (
            f"; {recycled_now} of their {r.taken_from_pool} pool customers went back to the "
            "pool this morning, never called"
            if recycled_now
            else ""
        )
        return f"{who} is behind: missed {_and(missed)}{back}."
    return f"{who} is on track on day {r.days_since_hire}; {pool}."


def closing_line(keep: Path, result: DemoResult) -> str:
    """How to go on with the kept store: its zone is in it, its clock and rules are not."""
    from salespool.core.demo import DEMO_NOW, RECYCLE_DAYS

    return (
        f"The demo store is in {keep} (time zone {result.timezone}, kept in the store): try  "
        f"salespool --db {keep} --now {DEMO_NOW[:16]}{DEMO_NOW[19:]} coach  "
        f"(the demo's clock; its rules are the defaults with recycle --days {RECYCLE_DAYS})"
    )


def plural_of(count: int, noun: str) -> str:
    """`1 customer`, `2 customers` (render.plural, imported when needed)."""
    from salespool.render import plural

    return plural(count, noun)


def _and(words: list[str]) -> str:
    """`a`, `a and b`, `a, b and c`."""
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def _day(moment, out: Output) -> str:
    """A moment's date in the demo's zone."""
    return f"{moment.astimezone(out.zone):%Y-%m-%d}"

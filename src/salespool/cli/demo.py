"""`salespool demo`: the whole workflow on the bundled example team."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

import typer

from salespool.cli.app import JsonOpt, app, state
from salespool.cli.report import render_report
from salespool.render import Format, Output, choose_format, plural


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
    """Load the example team into a fresh store, work it, recycle, assign to rookies, report.

    It never touches your own store. Example: salespool demo --keep demo.db
    """
    from salespool.core.demo import DEMO_TZ, RECYCLE_DAYS, run_demo
    from salespool.storage.store import open_store

    st = state(ctx)
    if keep is not None and keep.exists():
        raise typer.BadParameter(f"{keep} exists; give a new file", param_hint="--keep")
    with tempfile.TemporaryDirectory(prefix="salespool-demo-") as tmp:
        store = open_store(str(keep or Path(tmp) / "demo.db"), create=True)
        try:
            with store.write() as session:
                result = run_demo(session, actor=st.actor)
        finally:
            store.dispose()
    out = Output(choose_format(as_json), DEMO_TZ)
    if out.fmt is Format.json:
        out.json(result)
        return
    imp = result.imported
    out.say(
        f"Loaded {result.reps} reps and {imp.inserted} customers "
        f"({', '.join(imp.reps_created) or 'no new reps'} created from owners); "
        f"replayed {result.follow_ups} follow-ups and {result.deals} deals."
    )
    out.say(
        f"Nightly recycling (--days {RECYCLE_DAYS}) took "
        f"{plural(result.recycled.count, 'idle customer')} "
        f"back into the pool; {plural(result.assigned.count, 'pool customer')} went to the rookies "
        f"({', '.join(sorted({a.owner for a in result.assigned.assigned})) or 'none'})."
    )
    out.say("")
    render_report(out, result.report)
    if keep is not None:
        out.say(f"The demo store is in {keep}: try  salespool --db {keep} pool")

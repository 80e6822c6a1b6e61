"""Start-up: what a user waits for before salespool does anything (issue 11).

Each row runs salespool and its reference alternately, `--runs` times each (10 by
default), and compares the medians:

- `salespool --version` and `salespool --help` against a minimal Typer app with one
  command (the Typer docs' hello world, `python -c`), which pays the interpreter,
  Typer and rich and nothing else;
- `salespool report --rep R --json` on a store (the bench's 1M-customer one, by
  default) against the same minimal app running the hand-written SQL of
  reference.py for the same numbers.

    python benchmarks/startup.py                       # --store from a full bench run
    python benchmarks/startup.py --store /tmp/bench-20k/salespool.db --rep rep001

Alternating the runs keeps a busy machine from favouring either side; the script
needs only the standard library, and the Python that has salespool installed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from dataset import BENCH_NOW, BENCH_TZ

HERE = Path(__file__).resolve().parent
DEFAULT_STORE = Path(os.environ.get("TMPDIR", "/tmp")) / "salespool-bench-1000000-10/salespool.db"

# The minimal Typer app the targets are measured against: one command, nothing loaded.
HELLO = """
import typer

app = typer.Typer()


@app.command()
def hello(name: str = "world") -> None:
    print(f"Hello {name}")


app()
"""

# The same minimal app, whose one command runs the report's hand-written SQL.
HELLO_REPORT = f"""
import json, sys
sys.path.insert(0, {str(HERE)!r})
import typer

app = typer.Typer()


@app.command()
def report(db: str, rep: str) -> None:
    from reference import reference_report

    print(json.dumps(reference_report(db, rep)))


app()
"""

TARGETS = {"--version": 1.5, "--help": 1.5, "report": 2.0}


@dataclass
class Row:
    what: str
    reference_what: str
    salespool: list[float]
    reference: list[float]
    target: float

    @property
    def ratio(self) -> float:
        return statistics.median(self.salespool) / statistics.median(self.reference)

    def line(self) -> str:
        ours, theirs = statistics.median(self.salespool), statistics.median(self.reference)
        verdict = "met" if self.ratio <= self.target else "missed"
        return (
            f"| `{self.what}` | {ours:.3f} s | {theirs:.3f} s {self.reference_what} "
            f"| {self.ratio:.2f}x | ≤{self.target:g}x {verdict} |"
        )


# An installed package has its bytecode compiled; an editable checkout gets it on the
# warm-up run, unless the environment forbids writing it (then every run recompiles).
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def wall(argv: list[str], cwd: Path) -> float:
    """One run's wall time; a failing run stops the benchmark with its stderr."""
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, env=ENV)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed: {done.stderr.strip()[-500:]}")
    return seconds


def compare(what: str, ours: list[str], theirs: list[str], reference_what: str, runs: int) -> Row:
    """Run both sides alternately, `runs` times each, after one untimed warm-up each."""
    with tempfile.TemporaryDirectory(prefix="salespool-startup-") as tmp:
        cwd = Path(tmp)  # no salespool.toml here: the defaults
        wall(ours, cwd), wall(theirs, cwd)
        ours_s, theirs_s = [], []
        for _ in range(runs):
            ours_s.append(wall(ours, cwd))
            theirs_s.append(wall(theirs, cwd))
    row = Row(what, reference_what, ours_s, theirs_s, TARGETS[what.split()[0]])
    print(row.line(), flush=True)
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10, help="runs of each side (default 10)")
    parser.add_argument(
        "--store", type=Path, default=DEFAULT_STORE, help="store for the report row"
    )
    parser.add_argument("--rep", default="rep001", help="the rep of the report row")
    args = parser.parse_args(argv)
    salespool = [sys.executable, "-m", "salespool"]
    hello = [sys.executable, "-c", HELLO]
    print("| command | salespool (median) | reference (median) | ratio | target |")
    print("|---|---:|---:|---:|---|")
    rows = [
        compare("--version", [*salespool, "--version"], hello, "hello-world Typer app", args.runs),
        compare("--help", [*salespool, "--help"], [*hello, "--help"], "its --help", args.runs),
    ]
    if args.store.exists():
        store = str(args.store.resolve())
        ours = [*salespool, "--db", store, "--now", BENCH_NOW, "--tz", BENCH_TZ]
        rows.append(
            compare(
                f"report --rep {args.rep} --json",
                [*ours, "report", "--rep", args.rep, "--json"],
                [sys.executable, "-c", HELLO_REPORT, store, args.rep],
                "the app running the hand SQL",
                args.runs,
            )
        )
    else:
        print(f"(no store at {args.store}: run benchmarks/bench.py first for the report row)")
    return 0 if all(row.ratio <= row.target for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())

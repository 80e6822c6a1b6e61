"""Benchmark salespool at scale against the plain-SQLite reference (issue 5, "Benchmarks").

    python benchmarks/bench.py [--customers N] [--followups-per-customer K] [--reps 200]
                               [--workdir DIR] [--only STEP,...]

1. Generates a deterministic data set (seeded) in the work directory, streamed to
   disk: customers.csv (the import columns; mixed Chinese/English names, `--reps`
   reps as owners, ~10% in the pool, dates over the past year so that about a
   third of the owned customers are idle 30 days or more at the bench time) and
   followups.csv (customer,rep,kind,note,at; K per customer: by its owner, or for
   a pool customer by a former rep, the newest one at the customer's last
   contact) and deals.csv (deal_id,customer,amount,channel,at,rep: one per
   customer on average, never after its last contact). A data set generated with
   the same parameters is reused.
2. Runs each step as the real CLI in a child process
   (`python -m salespool --db DB --now 2026-11-29T09:00:00 --tz Asia/Shanghai ...`)
   and takes the child's wall time and peak RSS (os.wait4, one child at a time).
3. Beside each step, the reference: the sqlite3 command-line `.import --csv --skip 1`
   of the same CSV into a plain table of a fresh database file, and hand-written
   SQL run through Python's sqlite3 (in its own child process) on a copy of the
   same salespool database for recycle and report.
4. Prints the table with the targets of issue 5 marked met/missed, and writes it to
   benchmarks/RESULTS.md with the machine and the exact command.

Standard library only (the salespool CLI runs in the child processes). This file is the
runner (options, steps, the results table); dataset.py writes the data set, measure.py
times the children, reference.py holds the plain-SQLite reference.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from dataset import (
    BENCH_NOW,
    BENCH_TZ,
    CUSTOMER_COLUMNS,
    DEAL_COLUMNS,
    FOLLOWUP_COLUMNS,
    RECYCLE_DAYS,
    DataSet,
    generate_deals,
    rep_names,
)
from measure import Measure, log, measure, rss_floor
from pgref import run_admin, run_child, with_database
from reference import SQLITE_IMPORT_SCRIPT, run_reference_child

HERE = Path(__file__).resolve().parent
RESULTS_FILE = HERE / "RESULTS.md"
PG_RESULTS_FILE = HERE / "RESULTS-postgresql.md"

ASSIGN_LIMIT = 10_000
ASSIGN_REPS = 10

# Targets from issue 5.
IMPORT_MAX_RATIO = 2.0
# Issue 11: on PostgreSQL the imports' reference is COPY into the same tables.
PG_IMPORT_MAX_RATIO = 1.5
QUERY_MAX_RATIO = 1.5
QUERY_MAX_SECONDS = 2.0
MAX_RSS_MB = 300.0

STEPS = (
    "startup",
    "import",
    "import-followups",
    "import-deals",
    "recycle",
    "assign",
    "report",
    "report-rep",
)
IMPORT_STEPS = {"import", "import-followups", "import-deals"}
STEP_HELP = {
    "startup": "python -m salespool --version: interpreter and CLI start-up, for scale",
    "import": "import customers.csv",
    "import-followups": "import-followups followups.csv",
    "import-deals": "import-deals deals.csv",
    "recycle": f"recycle --days {RECYCLE_DAYS} --json",
    "assign": f"assign --to (x{ASSIGN_REPS}) --limit {ASSIGN_LIMIT} --json",
    "report": "report --json",
    "report-rep": "report --rep REP --json",
}

# The team's rules for the run. The default capacity of a `rep` (200 customers)
# is far below a generated book (~4,500 customers a rep), so assign would refuse
# every rep as full; everything else keeps its default (cooldown, deal exemption).
CONFIG_TOML = """\
# Written by benchmarks/bench.py: the defaults, except a capacity no generated book reaches.
[claims.capacity]
rep = 10000000
"""


# --- the children and their stores ----------------------------------------------------


def salespool_argv(db: Path | str, config: Path, *args: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "salespool",
        "--db",
        str(db),
        "--now",
        BENCH_NOW,
        "--tz",
        BENCH_TZ,
        "--config",
        str(config),
        *args,
    ]


def copy_db(source: Path, dest: Path) -> None:
    """A file copy of a SQLite store, after folding its WAL into the main file."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{dest}{suffix}").unlink(missing_ok=True)
    if Path(f"{source}-wal").exists():
        con = sqlite3.connect(source)
        try:
            con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            con.close()
    shutil.copyfile(source, dest)
    # The copy leaves ~2 GB of dirty pages that the kernel writes back over the next
    # seconds: a step timed right after would pay for that I/O, the one after not.
    os.sync()


def remove_db(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", ".recycle.lock"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def summarize(path: str) -> dict:
    """A JSON document's top-level scalars, its lists as lengths, and report sums."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except ValueError:
        return {}
    if not isinstance(doc, dict):
        return {"length": len(doc)} if isinstance(doc, list) else {}
    out = {k: (len(v) if isinstance(v, list) else v) for k, v in doc.items()}
    if isinstance(doc.get("reps"), list):
        for key in ("customers", "follow_ups"):
            out[f"reps_{key}"] = sum(r.get(key, 0) for r in doc["reps"] if isinstance(r, dict))
    return out


# --- the steps ------------------------------------------------------------------------


@dataclass
class Row:
    step: str
    what: str
    salespool: Measure | None = None
    reference: Measure | None = None
    reference_what: str = ""
    ratio_target: float | None = None
    seconds_target: float | None = None
    note: str = ""
    skipped: str = ""  # why the step did not run ("not available", ...)

    @property
    def ratio(self) -> float | None:
        if self.salespool and self.reference and self.salespool.ok and self.reference.ok:
            return self.salespool.seconds / self.reference.seconds
        return None

    def time_verdict(self) -> str:
        if self.skipped or self.salespool is None:
            return "—"
        if not self.salespool.ok:
            return "FAILED"
        verdicts = []
        if self.ratio_target is not None:
            ratio = self.ratio
            if ratio is None:
                verdicts.append("no reference")
            else:
                mark = "met" if ratio <= self.ratio_target else "missed"
                verdicts.append(f"≤{self.ratio_target:g}x {mark}")
        if self.seconds_target is not None:
            mark = "met" if self.salespool.seconds < self.seconds_target else "missed"
            verdicts.append(f"<{self.seconds_target:g}s {mark}")
        return ", ".join(verdicts) or "—"

    def rss_verdict(self) -> str:
        if self.skipped or self.salespool is None or self.step == "startup":
            return "—"
        if not self.salespool.ok:
            return "FAILED"
        return "met" if self.salespool.rss_mb < MAX_RSS_MB else "missed"

    def missed(self) -> list[str]:
        """The targets missed, e.g. ["≤1.5x", "<2s", "RSS"], or ["FAILED"]."""
        if "FAILED" in (self.time_verdict(), self.rss_verdict()):
            return ["FAILED"]
        found = [
            v.removesuffix(" missed") for v in self.time_verdict().split(", ") if "missed" in v
        ]
        if self.rss_verdict() == "missed":
            found.append(f"RSS {self.salespool.rss_mb:.0f} MB" if self.salespool else "RSS")
        return found


@dataclass
class Bench:
    args: argparse.Namespace
    workdir: Path
    data: DataSet
    sqlite_cli: str | None
    # PostgreSQL (--db URL): the server's maintenance database URL; None for SQLite.
    server: str | None = None
    db: Path | str = field(init=False)
    config: Path = field(init=False)
    outdir: Path = field(init=False)
    rows: list[Row] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.db = self.workdir / "salespool.db"
        if self.server is not None:
            # The bench's database, its copy after the imports (what --only starts
            # from again) and the reference's scratch copy, on the same server.
            self.pg_name = self.args.pg_name
            self.db = with_database(self.server, self.pg_name)
        self.config = self.workdir / "salespool.toml"
        self.outdir = self.workdir / "out"
        self.outdir.mkdir(exist_ok=True)
        self.config.write_text(CONFIG_TOML, encoding="utf-8")

    def measure(
        self, label: str, argv: list[str], repeat: int = 1, stdin: Path | None = None
    ) -> Measure:
        """Run a child `repeat` times (read-only steps only) and keep the best wall time."""
        return measure(argv, self.outdir, label, repeat, stdin=stdin, cwd=self.workdir)

    def salespool(self, label: str, *args: str, repeat: int = 1) -> Measure:
        log(f"  salespool {' '.join(args)}")
        return self.measure(label, salespool_argv(self.db, self.config, *args), repeat)

    def reference_sql(
        self,
        label: str,
        kind: str,
        db: Path | str,
        rep: str | None = None,
        repeat: int = 1,
        csv_path: Path | None = None,
    ) -> Measure:
        argv = [sys.executable, str(Path(__file__).resolve()), "--ref-sql", kind]
        argv += ["--ref-db", str(db)] + (["--ref-rep", rep] if rep is not None else [])
        argv += ["--ref-csv", str(csv_path)] if csv_path is not None else []
        name = db.name if isinstance(db, Path) else db.rsplit("/", 1)[-1]
        log(f"  reference: hand SQL ({kind}) on {name}")
        return self.measure(label, argv, repeat)

    def sqlite_import(self, label: str, csv_path: Path, columns: tuple[str, ...]) -> Measure | None:
        if self.sqlite_cli is None:
            return None
        db = self.workdir / f"{label}.db"
        remove_db(db)
        script = self.outdir / f"{label}.sql"
        script.write_text(
            SQLITE_IMPORT_SCRIPT.format(
                table="raw",
                columns=", ".join(f"{c} TEXT" for c in columns),
                csv=str(csv_path).replace("'", "''"),
            ),
            encoding="utf-8",
        )
        log(f"  reference: sqlite3 .import {csv_path.name}")
        m = self.measure(label, [self.sqlite_cli, str(db)], stdin=script)
        remove_db(db)
        return m

    def json_out(self, m: Measure) -> dict | None:
        """The child's JSON document, summarized in another child (see `summarize`).

        Parsing a big document (recycle prints ~300,000 customers) here would raise
        this process's peak RSS, and Linux starts every later child's ru_maxrss at
        its parent's peak: the bench process must stay small.
        """
        if not m.ok:
            return None
        done = subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), "--summarize", str(m.stdout)],
            capture_output=True,
            text=True,
        )
        try:
            return json.loads(done.stdout) if done.returncode == 0 else None
        except ValueError:
            return None

    # --- PostgreSQL databases ----------------------------------------------------

    def pg_admin(self, action: str, name: str, template: str | None = None) -> dict:
        """A database chore on the server, in a child (drop, create, copy, exists, version)."""
        assert self.server is not None
        argv = [sys.executable, str(Path(__file__).resolve()), "--pg-admin", action]
        argv += ["--pg-server", self.server, "--pg-name", name]
        argv += ["--pg-template", template] if template else []
        done = subprocess.run(argv, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"PostgreSQL: {action} {name} failed: {done.stderr.strip()}")
        if action == "copy":
            os.sync()  # as copy_db: the copy's dirty pages are not the next step's to write
        return json.loads(done.stdout)

    def scratch(self) -> Path | str:
        """A copy of the bench's store as it is now, for a reference that changes it."""
        if self.server is None:
            ref_db = self.workdir / "ref.db"
            copy_db(Path(self.db), ref_db)
            return ref_db
        self.pg_admin("copy", f"{self.pg_name}_ref", self.pg_name)
        return with_database(self.server, f"{self.pg_name}_ref")

    def drop_scratch(self, ref_db: Path | str) -> None:
        if self.server is None:
            remove_db(Path(ref_db))
        else:
            self.pg_admin("drop", f"{self.pg_name}_ref")

    def pg_import_reference(self, row: Row, kind: str, csv_path: Path) -> None:
        """A PostgreSQL import's reference: COPY of the same CSV into a copy of the store."""
        if kind == "import-deals":
            row.reference_what = "COPY into a plain text table"
        else:
            row.reference_what = "COPY + INSERT … SELECT into the same tables"
            row.ratio_target = PG_IMPORT_MAX_RATIO
        ref_db = self._ref_db
        row.reference = self.reference_sql(f"ref-{kind}", kind, ref_db, csv_path=csv_path)
        self.drop_scratch(ref_db)

    # --- each step ---------------------------------------------------------------

    def step_startup(self) -> Row:
        row = Row("startup", STEP_HELP["startup"])
        row.salespool = self.salespool("startup", "--version", repeat=self.args.repeat)
        row.note = "not a target: paid by every command below"
        return row

    def step_import(self) -> Row:
        if self.server is None:
            remove_db(Path(self.db))
        else:
            self.pg_admin("create", self.pg_name)  # dropped first if it exists
        # Only `init` creates a store (untimed: a new team runs it once).
        subprocess.run(
            salespool_argv(self.db, self.config, "init"), check=True, capture_output=True
        )
        row = Row("import", "import customers.csv", ratio_target=IMPORT_MAX_RATIO)
        row.reference_what = "sqlite3 .import"
        if self.server is not None:
            self._ref_db = self.scratch()  # the same empty store, for the reference
        row.salespool = self.salespool(
            "import", "import", str(self.data.customers), "--json", "--quiet"
        )
        out = self.json_out(row.salespool)
        if isinstance(out, dict):
            row.note = f"inserted {out.get('inserted')}, rejected {out.get('rejected')}"
        if self.server is not None:
            self.pg_import_reference(row, "import", self.data.customers)
            return row
        row.reference = self.sqlite_import("ref-import", self.data.customers, CUSTOMER_COLUMNS)
        if row.reference is None:
            row.reference_what = "sqlite3 CLI not found"
        return row

    def step_import_followups(self) -> Row:
        row = Row(
            "import-followups", "import-followups followups.csv", ratio_target=IMPORT_MAX_RATIO
        )
        row.reference_what = "sqlite3 .import"
        probe = subprocess.run(
            [sys.executable, "-m", "salespool", "import-followups", "--help"],
            capture_output=True,
            cwd=self.workdir,
        )
        if probe.returncode != 0:
            row.skipped = "not available"
            log("  import-followups: not available (salespool import-followups --help failed)")
            return row
        if self.server is not None:
            self._ref_db = self.scratch()
        row.salespool = self.salespool(
            "import-followups", "import-followups", str(self.data.followups), "--json", "--quiet"
        )
        out = self.json_out(row.salespool)
        if isinstance(out, dict):
            row.note = (
                f"inserted {out.get('inserted')}, last contact moved {out.get('contact_moved')}"
            )
        if self.server is not None:
            self.pg_import_reference(row, "import-followups", self.data.followups)
            return row
        row.reference = self.sqlite_import(
            "ref-import-followups", self.data.followups, FOLLOWUP_COLUMNS
        )
        if row.reference is None:
            row.reference_what = "sqlite3 CLI not found"
        return row

    def step_import_deals(self) -> Row:
        row = Row("import-deals", STEP_HELP["import-deals"], ratio_target=IMPORT_MAX_RATIO)
        row.reference_what = "sqlite3 .import"
        assert self.data.deals is not None
        if self.server is not None:
            self._ref_db = self.scratch()
        row.salespool = self.salespool(
            "import-deals", "import-deals", str(self.data.deals), "--json", "--quiet"
        )
        out = self.json_out(row.salespool)
        if isinstance(out, dict):
            row.note = (
                f"inserted {out.get('inserted')}, rejected {out.get('rejected')}, "
                f"last contact moved {out.get('contact_moved')}"
            )
        if self.server is not None:
            self.pg_import_reference(row, "import-deals", self.data.deals)
            return row
        row.reference = self.sqlite_import("ref-import-deals", self.data.deals, DEAL_COLUMNS)
        if row.reference is None:
            row.reference_what = "sqlite3 CLI not found"
        return row

    def step_recycle(self) -> Row:
        row = Row(
            "recycle",
            STEP_HELP["recycle"],
            ratio_target=QUERY_MAX_RATIO,
            seconds_target=QUERY_MAX_SECONDS,
            reference_what="hand SQL (INSERT event … SELECT; UPDATE)",
        )
        ref_db = self.scratch()
        row.salespool = self.salespool("recycle", "recycle", "--days", str(RECYCLE_DAYS), "--json")
        row.reference = self.reference_sql("ref-recycle", "recycle", ref_db)
        out, ref = self.json_out(row.salespool), self.json_out(row.reference)
        got = out.get("count") if isinstance(out, dict) else None
        want = ref.get("count") if isinstance(ref, dict) else None
        row.note = f"recycled {got}" + ("" if got == want else f" (reference: {want}!)")
        self.drop_scratch(ref_db)
        return row

    def step_assign(self) -> Row:
        row = Row("assign", STEP_HELP["assign"], reference_what="none (issue sets RSS only)")
        to: list[str] = []
        for name in rep_names(self.args.reps)[:ASSIGN_REPS]:
            to += ["--to", name]
        row.salespool = self.salespool(
            "assign", "assign", *to, "--limit", str(ASSIGN_LIMIT), "--json"
        )
        out = self.json_out(row.salespool)
        if isinstance(out, dict):
            row.note = f"assigned {out.get('count')}, passed over {out.get('skipped', 0)}"
        return row

    def _report(self, step: str, rep: str | None) -> Row:
        row = Row(
            step,
            STEP_HELP[step].replace("REP", rep or ""),
            ratio_target=QUERY_MAX_RATIO,
            seconds_target=QUERY_MAX_SECONDS,
            reference_what="hand SQL (GROUP BY counts)",
        )
        args = ["report", "--json"] + (["--rep", rep] if rep else [])
        repeat = self.args.repeat
        row.salespool = self.salespool(step, *args, repeat=repeat)
        # Reading changes nothing, so the reference reads the very same file.
        row.reference = self.reference_sql(f"ref-{step}", "report", self.db, rep, repeat=repeat)
        out, ref = self.json_out(row.salespool), self.json_out(row.reference)
        if isinstance(out, dict) and isinstance(ref, dict):
            got, customers = out.get("reps_follow_ups"), out.get("reps_customers")
            same = got == ref["follow_ups"] and customers == ref["customers"]
            row.note = f"{out.get('reps')} reps, {customers} customers, {got} follow-ups in window"
            if not same:
                row.note += f" (reference: {ref['customers']}, {ref['follow_ups']}!)"
        return row

    def step_report(self) -> Row:
        return self._report("report", None)

    def step_report_rep(self) -> Row:
        return self._report("report-rep", rep_names(self.args.reps)[-1])

    def run(self, only: list[str]) -> None:
        imports = IMPORT_STEPS & set(only)
        if not imports and set(only) - {"startup"}:
            self.restore()
        steps: dict[str, Callable[[], Row]] = {
            "startup": self.step_startup,
            "import": self.step_import,
            "import-followups": self.step_import_followups,
            "import-deals": self.step_import_deals,
            "recycle": self.step_recycle,
            "assign": self.step_assign,
            "report": self.step_report,
            "report-rep": self.step_report_rep,
        }
        for step in STEPS:
            if step not in only:
                continue
            if step == "recycle" and imports:
                self.save()
            log(f"[{step}]")
            self.rows.append(steps[step]())

    def save(self) -> None:
        """Keep the store after the imports: later runs with --only recycle,... start from it."""
        if self.server is None:
            snapshot = self.workdir / "imported.db"
            log(f"saving {snapshot.name} (the store after the imports)")
            copy_db(Path(self.db), snapshot)
        else:
            log(f"saving database {self.pg_name}_imported (the store after the imports)")
            self.pg_admin("copy", f"{self.pg_name}_imported", self.pg_name)

    def restore(self) -> None:
        """Start again from the store saved after the imports (or the store as it is)."""
        if self.server is None:
            snapshot, db = self.workdir / "imported.db", Path(self.db)
            if snapshot.exists():
                log(f"restoring {db.name} from {snapshot.name} (imports not selected)")
                copy_db(snapshot, db)
            elif not db.exists():
                raise SystemExit(f"{db} does not exist: run the import steps first")
            return
        snapshot = f"{self.pg_name}_imported"
        if self.pg_admin("exists", snapshot)["exists"]:
            log(f"restoring database {self.pg_name} from {snapshot} (imports not selected)")
            self.pg_admin("copy", self.pg_name, snapshot)
        elif not self.pg_admin("exists", self.pg_name)["exists"]:
            raise SystemExit(f"database {self.pg_name} does not exist: run the import steps first")

    def drop_all(self) -> None:
        """--drop: remove the bench's databases from the server, the saved one included."""
        for name in (f"{self.pg_name}_ref", f"{self.pg_name}_imported", self.pg_name):
            self.pg_admin("drop", name)


# --- output ---------------------------------------------------------------------------


def _fmt_s(m: Measure | None) -> str:
    if m is None:
        return "—"
    return f"{m.seconds:.2f}" if m.ok else "failed"


def table_rows(rows: list[Row]) -> list[list[str]]:
    out = []
    for r in rows:
        if r.skipped:
            out.append([r.step, r.skipped, "—", "—", "—", "—", "—", "—", r.what])
            continue
        ratio = r.ratio
        cpu = f"{r.salespool.cpu:.2f}" if r.salespool else "—"
        if r.reference is not None:
            cpu += f" / {r.reference.cpu:.2f}"
        out.append(
            [
                r.step,
                _fmt_s(r.salespool),
                _fmt_s(r.reference),
                f"{ratio:.2f}x" if ratio is not None else "—",
                cpu,
                f"{r.salespool.rss_mb:.0f}" if r.salespool else "—",
                r.time_verdict(),
                r.rss_verdict(),
                r.note,
            ]
        )
    return out


HEADERS = [
    "step",
    "salespool s",
    "reference s",
    "ratio",
    "CPU s (sp / ref)",
    "peak RSS MB",
    "time target",
    f"RSS < {MAX_RSS_MB:g} MB",
    "notes",
]


def text_table(rows: list[Row]) -> str:
    body = table_rows(rows)
    widths = [
        max(len(h), *(len(b[i]) for b in body)) if body else len(h) for i, h in enumerate(HEADERS)
    ]
    lines = ["  ".join(h.ljust(w) for h, w in zip(HEADERS, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(b, widths, strict=True)) for b in body]
    return "\n".join(lines)


def markdown_table(rows: list[Row]) -> str:
    lines = ["| " + " | ".join(HEADERS) + " |"]
    align = ["---", "---:", "---:", "---:", "---:", "---:", "---", "---", "---"]
    lines.append("| " + " | ".join(align) + " |")
    for b in table_rows(rows):
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in b) + " |")
    return "\n".join(lines)


def checkout() -> str:
    """The commit the salespool source is at, and whether src/ has uncommitted changes."""
    repo = HERE.parent
    try:
        head = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(repo), "status", "--porcelain", "--", "src"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split("\n")
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    changed = [line[3:] for line in dirty if line.strip()]
    return head + (f" + uncommitted changes in {', '.join(changed)}" if changed else "")


def machine(sqlite_cli: str | None, floor: float) -> dict[str, str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        cpu = platform.processor() or "unknown"
    ram = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    except OSError:
        pass
    cli = "not found"
    if sqlite_cli:
        done = subprocess.run([sqlite_cli, "--version"], capture_output=True, text=True)
        cli = " ".join(done.stdout.split()[:2])
    version = subprocess.run(
        [sys.executable, "-m", "salespool", "--version"], capture_output=True, text=True
    ).stdout.strip()
    return {
        "salespool checkout": checkout(),
        "CPU": cpu,
        "cores": str(os.cpu_count()),
        "RAM": ram,
        "OS": platform.platform(),
        "Python": platform.python_version(),
        "SQLite (Python's sqlite3)": sqlite3.sqlite_version,
        "sqlite3 CLI": cli,
        "salespool": version or "unknown",
        "load average at the end (1/5/15 min)": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "RSS floor (peak RSS of `true` run by the bench)": f"{floor:.0f} MB",
    }


def pg_machine(bench: Bench) -> dict[str, str]:
    """The server's version and the settings that matter for the numbers."""
    got = bench.pg_admin("version", "postgres")
    return {
        "PostgreSQL server": f"{got['version']} (same machine, loopback), "
        f"shared_buffers {got['shared_buffers']}, work_mem {got['work_mem']}, "
        f"fsync {got['fsync']}, synchronous_commit {got['synchronous_commit']}",
        "databases": f"{bench.pg_name} (the store), {bench.pg_name}_imported (after the "
        f"imports, for --only), {bench.pg_name}_ref (the reference's copy, dropped after use)",
    }


def write_results(
    bench: Bench, command: str, info: dict[str, str], started: datetime, total: float
) -> None:
    data = bench.data
    pg = bench.server is not None
    missed = [f"{r.step}: {', '.join(r.missed())}" for r in bench.rows if r.missed()]
    if pg:
        title = "# Benchmark results: PostgreSQL"
        targets = (
            "Targets: import and import-followups ≤ 1.5x `COPY` of the same CSV into the same "
            "tables (issue 11), import-deals ≤ 2x `COPY` into a plain table; recycle and "
            "report ≤ 1.5x the hand-written SQL on the same schema and < 2 s; peak RSS < "
            f"{MAX_RSS_MB:g} MB for every command. Times are wall seconds of the child "
            "process, start-up included; CPU and peak RSS are the child's own (wait4): the "
            "server's work is in the wall time only."
        )
        other = "SQLite's: [RESULTS.md](RESULTS.md)."
    else:
        title = "# Benchmark results"
        targets = (
            "Targets (issue 5): import ≤ 2x sqlite3 `.import`; recycle and report ≤ 1.5x the "
            f"hand-written SQL and < 2 s; peak RSS < {MAX_RSS_MB:g} MB for every command. "
            "Times are wall seconds of the child process, start-up included; peak RSS is the "
            "child's own (wait4)."
        )
        other = "On PostgreSQL (`--db URL`): [RESULTS-postgresql.md](RESULTS-postgresql.md)."
    lines = [
        title,
        "",
        f"Run {started:%Y-%m-%d %H:%M} UTC in {total / 60:.1f} min, by `benchmarks/bench.py` "
        "(see [README.md](README.md) for what each step measures). " + other,
        "",
        "```",
        command,
        "```",
        "",
        f"Data: {data.customer_rows:,} customers ({data.owned:,} owned, {data.pool:,} in the "
        f"pool, {data.idle:,} owned and idle ≥ {RECYCLE_DAYS} days), {data.followup_rows:,} "
        f"follow-ups, {data.deal_rows:,} deals, {bench.args.reps} reps, seed {bench.args.seed}; "
        f"bench time {BENCH_NOW} {BENCH_TZ}.",
        "",
        markdown_table(bench.rows),
        "",
        targets,
        "",
        "Missed: " + ("; ".join(missed) if missed else "none") + ".",
        "",
        "## Machine",
        "",
        *(f"- {k}: {v}" for k, v in info.items()),
        "",
    ]
    results_file(bench).write_text("\n".join(lines), encoding="utf-8")


def results_file(bench: Bench) -> Path:
    return RESULTS_FILE if bench.server is None else PG_RESULTS_FILE


# --- main -----------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark salespool against sqlite3 .import and hand-written SQL.",
    )
    parser.add_argument("--customers", type=int, default=1_000_000, metavar="N")
    parser.add_argument("--followups-per-customer", type=int, default=10, metavar="K")
    parser.add_argument("--reps", type=int, default=200, help="reps owning the customers")
    parser.add_argument("--seed", type=int, default=20261129)
    parser.add_argument(
        "--workdir", type=Path, default=None, help="default: a bench-N-K directory in the temp dir"
    )
    parser.add_argument(
        "--only",
        default=",".join(STEPS),
        metavar="STEP,...",
        help="steps to run, of: " + ", ".join(STEPS),
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        metavar="R",
        help="runs of each read-only step (startup, report) and its reference; the fastest "
        "counts (default 3)",
    )
    parser.add_argument(
        "--db",
        metavar="URL",
        help="run on a PostgreSQL server instead of SQLite: the URL of its maintenance "
        "database, e.g. postgresql+psycopg://postgres@127.0.0.1:5432/postgres (what "
        ".ci/postgres start prints); the bench creates its own databases there",
    )
    parser.add_argument(
        "--pg-name",
        metavar="NAME",
        help="with --db: the bench's database name (default salespool_bench_N_K); "
        "NAME_imported and NAME_ref are created beside it",
    )
    parser.add_argument(
        "--drop",
        action="store_true",
        help="with --db: drop the bench's databases at the end, the one kept for --only too",
    )
    parser.add_argument("--regenerate", action="store_true", help="write the data set anew")
    parser.add_argument("--no-results", action="store_true", help="do not write RESULTS.md")
    # The child side of a reference run (internal).
    parser.add_argument(
        "--ref-sql",
        choices=("recycle", "report", "import", "import-followups", "import-deals"),
        help=argparse.SUPPRESS,
    )
    parser.add_argument("--ref-db", help=argparse.SUPPRESS)
    parser.add_argument("--ref-rep", help=argparse.SUPPRESS)
    parser.add_argument("--ref-csv", help=argparse.SUPPRESS)
    parser.add_argument("--summarize", help=argparse.SUPPRESS)
    parser.add_argument(
        "--pg-admin",
        choices=("drop", "create", "copy", "exists", "version"),
        help=argparse.SUPPRESS,
    )
    parser.add_argument("--pg-server", help=argparse.SUPPRESS)
    parser.add_argument("--pg-template", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.ref_sql or args.summarize or args.pg_admin:
        return args
    if args.db is not None and not args.db.startswith("postgresql"):
        parser.error(
            "--db: a PostgreSQL URL, e.g. postgresql+psycopg://postgres@HOST:PORT/postgres"
        )
    if (args.pg_name or args.drop) and args.db is None:
        parser.error("--pg-name and --drop go with --db URL")
    if args.pg_name is None:
        args.pg_name = f"salespool_bench_{args.customers}_{args.followups_per_customer}"
    if args.db is not None and not args.pg_name.replace("_", "").isalnum():
        parser.error("--pg-name: letters, digits and _ only")
    if args.customers < 1 or args.followups_per_customer < 0:
        parser.error("--customers must be 1 or more, --followups-per-customer 0 or more")
    if args.reps < ASSIGN_REPS:
        parser.error(f"--reps must be at least {ASSIGN_REPS} (assign hands out to {ASSIGN_REPS})")
    args.only_steps = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = [s for s in args.only_steps if s not in STEPS]
    if unknown:
        parser.error(f"--only: unknown step(s) {', '.join(unknown)} (of: {', '.join(STEPS)})")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.pg_admin:
        return run_admin(args.pg_server, args.pg_admin, args.pg_name, args.pg_template)
    if args.ref_sql and args.ref_db.startswith("postgresql"):
        return run_child(args.ref_sql, args.ref_db, args.ref_rep, args.ref_csv)
    if args.ref_sql:
        return run_reference_child(args.ref_sql, args.ref_db, args.ref_rep)
    if args.summarize:
        print(json.dumps(summarize(args.summarize)))
        return 0
    started_at = datetime.now(UTC)
    started = time.perf_counter()
    n, k = args.customers, args.followups_per_customer
    workdir = args.workdir or Path(os.environ.get("TMPDIR", "/tmp")) / f"salespool-bench-{n}-{k}"
    workdir = workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    command = shlex.join(["python", "benchmarks/bench.py", *(argv or sys.argv[1:])])

    sqlite_cli = shutil.which("sqlite3")
    if sqlite_cli is None:
        print("sqlite3 CLI not found: the import reference is skipped", file=sys.stderr)

    log(f"data set: {n:,} customers, {k} follow-ups per customer, in {workdir}")
    data = generate_deals(workdir, n, k, args.reps, args.seed, args.regenerate)
    if data.reused:
        log("  reused the data set generated earlier with the same parameters")
    else:
        log(f"  generated in {data.seconds:.1f} s")
    log(
        f"  {data.customer_rows:,} customers ({data.pool:,} in the pool, {data.idle:,} idle "
        f"≥ {RECYCLE_DAYS}d), {data.followup_rows:,} follow-ups, {data.deal_rows:,} deals; "
        f"{data.customers.stat().st_size / 2**20:.0f} + "
        f"{data.followups.stat().st_size / 2**20:.0f} MiB"
    )

    bench = Bench(args, workdir, data, sqlite_cli, server=args.db)
    try:
        bench.run(args.only_steps)
    finally:
        if bench.server is not None:
            bench.pg_admin("drop", f"{bench.pg_name}_ref")
            if args.drop:
                bench.drop_all()
    total = time.perf_counter() - started

    print()
    print(text_table(bench.rows))
    print()
    missed = [f"{r.step}: {', '.join(r.missed())}" for r in bench.rows if r.missed()]
    print("missed: " + ("; ".join(missed) if missed else "none"))
    print(f"total {total / 60:.1f} min; work files in {workdir}")
    if not args.no_results:
        info = machine(sqlite_cli, rss_floor(bench.outdir))
        if bench.server is not None:
            info.update(pg_machine(bench))
        write_results(bench, command, info, started_at, total)
        print(f"wrote {results_file(bench)}")
    failed = [r for r in bench.rows if r.salespool is not None and not r.salespool.ok]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

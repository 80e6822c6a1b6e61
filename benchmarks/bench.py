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

Standard library only (the salespool CLI runs in the child processes).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import shlex
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS_FILE = HERE / "RESULTS.md"
DATASET_VERSION = 2  # bump when the generator changes: a stale data set is regenerated

BENCH_NOW = "2026-11-29T09:00:00"
BENCH_TZ = "Asia/Shanghai"
TZ_OFFSET = timedelta(hours=8)  # Asia/Shanghai has had no DST since 1991
NOW_UTC = datetime(2026, 11, 29, 1, 0, 0, tzinfo=UTC)  # BENCH_NOW read in BENCH_TZ
NOW_TS = int(NOW_UTC.timestamp())
DAY = 86_400
RECYCLE_DAYS = 30
REPORT_WINDOW_DAYS = 30  # `report` without --since: the last 30 days
ASSIGN_LIMIT = 10_000
ASSIGN_REPS = 10
ACTOR = "bench"
SLOW_SECONDS = 20.0  # a read-only step slower than this is not repeated

# Targets from issue 5.
IMPORT_MAX_RATIO = 2.0
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

CUSTOMER_COLUMNS = (
    "external_id",
    "name",
    "contact",
    "phone",
    "email",
    "city",
    "level",
    "owner",
    "stage",
    "created_at",
    "owned_since",
    "last_contact_at",
)
FOLLOWUP_COLUMNS = ("customer", "rep", "kind", "note", "at")
DEAL_COLUMNS = ("deal_id", "customer", "amount", "channel", "at", "rep")
DEALS_VERSION = 1  # bump when the deal generator changes
# Deals per customer, by customer number modulo 4: one per customer on average.
DEALS_PER_CUSTOMER = (0, 1, 1, 2)
# Channels as other CRMs write them: canonical, Chinese labels, or empty (direct).
DEAL_CHANNELS = ("direct", "direct", "online", "线上", "线下", "")

# --- the data set -----------------------------------------------------------------


def words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


def pipes(text: str) -> tuple[str, ...]:
    return tuple(text.split("|"))


CN_BRANDS = words(
    "恒达 华信 鼎盛 嘉禾 瑞丰 金桥 宏远 天成 永信 博睿 中科 "
    "新源 海纳 联创 星辰 汇通 安泰 盛世 同欣 明德 四方 启航 "
    "东方 银河 科维 万象 锦程 云帆 浩然 众诚"
)
CN_TRADES = words(
    "科技 贸易 物流 电子 机械 建材 医疗器械 食品 化工 软件 "
    "教育咨询 纺织 新能源 环保 餐饮管理 广告 包装 汽车配件 家居 "
    "供应链"
)
CN_SUFFIXES = ("有限公司", "股份有限公司", "集团有限公司", "贸易商行", "工作室")
CITIES = words(
    "上海 北京 深圳 广州 杭州 苏州 南京 成都 重庆 武汉 西安 "
    "天津 宁波 无锡 厦门 青岛 长沙 郑州 合肥 福州 东莞 佛山 "
    "济南 昆明 大连"
)
EN_FIRST = pipes(
    "Blue River|Golden Gate|Silver Oak|Red Maple|Green Field|North Star|"
    "Bright Path|Iron Bridge|Pacific Rim|Summit Harbor|Eastern Wind|"
    "Clear Water|Jade Lotus|Grand Lake"
)
EN_TRADES = words(
    "Logistics Trading Software Foods Medical Electronics Machinery "
    "Textiles Energy Packaging Consulting Media Robotics Furniture "
    "Chemicals"
)
EN_SUFFIXES = ("Ltd", "Co., Ltd.", "Inc.", "Group", "Holdings", "LLC")
SURNAMES = words("王 李 张 刘 陈 杨 黄 赵 吴 周 徐 孙 马 朱 胡 郭 何 林 高 罗")
GIVEN = words("伟 芳 娜 敏 静 丽 强 磊 军 洋 勇 艳 杰 娟 涛 明 超 秀英 霞 平 刚 桂英")
EN_CONTACTS = pipes(
    "Alice Brown|Bob Smith|Carol White|David Lee|Emma Wang|Frank Zhang|"
    "Grace Liu|Henry Chen|Ivy Zhao|Jack Wu|Kate Lin|Leo Huang"
)
LEVELS = ("A", "B", "B", "C", "C", "C", "D")
# (stage, Chinese label, weight): a fifth of the rows use the Chinese label (an alias).
STAGES = (
    ("prospecting", "寻找客户", 35),
    ("negotiating", "商务谈判", 25),
    ("won", "业绩合格", 15),
    ("maintaining", "维系客户", 12),
    ("deepening", "深耕客户", 5),
    ("lost", "流失", 8),
)
KINDS = ("call", "call", "wechat", "wechat", "visit", "email", "meeting", "电话", "微信", "拜访")
NOTES = (
    "电话沟通，客户有意向",
    "微信发了报价单",
    "上门拜访，见到了采购负责人",
    "客户说下个月再联系",
    "Sent the quote, waiting for a reply",
    "Call back after the trade fair",
    "Demo went well; wants a trial, 30 days",
    "",
    "寄送样品",
    'Asked for "best price" on 500 units',
)
POOL_SHARE = 0.10
IDLE_SHARE = 1 / 3  # of the owned customers: idle 30 days or more at the bench time
NO_CONTACT_SHARE = 0.05


def rep_names(count: int) -> list[str]:
    return [f"rep{i:03d}" for i in range(1, count + 1)]


def local_iso(ts: int) -> str:
    """A UTC timestamp as ISO 8601 local time in the bench zone, with its offset."""
    return time.strftime("%Y-%m-%dT%H:%M:%S+08:00", time.gmtime(ts + 8 * 3600))


@dataclass
class DataSet:
    customers: Path
    followups: Path
    customer_rows: int
    followup_rows: int
    owned: int
    pool: int
    idle: int  # owned customers idle RECYCLE_DAYS or more at the bench time
    seconds: float
    reused: bool
    deals: Path | None = None
    deal_rows: int = 0


def _pick_stage(rng: random.Random) -> str:
    roll = rng.random() * 100
    for stage, label, weight in STAGES:
        if roll < weight:
            return label if rng.random() < 0.2 else stage
        roll -= weight
    return STAGES[0][0]


def _company(rng: random.Random) -> tuple[str, str, str | None]:
    """(name, contact, e-mail domain or None) for a Chinese or an English company."""
    if rng.random() < 0.6:
        city = rng.choice(CITIES)
        name = f"{city}{rng.choice(CN_BRANDS)}{rng.choice(CN_TRADES)}{rng.choice(CN_SUFFIXES)}"
        contact = rng.choice(SURNAMES) + rng.choice(GIVEN)
        domain = None
        if rng.random() < 0.5:
            domain = f"{rng.choice(['hd', 'hx', 'ds', 'jh', 'rf', 'jq'])}{rng.randrange(1000)}.cn"
        return name, contact, domain
    first = rng.choice(EN_FIRST)
    trade = rng.choice(EN_TRADES)
    name = f"{first} {trade} {rng.choice(EN_SUFFIXES)}"
    contact = rng.choice(EN_CONTACTS)
    domain = f"{first.lower()}-{trade.lower()}{rng.randrange(1000)}.com"
    return name, contact, domain


def _customer_rows(
    n: int, k: int, reps: list[str], seed: int, counts: dict[str, int]
) -> Iterator[tuple[list[str], list[list[str]], tuple[int, int, str]]]:
    """Each customer's CSV row, its follow-up rows, and (created, newest contact, the
    rep who called: its owner, or a former rep for a pool customer), one at a time."""
    rng = random.Random(seed)
    year_ago = NOW_TS - 365 * DAY
    for i in range(1, n + 1):
        external_id = f"C{i:07d}"
        name, contact, domain = _company(rng)
        phone = f"1{rng.choice('3456789')}{rng.randrange(10**9):09d}"
        email = ""
        if domain is not None and rng.random() < 0.7:
            email = f"sales{rng.randrange(100)}@{domain}"
        city = rng.choice(CITIES)
        level = rng.choice(LEVELS)
        stage = _pick_stage(rng)
        pooled = rng.random() < POOL_SHARE
        if rng.random() < IDLE_SHARE:
            idle_secs = rng.randrange(RECYCLE_DAYS * DAY + 3600, 330 * DAY)
        else:
            idle_secs = rng.randrange(0, (RECYCLE_DAYS - 1) * DAY)
        idle_from = NOW_TS - idle_secs  # when the idleness clock starts
        created = rng.randrange(year_ago, idle_from + 1)
        owned_since = rng.randrange(created, idle_from + 1)
        no_contact = rng.random() < NO_CONTACT_SHARE
        followups: list[list[str]] = []
        if pooled:
            owner = ""
            owned_text = ""
            last_text = "" if no_contact else local_iso(idle_from)
            counts["pool"] += 1
            # History from the rep who had it before it went to the pool.
            caller, newest = rng.choice(reps), idle_from
        else:
            owner = rng.choice(reps)
            counts["owned"] += 1
            if idle_secs >= RECYCLE_DAYS * DAY:
                counts["idle"] += 1
            if no_contact:
                # Never called: the clock runs from owned_since (= idle_from); any
                # follow-up in the file is older, so it cannot make the customer less idle.
                owned_since = idle_from
                last_text = ""
                newest = owned_since
            else:
                last_text = local_iso(idle_from)
                newest = idle_from
            owned_text = local_iso(owned_since)
            caller = owner
        if k:
            times = sorted(rng.randrange(created, newest + 1) for _ in range(k - 1))
            times.append(newest)
            for at in times:
                followups.append(
                    [external_id, caller, rng.choice(KINDS), rng.choice(NOTES), local_iso(at)]
                )
        yield (
            [
                external_id,
                name,
                contact,
                phone,
                email,
                city,
                level,
                owner,
                stage,
                local_iso(created),
                owned_text,
                last_text,
            ],
            followups,
            (created, newest, caller),
        )


def generate(workdir: Path, n: int, k: int, reps: int, seed: int, force: bool) -> DataSet:
    """Write customers.csv and followups.csv (streamed), or reuse a matching set."""
    customers = workdir / "customers.csv"
    followups = workdir / "followups.csv"
    manifest = workdir / "dataset.json"
    wanted = {"version": DATASET_VERSION, "customers": n, "k": k, "reps": reps, "seed": seed}
    if not force and manifest.exists() and customers.exists() and followups.exists():
        try:
            saved = json.loads(manifest.read_text())
        except ValueError:
            saved = {}
        if saved.get("params") == wanted:
            return DataSet(customers, followups, **saved["counts"], seconds=0.0, reused=True)
    manifest.unlink(missing_ok=True)
    started = time.perf_counter()
    counts = {"owned": 0, "pool": 0, "idle": 0}
    followup_rows = 0
    names = rep_names(reps)
    with (
        customers.open("w", newline="", encoding="utf-8") as cf,
        followups.open("w", newline="", encoding="utf-8") as ff,
    ):
        cw, fw = csv.writer(cf), csv.writer(ff)
        cw.writerow(CUSTOMER_COLUMNS)
        fw.writerow(FOLLOWUP_COLUMNS)
        for row, rows, _meta in _customer_rows(n, k, names, seed, counts):
            cw.writerow(row)
            if rows:
                fw.writerows(rows)
                followup_rows += len(rows)
    saved_counts = {
        "customer_rows": n,
        "followup_rows": followup_rows,
        "owned": counts["owned"],
        "pool": counts["pool"],
        "idle": counts["idle"],
    }
    manifest.write_text(json.dumps({"params": wanted, "counts": saved_counts}, indent=2))
    return DataSet(
        customers,
        followups,
        **saved_counts,
        seconds=time.perf_counter() - started,
        reused=False,
    )


def _amount(rng: random.Random) -> str:
    """An amount as CRMs export it: plain, or with thousands separators (a fifth)."""
    minor = rng.randrange(10_000, 50_000_000)
    units, cents = divmod(minor, 100)
    return f"{units:,}.{cents:02d}" if rng.random() < 0.2 else f"{units}.{cents:02d}"


def generate_deals(workdir: Path, n: int, k: int, reps: int, seed: int, force: bool) -> DataSet:
    """Write deals.csv beside the customers (a pass over the same generator), or reuse it.

    Deals fall between a customer's creation and its newest contact, so importing them
    changes no one's idleness (recycle takes the same customers). A pool customer's
    deals name their rep (the trail has no owner for them); a twentieth of the others
    do too; the rest are credited from the trail. Its own random stream (seed + 1):
    customers.csv and followups.csv are the same with or without it.
    """
    data = generate(workdir, n, k, reps, seed, force)
    deals = workdir / "deals.csv"
    manifest = workdir / "deals.json"
    wanted = {"version": DEALS_VERSION, "customers": n, "k": k, "reps": reps, "seed": seed}
    if not force and manifest.exists() and deals.exists():
        try:
            saved = json.loads(manifest.read_text())
        except ValueError:
            saved = {}
        if saved.get("params") == wanted:
            data.deals, data.deal_rows = deals, saved["rows"]
            return data
    manifest.unlink(missing_ok=True)
    started = time.perf_counter()
    rng = random.Random(seed + 1)
    counts = {"owned": 0, "pool": 0, "idle": 0}
    rows = 0
    with deals.open("w", newline="", encoding="utf-8") as df:
        writer = csv.writer(df)
        writer.writerow(DEAL_COLUMNS)
        for i, (row, _followups, meta) in enumerate(
            _customer_rows(n, k, rep_names(reps), seed, counts), start=1
        ):
            created, newest, caller = meta
            owner = row[CUSTOMER_COLUMNS.index("owner")]
            for _ in range(DEALS_PER_CUSTOMER[i % len(DEALS_PER_CUSTOMER)]):
                rows += 1
                credited = caller if not owner or rng.random() < 0.05 else ""
                writer.writerow(
                    [
                        f"D{rows:08d}",
                        row[0],
                        _amount(rng),
                        rng.choice(DEAL_CHANNELS),
                        local_iso(rng.randrange(created, newest + 1)),
                        credited,
                    ]
                )
    manifest.write_text(json.dumps({"params": wanted, "rows": rows}, indent=2))
    data.deals, data.deal_rows = deals, rows
    data.seconds += time.perf_counter() - started
    data.reused = False
    return data


# --- running and measuring child processes ------------------------------------------


@dataclass
class Measure:
    seconds: float  # wall
    cpu: float  # user + system seconds of the child
    rss_mb: float
    returncode: int
    stdout: Path
    stderr: Path

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def error_text(self) -> str:
        text = self.stderr.read_text(errors="replace").strip()
        return text.splitlines()[-1] if text else f"exit status {self.returncode}"


def _maxrss_mb(ru_maxrss: int) -> float:
    # Linux (and the BSDs) report KiB; macOS reports bytes.
    return ru_maxrss / (1024 * 1024) if sys.platform == "darwin" else ru_maxrss / 1024


def run_measured(
    argv: list[str], outdir: Path, label: str, stdin: Path | None = None, cwd: Path | None = None
) -> Measure:
    """Run one child; its wall time and its own peak RSS (wait4 on its pid)."""
    stdout = outdir / f"{label}.out"
    stderr = outdir / f"{label}.err"
    with (
        stdout.open("wb") as out,
        stderr.open("wb") as err,
        stdin.open("rb") if stdin else open(os.devnull, "rb") as inp,
    ):
        started = time.perf_counter()
        proc = subprocess.Popen(argv, stdin=inp, stdout=out, stderr=err, cwd=cwd)
        _pid, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    cpu = usage.ru_utime + usage.ru_stime
    return Measure(seconds, cpu, _maxrss_mb(usage.ru_maxrss), proc.returncode, stdout, stderr)


def best_of(runs: list[Measure]) -> Measure:
    """Repeated read-only runs: the fastest wall time, and the highest peak RSS of any."""
    failed = [m for m in runs if not m.ok]
    if failed:
        return failed[0]
    best = min(runs, key=lambda m: m.seconds)
    return Measure(best.seconds, best.cpu, max(m.rss_mb for m in runs), 0, best.stdout, best.stderr)


def salespool_argv(db: Path, config: Path, *args: str) -> list[str]:
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


# --- the reference: hand-written SQL --------------------------------------------------


def db_time(moment: datetime) -> str:
    """A moment as salespool stores it on SQLite: naive UTC text with microseconds."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _connect(path: str) -> sqlite3.Connection:
    """A connection with salespool's pragmas (store.py), in autocommit mode.

    Temporary storage stays SQLite's default (files), as store.py sets it; the page
    cache stays the default too (salespool grows it for bulk work, core/recycle.py).
    """
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA busy_timeout = 60000")
    con.execute("PRAGMA foreign_keys = ON")
    con.execute("PRAGMA synchronous = NORMAL")
    return con


# The recycle rule of `recycle --days 30` under the bench's config, as salespool
# evaluates it (core/recycle.py): owned; the idleness clock (the later of
# last_contact_at and owned_since) at or before now - 30 days; not protected by a
# lock set under the current owner, nor by a deal in the last deal_exempt_days.
RECYCLE_WHERE = """
    owner_id IS NOT NULL
    AND max(coalesce(last_contact_at, owned_since), owned_since) <= :cutoff
    AND NOT (locked_at IS NOT NULL AND locked_at >= owned_since
             AND (locked_until IS NULL OR locked_until > :now))
    AND NOT EXISTS (SELECT 1 FROM deal WHERE deal.customer_id = customer.id
                    AND deal.at > :deal_cutoff)
"""
RECYCLE_EVENTS = f"""
    INSERT INTO event (customer_id, at, kind, from_rep_id, from_stage, to_stage, reason, actor)
    SELECT id, :now, 'recycled', owner_id, stage, stage, :reason, :actor
    FROM customer WHERE {RECYCLE_WHERE}
"""
RECYCLE_UPDATE = f"""
    UPDATE customer SET owner_id = NULL, owned_since = NULL, pooled_at = :now
    WHERE {RECYCLE_WHERE}
"""
DEAL_EXEMPT_DAYS = 30  # salespool's default recycle.deal_exempt_days, kept by --days


def reference_recycle(path: str) -> dict:
    """recycle --days 30 by hand: the event INSERT ... SELECT, then the UPDATE."""
    params = {
        "now": db_time(NOW_UTC),
        "cutoff": db_time(NOW_UTC - timedelta(days=RECYCLE_DAYS)),
        "deal_cutoff": db_time(NOW_UTC - timedelta(days=DEAL_EXEMPT_DAYS)),
        "reason": f"idle {RECYCLE_DAYS}+ days",
        "actor": ACTOR,
    }
    con = _connect(path)
    try:
        con.execute("BEGIN IMMEDIATE")
        events = con.execute(RECYCLE_EVENTS, params).rowcount
        count = con.execute(RECYCLE_UPDATE, params).rowcount
        con.execute("COMMIT")
    finally:
        con.close()
    return {"count": count, "events": events}


def reference_report(path: str, rep: str | None) -> dict:
    """report [--rep R] by hand: the same GROUP BY queries as core/report.py."""
    start = db_time(NOW_UTC - timedelta(days=REPORT_WINDOW_DAYS))
    end = db_time(NOW_UTC)
    con = _connect(path)
    try:
        if rep is None:
            reps = con.execute(
                "SELECT id, name FROM rep WHERE left_at IS NULL OR left_at >= ? ORDER BY name",
                (start,),
            ).fetchall()
        else:
            reps = con.execute("SELECT id, name FROM rep WHERE name = ?", (rep,)).fetchall()
        ids = ",".join(str(rid) for rid, _name in reps) or "NULL"
        window = (start, end)
        out: dict = {
            "reps": len(reps),
            "stages": con.execute(
                f"SELECT owner_id, stage, count(*) FROM customer WHERE owner_id IN ({ids}) "
                "GROUP BY owner_id, stage"
            ).fetchall(),
            "follow_ups": con.execute(
                f"SELECT rep_id, kind, count(*) FROM follow_up WHERE rep_id IN ({ids}) "
                "AND at >= ? AND at <= ? GROUP BY rep_id, kind",
                window,
            ).fetchall(),
            "deals": con.execute(
                f"SELECT rep_id, count(*), sum(amount_minor) FROM deal WHERE rep_id IN ({ids}) "
                "AND at >= ? AND at <= ? GROUP BY rep_id",
                window,
            ).fetchall(),
            "taken": con.execute(
                f"SELECT to_rep_id, kind, count(*) FROM event WHERE to_rep_id IN ({ids}) "
                "AND kind IN ('claimed', 'assigned') AND at >= ? AND at <= ? "
                "GROUP BY to_rep_id, kind",
                window,
            ).fetchall(),
            "lost": con.execute(
                f"SELECT from_rep_id, kind, count(*) FROM event WHERE from_rep_id IN ({ids}) "
                "AND kind IN ('recycled', 'released') AND at >= ? AND at <= ? "
                "GROUP BY from_rep_id, kind",
                window,
            ).fetchall(),
            "pool": con.execute("SELECT count(*) FROM customer WHERE owner_id IS NULL").fetchone()[
                0
            ],
        }
    finally:
        con.close()
    return {
        "reps": out["reps"],
        "customers": sum(n for *_k, n in out["stages"]),
        "follow_ups": sum(n for *_k, n in out["follow_ups"]),
        "deals": sum(n for _r, n, _a in out["deals"]),
        "recycled_away": sum(n for r, kind, n in out["lost"] if kind == "recycled"),
        "assigned": sum(n for r, kind, n in out["taken"] if kind == "assigned"),
        "pool": out["pool"],
    }


def run_reference_child(kind: str, db: str, rep: str | None) -> int:
    """The child side of a reference run: do the SQL, print its counts as JSON."""
    result = reference_recycle(db) if kind == "recycle" else reference_report(db, rep)
    print(json.dumps(result))
    return 0


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


SQLITE_IMPORT_SCRIPT = """\
CREATE TABLE {table} ({columns});
.import --csv --skip 1 '{csv}' {table}
SELECT count(*) FROM {table};
"""


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
    db: Path = field(init=False)
    config: Path = field(init=False)
    outdir: Path = field(init=False)
    rows: list[Row] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.db = self.workdir / "salespool.db"
        self.config = self.workdir / "salespool.toml"
        self.outdir = self.workdir / "out"
        self.outdir.mkdir(exist_ok=True)
        self.config.write_text(CONFIG_TOML, encoding="utf-8")

    def measure(
        self, label: str, argv: list[str], repeat: int = 1, stdin: Path | None = None
    ) -> Measure:
        """Run a child `repeat` times (read-only steps only) and keep the best wall time."""
        runs: list[Measure] = []
        for _ in range(repeat):
            if runs and runs[-1].seconds > SLOW_SECONDS:
                break  # one slow run says enough; repeating only costs time
            m = run_measured(argv, self.outdir, label, stdin=stdin, cwd=self.workdir)
            log(
                f"    {m.seconds:.2f} s wall, {m.cpu:.2f} s CPU, {m.rss_mb:.0f} MB"
                + ("" if m.ok else f": {m.error_text()}")
            )
            runs.append(m)
            if not m.ok:
                break
        return best_of(runs)

    def salespool(self, label: str, *args: str, repeat: int = 1) -> Measure:
        log(f"  salespool {' '.join(args)}")
        return self.measure(label, salespool_argv(self.db, self.config, *args), repeat)

    def reference_sql(
        self, label: str, kind: str, db: Path, rep: str | None = None, repeat: int = 1
    ) -> Measure:
        argv = [sys.executable, str(Path(__file__).resolve()), "--ref-sql", kind]
        argv += ["--ref-db", str(db)] + (["--ref-rep", rep] if rep is not None else [])
        log(f"  reference: hand SQL ({kind}) on {db.name}")
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

    # --- each step ---------------------------------------------------------------

    def step_startup(self) -> Row:
        row = Row("startup", STEP_HELP["startup"])
        row.salespool = self.salespool("startup", "--version", repeat=self.args.repeat)
        row.note = "not a target: paid by every command below"
        return row

    def step_import(self) -> Row:
        remove_db(self.db)
        # Only `init` creates a store (untimed: a new team runs it once).
        subprocess.run(
            salespool_argv(self.db, self.config, "init"), check=True, capture_output=True
        )
        row = Row("import", "import customers.csv", ratio_target=IMPORT_MAX_RATIO)
        row.reference_what = "sqlite3 .import"
        row.salespool = self.salespool(
            "import", "import", str(self.data.customers), "--json", "--quiet"
        )
        out = self.json_out(row.salespool)
        if isinstance(out, dict):
            row.note = f"inserted {out.get('inserted')}, rejected {out.get('rejected')}"
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
        row.salespool = self.salespool(
            "import-followups", "import-followups", str(self.data.followups), "--json", "--quiet"
        )
        out = self.json_out(row.salespool)
        if isinstance(out, dict):
            row.note = (
                f"inserted {out.get('inserted')}, last contact moved {out.get('contact_moved')}"
            )
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
        row.salespool = self.salespool(
            "import-deals", "import-deals", str(self.data.deals), "--json", "--quiet"
        )
        out = self.json_out(row.salespool)
        if isinstance(out, dict):
            row.note = (
                f"inserted {out.get('inserted')}, rejected {out.get('rejected')}, "
                f"last contact moved {out.get('contact_moved')}"
            )
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
        ref_db = self.workdir / "ref-recycle.db"
        copy_db(self.db, ref_db)
        row.salespool = self.salespool("recycle", "recycle", "--days", str(RECYCLE_DAYS), "--json")
        row.reference = self.reference_sql("ref-recycle", "recycle", ref_db)
        out, ref = self.json_out(row.salespool), self.json_out(row.reference)
        got = out.get("count") if isinstance(out, dict) else None
        want = ref.get("count") if isinstance(ref, dict) else None
        row.note = f"recycled {got}" + ("" if got == want else f" (reference: {want}!)")
        remove_db(ref_db)
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
        snapshot = self.workdir / "imported.db"
        imports = IMPORT_STEPS & set(only)
        if not imports and set(only) - {"startup"}:
            if snapshot.exists():
                log(f"restoring {self.db.name} from {snapshot.name} (imports not selected)")
                copy_db(snapshot, self.db)
            elif not self.db.exists():
                raise SystemExit(f"{self.db} does not exist: run the import steps first")
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
                # Later runs with --only recycle,... start from this state again.
                log(f"saving {snapshot.name} (the store after the imports)")
                copy_db(self.db, snapshot)
            log(f"[{step}]")
            self.rows.append(steps[step]())


# --- output ---------------------------------------------------------------------------


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


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


def rss_floor(outdir: Path) -> float:
    """The peak RSS a trivial child reports: the bench process's own peak.

    Linux charges an exec'ed child with the high-water RSS of the memory it was
    spawned from (the parent's, with vfork), so no child reports less than this.
    """
    trivial = shutil.which("true")
    argv = [trivial] if trivial else [sys.executable, "-c", "pass"]
    return run_measured(argv, outdir, "rss-floor").rss_mb


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


def write_results(
    bench: Bench, command: str, info: dict[str, str], started: datetime, total: float
) -> None:
    data = bench.data
    missed = [f"{r.step}: {', '.join(r.missed())}" for r in bench.rows if r.missed()]
    lines = [
        "# Benchmark results",
        "",
        f"Run {started:%Y-%m-%d %H:%M} UTC in {total / 60:.1f} min, by `benchmarks/bench.py` "
        "(see [README.md](README.md) for what each step measures).",
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
        "Targets (issue 5): import ≤ 2x sqlite3 `.import`; recycle and report ≤ 1.5x the "
        f"hand-written SQL and < 2 s; peak RSS < {MAX_RSS_MB:g} MB for every command. "
        "Times are wall seconds of the child process, start-up included; peak RSS is the "
        "child's own (wait4).",
        "",
        "Missed: " + ("; ".join(missed) if missed else "none") + ".",
        "",
        "## Machine",
        "",
        *(f"- {k}: {v}" for k, v in info.items()),
        "",
    ]
    RESULTS_FILE.write_text("\n".join(lines), encoding="utf-8")


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
    parser.add_argument("--regenerate", action="store_true", help="write the data set anew")
    parser.add_argument("--no-results", action="store_true", help="do not write RESULTS.md")
    # The child side of a reference run (internal).
    parser.add_argument("--ref-sql", choices=("recycle", "report"), help=argparse.SUPPRESS)
    parser.add_argument("--ref-db", help=argparse.SUPPRESS)
    parser.add_argument("--ref-rep", help=argparse.SUPPRESS)
    parser.add_argument("--summarize", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.ref_sql or args.summarize:
        return args
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

    bench = Bench(args, workdir, data, sqlite_cli)
    bench.run(args.only_steps)
    total = time.perf_counter() - started

    print()
    print(text_table(bench.rows))
    print()
    missed = [f"{r.step}: {', '.join(r.missed())}" for r in bench.rows if r.missed()]
    print("missed: " + ("; ".join(missed) if missed else "none"))
    print(f"total {total / 60:.1f} min; work files in {workdir}")
    if not args.no_results:
        info = machine(sqlite_cli, rss_floor(bench.outdir))
        write_results(bench, command, info, started_at, total)
        print(f"wrote {RESULTS_FILE}")
    failed = [r for r in bench.rows if r.salespool is not None and not r.salespool.ok]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

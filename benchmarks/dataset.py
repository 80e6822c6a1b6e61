"""The bench's data set: customers.csv, followups.csv and deals.csv, generated from a
seed, streamed to disk, and reused by later runs with the same parameters.

The column names of the three files are here and nowhere else in the bench.
"""

from __future__ import annotations

import csv
import json
import random
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
from salespool.core import vocabulary

DATASET_VERSION = 2  # bump when the generator changes: a stale data set is regenerated

BENCH_NOW = "2026-11-29T09:00:00"
BENCH_TZ = "Asia/Shanghai"
NOW_UTC = datetime(2026, 11, 29, 1, 0, 0, tzinfo=UTC)  # BENCH_NOW read in BENCH_TZ
NOW_TS = int(NOW_UTC.timestamp())
DAY = 86_400
RECYCLE_DAYS = 30

# The files' columns come from salespool's own vocabulary, the one the importers read
# (this checkout's: the module imports nothing, so the bench stays light in memory).
# The book's columns as a CRM export has them; the generator refers nobody, so
# `referred_by` is left out (a header with no cells under it breaks `COPY`).
CUSTOMER_COLUMNS = tuple(c for c in vocabulary.CUSTOMER_FILE_COLUMNS if c != "referred_by")
FOLLOWUP_COLUMNS = tuple(c for c in vocabulary.FOLLOWUP_COLUMNS if c != "next_at")
DEAL_COLUMNS = ("deal_id", "customer", *vocabulary.DEAL_FACTS, "rep")
DEALS_VERSION = 1  # bump when the deal generator changes
# Deals per customer, by customer number modulo 4: one per customer on average.
DEALS_PER_CUSTOMER = (0, 1, 1, 2)
# Channels as other CRMs write them: canonical, Chinese labels, or empty (direct).
DEAL_CHANNELS = ("direct", "direct", "online", "线上", "线下", "")


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

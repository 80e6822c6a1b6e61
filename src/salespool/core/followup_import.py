"""Importing follow-up history from another CRM, all or nothing, in bulk.

Columns: `customer` (an external_id, else an exact customer name), `rep`,
`kind`, `note`, `at`, and optionally `next_at`; Chinese headers are aliases
(客户, 跟进人, 跟进方式, 跟进内容, 跟进时间, ...), and 跟进方式 values are read
as kinds by the vocabulary's table (电话 -> call, 微信 -> wechat, 拜访 -> visit,
邮件 -> email, 会议 -> meeting; empty -> other); any other label is a bad row
unless the caller maps it (`map_kind`).

It is history, so it is taken as it was: a follow-up by a rep who does not own
the customer now, or who has left, is kept; a rep the store does not know is
created inactive (they receive no customers until `rep set NAME --active`).
Each customer's last_contact_at moves forward to its newest imported
follow-up, never backward, so the idleness clock is right from day one. A row
identical to a follow-up already stored (same customer, rep, kind, note and
time) is skipped, so re-importing a file changes nothing.

Any bad row refuses the whole file; with a rejects file, bad rows (and rows
whose customer cannot be found) are written there instead and the rest imported.

Rows stream into a temporary staging table in batches of plain tuples
(storage.bulk.stage_rows: COPY on psycopg, else the DB-API's executemany; no
per-row ORM work); keys (with each key's newest follow-up, in one GROUP BY),
reps and the inserts are then a few set-based statements. The file is read
once, in bounded memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Column, DateTime, Index, Integer, String, Text
from sqlalchemy.orm import aliased
from sqlalchemy.sql import and_, case, delete, exists, func, insert, literal, or_, select, update
from sqlmodel import Session

from salespool.clock import to_db
from salespool.core import staging
from salespool.core.rejects import Problems, raw_cells
from salespool.core.reps import insert_reps
from salespool.core.staging import BAD, ImportJob, Plan, Staging, staged, temp_table
from salespool.core.timeline import (
    changes_stage,
    fill_followup_stages,
    followup_stage,
    latest_stage,
    never_moved,
    stage_at,
    steady_stage,
)
from salespool.core.trail import EVENT_INSERT_COLUMNS
from salespool.core.vocabulary import FOLLOWUP_ALIASES as ALIASES
from salespool.core.vocabulary import FOLLOWUP_IMPORT_COLUMNS as COLUMNS
from salespool.core.vocabulary import KINDS_SHOWN, kind_key
from salespool.core.vocabulary import kind_of as named_kind
from salespool.errors import BadInput
from salespool.models import (
    Customer,
    Event,
    EventKind,
    FollowUp,
    FollowUpKind,
    Rep,
    Role,
    Stage,
    parse_stage,
)
from salespool.storage.bulk import indexes_rebuilt
from salespool.storage.plans import joins_over_subqueries

BAD_KIND = f"not a follow-up kind: use {KINDS_SHOWN}, or map it to one"
BAD_STAGE = (
    "not a stage: use "
    + ", ".join(s.value for s in Stage)
    + " (or 寻找客户, 商务谈判, 业绩合格, 维系客户, 深耕客户, 流失)"
)
BATCH_ROWS = 10_000

STAGING = temp_table(
    "followup_staging",
    Column("line", Integer, primary_key=True),
    Column("customer_key", String, nullable=False),
    Column("rep", String, nullable=False),
    Column("kind", String, nullable=False),
    Column("note", Text),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("next_at", DateTime(timezone=True)),
    Column("stage", String),  # the customer's stage at the follow-up, if the file says
    Column("known", Integer),  # 1: the same follow-up is already stored
    Column("raw", Text),  # the cells as JSON, kept only for a rejects file
)
KEYS = temp_table(
    "followup_keys",
    Column("key", String, primary_key=True),
    Column("customer_id", Integer),
    Column("candidates", Integer),
    Column("latest", DateTime(timezone=True)),
    # The customer's stage when its trail never moved it: then it is the stage of
    # every follow-up, found once per customer instead of twice per row in the trail.
    Column("steady_stage", String),
)
# Each customer's newest imported follow-up (several keys may name one customer).
LATEST = temp_table(
    "followup_latest",
    Column("customer_id", Integer, primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False),
)
REPS = temp_table(
    "followup_reps", Column("name", String, primary_key=True), Column("rep_id", Integer)
)
# With a stage column: each new follow-up whose stage differs from the one before it (the
# file's previous stage for the customer, or the trail's), a `stage_changed` event to write.
MOVES = temp_table(
    "followup_moves",
    Column("line", Integer, primary_key=True),
    Column("customer_id", Integer, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("rep", String, nullable=False),
    Column("kind", String, nullable=False),
    Column("from_stage", String),
    Column("to_stage", String, nullable=False),
)
# With a stage column: each customer's newest new follow-up with a stage, and the time of
# its latest event carrying a stage before the import (what the customer "has").
NEWEST = temp_table(
    "followup_newest",
    Column("customer_id", Integer, primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("stage", String, nullable=False),
    Column("known_at", DateTime(timezone=True)),
)
PLAN = Plan(
    columns=COLUMNS,
    aliases=ALIASES,
    required=("customer", "rep", "at"),
    staging=STAGING,
    staged=[c.name for c in STAGING.columns if c.name != "known"],
    tables=(KEYS, LATEST, REPS, MOVES, NEWEST),
    batch_rows=BATCH_ROWS,
)


@dataclass
class FollowupImportResult:
    file: str
    dry_run: bool
    inserted: int = 0
    skipped: int = 0  # already stored
    rejected: int = 0  # bad rows written to the rejects file (else a bad row refuses the file)
    customers: int = 0  # customers the file has follow-ups for
    contact_moved: int = 0  # customers whose last_contact_at moved forward
    # With a stage column: `stage_changed` events written for follow-ups, and customers whose
    # current stage became their newest follow-up's.
    stage_changes: int = 0
    stage_moved: int = 0
    format: str = "csv"
    encoding: str | None = None
    sheet: str | None = None
    reps_created: list[str] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    rejects_file: str | None = None  # the file written (never on a dry run)
    # with a rejects file: {"line", "reason"} of the first REPORTED_REJECTS bad rows by line
    rejects: list[dict] = field(default_factory=list)


def kind_of(text: str | None, extra: dict[str, str] | None = None) -> str | None:
    """A follow-up kind from another CRM's label: 电话 -> call, ...; empty -> other;
    a label neither the vocabulary nor `extra` knows -> None."""
    if not text or not text.strip():
        return FollowUpKind.other.value
    return named_kind(text, extra)


def kind_mapping(map_kind: dict[str, str] | None) -> dict[str, str]:
    """{label: kind} as the user typed it, as {kind_key(label): canonical kind}.

    A mapping to a kind that does not exist is refused: the file is not read.
    """
    mapping: dict[str, str] = {}
    for label, target in (map_kind or {}).items():
        kind = named_kind(target)
        if kind is None:
            raise BadInput(
                f"'{label}={target}': '{target}' is not one of {KINDS_SHOWN}", option="map_kind"
            )
        mapping[kind_key(label)] = kind
    return mapping


def import_followups(
    session: Session,
    *,
    job: ImportJob,
    map_kind: dict[str, str] | None = None,
) -> FollowupImportResult:
    """Import follow-up history from the job's file; any bad row refuses the whole file.

    The job's `rejects`: import the good rows and write the bad ones, with line and reason, to
    this CSV file (on a dry run only listed in the result). `map_kind`: {label: kind} for
    kind labels the vocabulary does not know (传真 -> other); an unknown label is a bad row.
    """
    extra = kind_mapping(map_kind)
    # The job's actor is not needed: follow-ups carry their rep, nothing changes hands,
    # so no event is written.
    with staged(session, PLAN, job, lambda run: _rows(run, job, extra)) as run:
        result = FollowupImportResult(**run.facts(job))
        total = run.staged - _resolve(session, run.lay.labels["customer"], run.problems)
        result.reps_created = _resolve_reps(session)
        result.skipped = _mark_known(session)
        result.inserted = total - result.skipped
        _latest(session)
        result.customers = session.execute(select(func.count()).select_from(LATEST)).scalar_one()
        result.contact_moved = staging.contact_moves(session, LATEST)
        staged_stages = "stage" in run.lay.positions
        if staged_stages:
            _steady_stages(session)
            result.stage_changes, result.stage_moved = _stage_moves(session)
        staging.settle_rejects(run, job, result)
        if not job.dry_run:
            _write(session, job, run.file, result.reps_created, result.inserted, staged_stages)
    return result


def _rows(run: Staging, job: ImportJob, extra: dict[str, str]) -> Iterator[tuple]:
    """Validate each record into a staging tuple (line, customer, rep, kind, note, at, next,
    raw); a bad one goes to the problems (which refuse the file without a rejects file).

    This loop runs once per row of files with millions: no per-row allocations
    beyond the tuple, and kinds and times are converted through small caches.
    """
    problems, labels = run.problems, run.lay.labels
    read = run.lay.reader(COLUMNS, run.source.unquote)
    dates = run.dates(job.now, job.tz)
    kinds: dict[str | None, str] = {}
    stages: dict[str, str | None] = {}
    keep_raw = problems.keep
    for line, cells in run.records():
        customer, rep, raw_kind, note, at_text, next_text, stage_text = read(cells)
        missing = _missing(customer, rep, at_text)
        if missing is not None:
            problems.add(line, labels[missing[0]], "", missing[1], cells)
            continue
        at = dates.read(line, cells, "at", at_text)  # type: ignore[arg-type]
        if at is BAD:
            continue
        next_at = None if next_text is None else dates.read(line, cells, "next_at", next_text, True)
        if next_at is BAD:
            continue
        kind = kinds.get(raw_kind)
        if kind is None:
            kind = kind_of(raw_kind, extra)
            if kind is None:
                problems.add(line, labels["kind"], raw_kind, BAD_KIND, cells)
                continue
            kinds[raw_kind] = kind
            if len(kinds) > 10_000:  # a file of made-up kinds: keep the cache small
                kinds.clear()
        stage = None
        if stage_text is not None:
            stage = stages.get(stage_text, "")
            if stage == "":
                stage = _stage_of(stage_text)
                if len(stages) < 10_000:  # a file of made-up stages: keep the cache small
                    stages[stage_text] = stage
            if stage is None:
                problems.add(line, labels["stage"], stage_text, BAD_STAGE, cells)
                continue
        raw = raw_cells(cells) if keep_raw else None
        yield line, customer, rep, kind, note, at, next_at, stage, raw


def _stage_of(text: str) -> str | None:
    """A stage cell's canonical stage (商务谈判 -> negotiating), None when it names none."""
    try:
        return parse_stage(text).value
    except ValueError:
        return None


def _missing(customer: str | None, rep: str | None, at: str | None) -> tuple[str, str] | None:
    """The first required cell a row leaves empty, and what it says: (column, why)."""
    if customer is None:
        return "customer", "a follow-up needs its customer's external_id or exact name"
    if rep is None:
        return "rep", "a follow-up needs its rep"
    if at is None:
        return "at", "a follow-up needs its time"
    return None


def _resolve(session: Session, label: str, problems: Problems) -> int:
    """Find each customer key's customer: an external_id, else one exact name.

    A key naming no customer, or several, refuses the file; with a rejects file its rows
    go there instead. Returns how many staged rows were so removed.
    """
    s, k, c = STAGING.c, KEYS.c, Customer.__table__.c
    # One pass over the staging rows: each key, and its newest follow-up for _latest.
    keys = select(s.customer_key.label("key"), func.max(s.at).label("latest")).group_by(
        s.customer_key
    )
    if joins_over_subqueries(session):
        # The customer of an external_id found in the same pass, by a hash join.
        g = keys.subquery()
        session.execute(
            insert(KEYS).from_select(
                ["key", "latest", "customer_id"],
                select(g.c.key, g.c.latest, c.id).select_from(
                    g.outerjoin(Customer.__table__, c.external_id == g.c.key)
                ),
            )
        )
    else:
        session.execute(insert(KEYS).from_select(["key", "latest"], keys))
        session.execute(
            update(KEYS).values(
                customer_id=select(c.id).where(c.external_id == k.key).scalar_subquery()
            )
        )
    by_name = and_(c.name == k.key)
    session.execute(
        update(KEYS)
        .where(k.customer_id.is_(None))
        .values(
            customer_id=select(func.min(c.id)).where(by_name).scalar_subquery(),
            candidates=select(func.count()).where(by_name).scalar_subquery(),
        )
    )
    unresolved = or_(k.customer_id.is_(None), k.candidates > 1)
    if session.execute(select(k.key).where(unresolved).limit(1)).first() is None:
        return 0

    def why(candidates: int | None) -> str:
        if candidates and candidates > 1:
            return f"{candidates} customers have this name; use their external_id"
        return "no customer has this external_id or name"

    if not problems.keep:
        line, key, candidates = session.execute(
            select(func.min(s.line), k.key, k.candidates)
            .join(KEYS, k.key == s.customer_key)
            .where(unresolved)
            .group_by(k.key, k.candidates)
            .order_by(func.min(s.line))
            .limit(1)
        ).one()
        problems.add(line, label, key, why(candidates), None)  # raises
    # With a rejects file every row of such a key goes there, and the key is dropped.
    rows = session.execute(
        select(s.line, k.key, k.candidates, s.raw)
        .join(KEYS, k.key == s.customer_key)
        .where(unresolved)
        .order_by(s.line)
    )
    for line, key, candidates, raw in rows:
        problems.add(line, label, key, why(candidates), raw)
    problems.flush()
    bad_keys = select(k.key).where(unresolved)
    removed = session.execute(delete(STAGING).where(s.customer_key.in_(bad_keys))).rowcount
    session.execute(delete(KEYS).where(unresolved))
    return removed


def _steady_stages(session: Session) -> None:
    """Each key's customer's stage where no event ever moved it (timeline.steady_stage);
    NULL (as staged) for the others."""
    if joins_over_subqueries(session):
        c = aliased(Customer)
        session.execute(
            update(KEYS)
            .where(c.id == KEYS.c.customer_id, never_moved(c))
            .values(steady_stage=c.stage)
        )
    else:
        session.execute(update(KEYS).values(steady_stage=steady_stage(KEYS.c.customer_id)))


def _resolve_reps(session: Session) -> list[str]:
    """Each rep name's id; the names the store does not know, to be created."""
    s, r = STAGING.c, REPS.c
    session.execute(insert(REPS).from_select(["name"], select(s.rep).distinct()))
    session.execute(
        update(REPS).values(rep_id=select(Rep.id).where(Rep.name == r.name).scalar_subquery())
    )
    return list(
        session.execute(select(r.name).where(r.rep_id.is_(None)).order_by(r.name)).scalars()
    )


def _mark_known(session: Session) -> int:
    """Flag rows already stored as follow-ups, when the book has any for these customers.

    Returns how many rows were flagged.
    """
    s, k, r = STAGING.c, KEYS.c, REPS.c
    f = FollowUp.__table__.c
    has_history = session.execute(
        select(literal(1))
        .select_from(KEYS)
        .where(exists().where(f.customer_id == k.customer_id))
        .limit(1)
    ).first()
    if has_history is None:
        return 0
    same = (
        select(literal(1))
        .select_from(FollowUp.__table__.join(KEYS, k.customer_id == f.customer_id))
        .join(REPS, r.rep_id == f.rep_id)
        .where(
            k.key == s.customer_key,
            r.name == s.rep,
            f.at == s.at,
            f.kind == s.kind,
            f.note.is_not_distinct_from(s.note),
        )
        .exists()
    )
    return session.execute(update(STAGING).where(same).values(known=1)).rowcount


def _latest(session: Session) -> None:
    """Each customer's newest follow-up time in the file, from its keys' (see _resolve)."""
    k = KEYS.c
    session.execute(
        insert(LATEST).from_select(
            ["customer_id", "at"],
            select(k.customer_id, func.max(k.latest)).group_by(k.customer_id),
        )
    )


def _write(
    session: Session,
    job: ImportJob,
    file: str,
    new_reps: list[str],
    inserted: int,
    staged_stages: bool,
) -> None:
    s, k, r = STAGING.c, KEYS.c, REPS.c
    if not staged_stages:  # else import_followups set it already, for _stage_moves
        _steady_stages(session)
    if new_reps:
        at = to_db(job.now)
        insert_reps(
            session,
            [
                {"name": n, "role": Role.rep.value, "hired_at": at, "active": False}
                for n in new_reps
            ],
        )
        session.execute(
            update(REPS)
            .where(r.rep_id.is_(None))
            .values(rep_id=select(Rep.id).where(Rep.name == r.name).scalar_subquery())
        )
    if staged_stages:  # before the inserts, which read the trail it writes
        _write_stages(session, job.actor, file)
    with indexes_rebuilt(session.connection(), FollowUp.__table__, inserted):
        session.execute(
            insert(FollowUp.__table__).from_select(
                ["customer_id", "rep_id", "kind", "note", "at", "next_at", "stage"],
                select(
                    k.customer_id,
                    r.rep_id,
                    s.kind,
                    s.note,
                    s.at,
                    s.next_at,
                    func.coalesce(s.stage, k.steady_stage, followup_stage(k.customer_id, s.at)),
                )
                .select_from(
                    STAGING.join(KEYS, k.key == s.customer_key).join(REPS, r.name == s.rep)
                )
                .where(s.known.is_(None))
                .order_by(s.line),
            )
        )
    staging.move_contact(session, LATEST)


# --- the stage column ---------------------------------------------------------------


def _stage_moves(session: Session) -> tuple[int, int]:
    """Fill MOVES and NEWEST from the new follow-ups with a stage.

    A follow-up's stage moves the customer when it differs from the stage just before
    it: the customer's previous new follow-up's in the file (LAG over the customer's
    rows by time), unless the trail changes the stage between the two, else the
    trail's stage at that moment. Returns (stage changes, customers whose current
    stage becomes their newest follow-up's).
    """
    s, k, c = STAGING.c, KEYS.c, Customer.__table__.c
    joined = STAGING.join(KEYS, k.key == s.customer_key)
    new = and_(s.known.is_(None), s.stage.is_not(None))
    if session.execute(select(s.line).select_from(joined).where(new).limit(1)).first() is None:
        return 0, 0
    window = {"partition_by": k.customer_id, "order_by": (s.at, s.line)}
    rows = (
        select(
            s.line,
            k.customer_id,
            s.at,
            s.rep,
            s.kind,
            s.stage,
            k.steady_stage,
            func.lag(s.stage).over(**window).label("prev_stage"),
            func.lag(s.at).over(**window).label("prev_at"),
        )
        .select_from(joined)
        .where(new)
        .subquery()
    )
    w, e = rows.c, aliased(Event)
    # The trail's latest change at or before the row (only asked of customers it moved).
    changed_at = (
        select(func.max(e.at))
        .where(e.customer_id == w.customer_id, e.at <= w.at, changes_stage(e))
        .scalar_subquery()
    )
    now_stage = select(c.stage).where(c.id == w.customer_id).scalar_subquery()
    before = case(
        (and_(w.prev_at.is_not(None), w.steady_stage.is_not(None)), w.prev_stage),
        (w.steady_stage.is_not(None), w.steady_stage),
        (
            and_(w.prev_at.is_not(None), or_(changed_at.is_(None), w.prev_at >= changed_at)),
            w.prev_stage,
        ),
        else_=stage_at(w.customer_id, w.at, now_stage),
    )
    moved = select(
        w.line, w.customer_id, w.at, w.rep, w.kind, before.label("b"), w.stage
    ).subquery()
    session.execute(
        insert(MOVES).from_select(
            ["line", "customer_id", "at", "rep", "kind", "from_stage", "to_stage"],
            select(*moved.c).where(moved.c.b.is_distinct_from(moved.c.stage)),
        )
    )
    MOVES_INDEX.create(session.connection())
    ranked = (
        select(
            k.customer_id,
            s.at,
            s.stage,
            func.row_number()
            .over(partition_by=k.customer_id, order_by=(s.at.desc(), s.line.desc()))
            .label("n"),
        )
        .select_from(joined)
        .where(new)
        .subquery()
    )
    known_at = (
        select(func.max(e.at))
        .where(e.customer_id == ranked.c.customer_id, e.to_stage.is_not(None))
        .scalar_subquery()
    )
    session.execute(
        insert(NEWEST).from_select(
            ["customer_id", "at", "stage", "known_at"],
            select(ranked.c.customer_id, ranked.c.at, ranked.c.stage, known_at).where(
                ranked.c.n == 1
            ),
        )
    )
    changes = session.execute(select(func.count()).select_from(MOVES)).scalar_one()
    moving = session.execute(
        select(func.count()).select_from(NEWEST).join(Customer, _advancing())
    ).scalar_one()
    return changes, moving


# Built after MOVES is filled: the follow-up refill looks up each customer's first move.
MOVES_INDEX = Index("ix_followup_moves_customer", MOVES.c.customer_id, MOVES.c.at)


def _advancing():
    """SQL joining NEWEST to Customer: its newest follow-up is newer than any event that
    carried its stage (what the customer has), and says another stage."""
    n, c = NEWEST.c, Customer.__table__.c
    return and_(
        c.id == n.customer_id,
        or_(n.known_at.is_(None), n.at > n.known_at),
        c.stage != n.stage,
    )


def _write_stages(session: Session, actor: str, file: str) -> None:
    """The stage trail of the new follow-ups: their `stage_changed` events, the current
    stages they move, and the stored stages of the customers' follow-ups from then on."""
    m, r, n, k = MOVES.c, REPS.c, NEWEST.c, KEYS.c
    c, f = Customer.__table__.c, FollowUp.__table__.c
    name = Path(file).name
    session.execute(
        insert(Event).from_select(
            EVENT_INSERT_COLUMNS,
            select(
                m.customer_id,
                m.at,
                literal(EventKind.stage_changed.value),
                r.rep_id,
                r.rep_id,
                m.from_stage,
                m.to_stage,
                literal("logged ") + m.kind + literal(f" (import-followups {name})"),
                literal(actor),
            )
            .select_from(MOVES.join(REPS, r.name == m.rep))
            .order_by(m.at, m.line),
        )
    )
    session.execute(update(Customer.__table__).where(_advancing()).values(stage=n.stage))
    # A customer that keeps its stage (the book knew it later than the file's newest
    # follow-up) gets the change back to it at that moment, so the trail's latest change
    # is still its current stage.
    trail_stage = latest_stage(c.id, c.stage)
    session.execute(
        insert(Event).from_select(
            EVENT_INSERT_COLUMNS,
            select(
                c.id,
                n.known_at,
                literal(EventKind.stage_changed.value),
                c.owner_id,
                c.owner_id,
                trail_stage,
                c.stage,
                literal(f"the stage the book had (import-followups {name})"),
                literal(actor),
            )
            .select_from(NEWEST.join(Customer, c.id == n.customer_id))
            .where(
                n.known_at.is_not(None),
                exists().where(m.customer_id == n.customer_id),
                trail_stage != c.stage,
            ),
        )
    )
    first = select(func.min(m.at)).where(m.customer_id == f.customer_id).scalar_subquery()
    fill_followup_stages(
        session.connection(), and_(f.customer_id.in_(select(m.customer_id)), f.at >= first)
    )
    # Their stage-less rows read the trail just written, not the stage the customer had.
    session.execute(
        update(KEYS).where(k.customer_id.in_(select(n.customer_id))).values(steady_stage=None)
    )

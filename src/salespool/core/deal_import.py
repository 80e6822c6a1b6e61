"""Importing deal history from another CRM, all or nothing (or with rejects), in bulk.

Columns: `amount` and `at` (required); the customer by `external_id`, `phone`,
`email` or `name` (matched in that order, as `import` matches: normalized
phones, lower-case e-mails, NFKC names), or a `customer` column holding an
external_id or an exact name; optionally `channel`, `rep` and `deal_id`.
Chinese headers are aliases (客户名称, 客户编号, 成交金额, 成交日期, 渠道, 销售,
订单号, ...), and channel labels are read by CHANNEL_ALIASES.

Who is credited: the `rep` column (a rep the store knows; one who has left is
fine, it is history), else the owner the event trail gives for the deal's
moment (the commission rule, core/timeline.owner_at: before the trail starts,
the owner the customer was imported with), else the current owner; a customer
in the pool then and now needs the `rep` column.

Idempotent: a row whose `deal_id` is stored is unchanged, as is a row equal
(customer, time, amount, channel) to a stored deal without a deal_id; a
`deal_id` stored with other values is a bad row.

Effects, as `deal` has them, set-based: each customer's last_contact_at moves
forward to its newest imported deal; a `prospecting`/`negotiating` customer
becomes `won`, with its `stage_changed` event at the first imported deal later
than its latest stage event (an older deal leaves the stage as the trail
tells it), and its follow-ups from then on take the stage the trail now gives.

Rows stream into a temporary staging table in batches of tuples
(storage.bulk.stage_rows); matching, crediting, the checks and the writes are a
handful of statements over it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import BigInteger, Column, DateTime, Index, Integer, String, Table, Text
from sqlalchemy.orm import aliased
from sqlalchemy.sql import and_, cast, delete, exists, func, insert, literal, or_, select, update
from sqlmodel import Session

from salespool.core import importer, staging
from salespool.core.layout import Layout
from salespool.core.readers import FileError, shown
from salespool.core.rejects import Problems, raw_cells
from salespool.core.staging import BAD, ImportJob, Plan, Staging, staged, temp_table
from salespool.core.timeline import fill_followup_stages, owner_at
from salespool.core.trail import EVENT_INSERT_COLUMNS
from salespool.core.vocabulary import DEAL_ALIASES as ALIASES
from salespool.core.vocabulary import DEAL_COLUMNS as COLUMNS
from salespool.core.vocabulary import DEAL_CUSTOMER_KEYS
from salespool.errors import BadInput
from salespool.keys import email_key, phone_key, text_key
from salespool.models import (
    PRE_SALE_STAGES,
    Channel,
    Customer,
    Deal,
    Event,
    EventKind,
    FollowUp,
    Rep,
    Stage,
)
from salespool.money import parse_amount
from salespool.storage.bulk import indexes_rebuilt

KEY_FIELDS = ("customer", *DEAL_CUSTOMER_KEYS)
# Channel labels, as header_key-like text (trimmed, lower case): empty is direct.
CHANNEL_ALIASES: dict[str, str] = {
    **{c.value: c.value for c in Channel},
    **dict.fromkeys(["线上", "网店", "电商", "网上", "在线", "官网", "web"], Channel.online.value),
    **dict.fromkeys(["线下", "直销", "直接", "门店", "offline"], Channel.direct.value),
}
BATCH_ROWS = 10_000
NO_CUSTOMER = "a deal needs its customer (external_id, phone, email or name)"
BAD_CHANNEL = "unknown channel (use direct or online, or 线上/线下)"
MAX_CANDIDATES_SHOWN = 5

STAGING = temp_table(
    "deal_staging",
    Column("line", Integer, primary_key=True),
    Column("raw", Text),  # the cells, kept only for a rejects file
    Column("deal_id", String),
    Column("external_id", String),
    Column("ref", String),  # the `customer` column: an external_id or a name
    Column("phone", String),
    Column("email", String),
    Column("name", String),
    Column("phone_key", String),
    Column("email_key", String),
    Column("name_key", String),
    Column("amount_minor", BigInteger, nullable=False),
    Column("channel", String, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("rep", String),
    # Filled by the statements after staging:
    Column("customer_id", Integer),
    Column("match_by", String),
    Column("candidates", Integer),
    Column("rep_id", Integer),
    Column("known", Integer),  # 1: the deal is already stored
    Column("problem", String),
    Column("problem_field", String),
)
STAGED = [c.name for c in STAGING.columns][:15]
_s = STAGING.c
STAGING_INDEXES = [
    Index("ix_deal_staging_deal_id", _s.deal_id, _s.line),
    Index("ix_deal_staging_customer", _s.customer_id, _s.at),
]
# Customers a deal moves to `won`: at the first new deal after their latest stage event.
MOVES = temp_table(
    "deal_moves",
    Column("customer_id", Integer, primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("rep_id", Integer),
    Column("from_stage", String),
)
LATEST = temp_table(
    "deal_latest",
    Column("customer_id", Integer, primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False),
)


def _has_customer_column(file: str, lay: Layout) -> None:
    if not any(k in lay.positions for k in KEY_FIELDS):
        raise FileError(
            file,
            "no customer column in the header (external_id, phone, email, name or customer)",
            line=1,
        )


PLAN = Plan(
    columns=COLUMNS,
    aliases=ALIASES,
    required=("amount", "at"),
    staging=STAGING,
    staged=STAGED,
    tables=(MOVES, LATEST),
    batch_rows=BATCH_ROWS,
    lock="import-deals",  # two runs of one file at once would both find its deals new
    check=_has_customer_column,
)


@dataclass
class DealImportResult:
    file: str
    dry_run: bool
    inserted: int = 0
    unchanged: int = 0  # already stored (same deal_id, or an equal deal)
    rejected: int = 0
    customers: int = 0  # customers the new deals are for
    contact_moved: int = 0  # customers whose last_contact_at moved forward
    won: int = 0  # customers moved to `won`
    format: str = "csv"
    encoding: str | None = None
    sheet: str | None = None
    ignored_columns: list[str] = field(default_factory=list)
    rejects_file: str | None = None
    # --dry-run with --rejects: the rows that would be rejected, {"line", "reason"}
    rejects: list[dict] = field(default_factory=list)


def channel_of(text: str | None) -> str | None:
    """A channel from its label (线上 -> online, 直销 -> direct); empty: direct; unknown: None."""
    if text is None:
        return Channel.direct.value
    return CHANNEL_ALIASES.get(text.strip().lower())


def import_deals(
    session: Session,
    *,
    job: ImportJob,
    region: str = "CN",
) -> DealImportResult:
    """Import deal history from the job's file: any bad row refuses it, unless `rejects`.

    The job's `rejects`: import the good rows and write the bad ones, with line and reason, to
    this CSV; with `dry_run` nothing is written, the bad rows are listed instead.
    """
    with staged(session, PLAN, job, lambda run: _rows(run, job, region)) as run:
        result = DealImportResult(**run.facts(job))
        for index in STAGING_INDEXES:
            index.create(run.conn)
        _check(session, run.lay.labels, run.problems)
        result.unchanged = _mark_known(session)
        result.inserted = _count(session, STAGING) - result.unchanged
        _latest(session)
        result.customers = _count(session, LATEST)
        result.contact_moved = staging.contact_moves(session, LATEST)
        result.won = _moves(session)
        staging.settle_rejects(run, job, result, listed=False)
        if not job.dry_run:
            _write(session, job.actor, run.file, result.inserted)
    return result


def _rows(run: Staging, job: ImportJob, region: str) -> Iterator[tuple]:
    """Validate each record into a staging tuple (STAGED order); bad ones go to the problems.

    Runs once per row of files with millions: fields by position, channels through
    a small table, times through the ISO fast path.
    """
    problems, labels = run.problems, run.lay.labels
    keep_raw = problems.keep
    read = run.lay.reader(COLUMNS, run.source.unquote)
    dates = run.dates(job.now, job.tz)
    amount_of = _amount_reader(problems, labels)
    for line, cells in run.records():
        deal_id, ref, external_id, phone, email, name, amount_text, channel_text, at_text, rep = (
            read(cells)
        )
        if not (external_id or ref or phone or email or name):
            problems.add(line, None, None, NO_CUSTOMER, cells)
            continue
        amount = amount_of(line, cells, amount_text)
        if amount is None:
            continue
        channel = channel_of(channel_text)
        if channel is None:
            problems.add(line, labels["channel"], channel_text, BAD_CHANNEL, cells)
            continue
        if at_text is None:
            problems.add(line, labels["at"], "", "a deal needs its date", cells)
            continue
        at = dates.read(line, cells, "at", at_text)
        if at is BAD:
            continue
        yield (
            line,
            raw_cells(cells) if keep_raw else None,
            deal_id,
            external_id,
            ref,
            phone,
            email,
            name,
            phone_key(phone, region),
            email_key(email),
            # A `customer` cell that is not an external_id may be a name.
            text_key(name if name is not None else ref),
            amount,
            channel,
            at,
            rep,
        )


def _amount_reader(
    problems: Problems, labels: dict[str, str]
) -> Callable[[int, list[str | None], str | None], int | None]:
    """A row's amount in minor units, or None with the row's problem added."""
    what = f"column '{shown(labels['amount'])}'"

    def amount_of(line: int, cells: list[str | None], text: str | None) -> int | None:
        if text is None:
            problems.add(line, labels["amount"], "", "a deal needs its amount", cells)
            return None
        try:
            return parse_amount(text, what)
        except BadInput as exc:
            problems.add(line, None, None, str(exc), cells)
            return None

    return amount_of


def _count(session: Session, table: Table) -> int:
    return session.execute(select(func.count()).select_from(table)).scalar_one()


def _any(session: Session, query) -> bool:
    return session.execute(query.limit(1)).first() is not None


def _fill(session: Session, where, **values) -> None:
    """Set `values` on the staged rows `where` picks, if a check stopping at one finds any."""
    if _any(session, select(_s.line).where(where)):
        session.execute(update(STAGING).where(where).values(**values))


def _flag(session: Session, where, column: str, why) -> bool:
    """Mark rows as bad (`column`: the field at fault); whether any row was marked."""
    marked = session.execute(
        update(STAGING)
        .where(_s.problem.is_(None), where)
        .values(problem=why, problem_field=literal(column))
    )
    return marked.rowcount != 0


def _check(session: Session, labels: dict[str, str], problems: Problems) -> None:
    """Match customers and reps, and refuse (or keep as rejects) the rows that fail."""
    _match(session)
    if _flag(session, _s.customer_id.is_(None), "customer", literal("no such customer")):
        _take(session, labels, problems)
    if _any(session, select(_s.line).where(_s.candidates > 1)):
        _ambiguous(session, labels, problems)
    _credit(session)
    if _flag(
        session,
        and_(_s.rep.is_not(None), _s.rep_id.is_(None)),
        "rep",
        literal("no rep has this name (see `salespool rep list`)"),
    ):
        _take(session, labels, problems)
    if _flag(
        session,
        _s.rep_id.is_(None),
        "customer",
        literal("the customer was in the pool then and is now: name the rep in a 'rep' column"),
    ):
        _take(session, labels, problems)
    other = STAGING.alias("other")
    first = (
        select(func.min(other.c.line))
        .where(other.c.deal_id == _s.deal_id, other.c.line < _s.line)
        .scalar_subquery()
    )
    twice = select(_s.deal_id).where(_s.deal_id.is_not(None)).group_by(_s.deal_id)
    if _any(session, twice.having(func.count() > 1)) and _flag(
        session,
        and_(_s.deal_id.is_not(None), first.is_not(None)),
        "deal_id",
        literal("same deal_id as line ") + cast(first, String),
    ):
        _take(session, labels, problems)
    d = Deal.__table__.c
    stored = and_(d.external_id == _s.deal_id)
    differs = or_(
        d.customer_id != _s.customer_id,
        d.amount_minor != _s.amount_minor,
        d.channel != _s.channel,
        d.at != _s.at,
    )
    if _any(session, select(d.id).where(d.external_id.is_not(None))) and _flag(
        session,
        and_(_s.deal_id.is_not(None), select(d.id).where(stored, differs).exists()),
        "deal_id",
        literal(
            "a deal with this deal_id is stored with another customer, amount, channel or time"
        ),
    ):
        _take(session, labels, problems)


def _match(session: Session) -> None:
    """Each row's customer: external_id, else `customer` as an external_id, else the keys."""
    c = Customer.__table__.c
    _fill(
        session,
        _s.external_id.is_not(None),
        customer_id=select(c.id).where(c.external_id == _s.external_id).scalar_subquery(),
        match_by=literal("external_id"),
    )
    _fill(
        session,
        and_(_s.ref.is_not(None), _s.customer_id.is_(None)),
        customer_id=select(c.id).where(c.external_id == _s.ref).scalar_subquery(),
        match_by=literal("customer"),
    )
    for key, _name in importer.MATCH_KEYS:
        # A row whose external_id the book does not know only takes a customer without one.
        where = and_(c[key] == _s[key], or_(_s.external_id.is_(None), c.external_id.is_(None)))
        pending = and_(_s.customer_id.is_(None), _s[key].is_not(None))
        if not _any(session, select(_s.line).where(pending)):
            continue
        session.execute(
            update(STAGING)
            .where(pending, select(c.id).where(where).exists())
            .values(
                customer_id=select(func.min(c.id)).where(where).scalar_subquery(),
                candidates=select(func.count()).where(where).scalar_subquery(),
                match_by=literal(key),
            )
        )


def _ambiguous(session: Session, labels: dict[str, str], problems: Problems) -> None:
    """Refuse (or reject) rows whose key fits several customers, naming their ids."""
    c = Customer.__table__.c
    rows = session.execute(
        select(
            _s.line,
            _s.match_by,
            _s.raw,
            _s.external_id,
            _s.phone,
            _s.email,
            _s.name,
            _s.ref,
            _s.phone_key,
            _s.email_key,
            _s.name_key,
        )
        .where(_s.candidates > 1)
        .order_by(_s.line)
        .limit(None if problems.keep else 1)
    ).all()
    for line, key, raw, external_id, phone, email, name, ref, *keys in rows:
        typed = {"phone_key": ("phone", phone), "email_key": ("email", email)}
        column, value = typed.get(key) or (("name", name) if name else ("customer", ref))
        wanted = dict(zip(("phone_key", "email_key", "name_key"), keys, strict=True))[key]
        query = select(c.id).where(c[key] == wanted)
        if external_id is not None:  # as _match: only customers without an external_id
            query = query.where(c.external_id.is_(None))
        ids = session.execute(query.order_by(c.id).limit(MAX_CANDIDATES_SHOWN + 1)).scalars()
        listed = [f"#{i}" for i in ids]
        more = ", ..." if len(listed) > MAX_CANDIDATES_SHOWN else ""
        why = (
            f"matches several customers ({', '.join(listed[:MAX_CANDIDATES_SHOWN])}{more}); "
            "add an external_id column to tell them apart"
        )
        problems.add(line, labels.get(column, column), value, why, raw)
    problems.flush()
    session.execute(delete(STAGING).where(_s.candidates > 1))


def _take(session: Session, labels: dict[str, str], problems: Problems) -> None:
    """Refuse the first flagged row, or move every flagged row to the rejects."""
    flagged = (
        select(
            _s.line,
            _s.problem_field,
            _s.problem,
            _s.raw,
            _s.match_by,
            _s.external_id,
            _s.ref,
            _s.phone,
            _s.email,
            _s.name,
            _s.rep,
            _s.deal_id,
        )
        .where(_s.problem.is_not(None))
        .order_by(_s.line)
    )
    if not problems.keep:
        flagged = flagged.limit(1)
    for (
        line,
        column,
        why,
        raw,
        _by,
        external_id,
        ref,
        phone,
        email,
        name,
        rep,
        deal_id,
    ) in session.execute(flagged).all():
        if column == "customer":
            # Name the first customer column the row filled in, as the file spells it.
            column, value = next(
                (k, v)
                for k, v in (
                    ("external_id", external_id),
                    ("customer", ref),
                    ("phone", phone),
                    ("email", email),
                    ("name", name),
                )
                if v is not None
            )
        else:
            value = {"rep": rep, "deal_id": deal_id}[column]
        problems.add(line, labels.get(column, column), value, why, raw)
    problems.flush()
    session.execute(delete(STAGING).where(_s.problem.is_not(None)))


def _credit(session: Session) -> None:
    """Each row's rep: the `rep` column, else the owner then (the trail), else the owner now."""
    r = Rep.__table__.c
    named = select(r.id).where(r.name == _s.rep).scalar_subquery()
    _fill(session, _s.rep.is_not(None), rep_id=named)
    now_owner = aliased(Customer)
    current = select(now_owner.owner_id).where(now_owner.id == _s.customer_id).scalar_subquery()
    session.execute(
        update(STAGING)
        .where(_s.rep.is_(None))
        .values(rep_id=func.coalesce(owner_at(_s.customer_id, _s.at, current), current))
    )


def _mark_known(session: Session) -> int:
    """Flag rows already stored: the same deal_id, or (without one) an equal deal.

    Returns how many rows were flagged; nothing is looked up on a book without deals
    for these customers.
    """
    d = Deal.__table__.c
    has_deals = session.execute(
        select(literal(1)).where(exists().where(d.customer_id == _s.customer_id)).limit(1)
    ).first()
    if has_deals is None:
        return 0
    by_id = select(d.id).where(d.external_id == _s.deal_id).exists()
    same = (
        d.customer_id == _s.customer_id,
        d.at == _s.at,
        d.amount_minor == _s.amount_minor,
        d.channel == _s.channel,
    )
    equal = select(d.id).where(*same, d.external_id.is_(None)).exists()
    equal_any = select(d.id).where(*same).exists()
    known = or_(
        and_(_s.deal_id.is_not(None), or_(by_id, equal)),
        and_(_s.deal_id.is_(None), equal_any),
    )
    return session.execute(update(STAGING).where(known).values(known=1)).rowcount


def _new():
    """Staged rows to be inserted."""
    return _s.known.is_(None)


def _latest(session: Session) -> None:
    session.execute(
        insert(LATEST).from_select(
            ["customer_id", "at"],
            select(_s.customer_id, func.max(_s.at)).where(_new()).group_by(_s.customer_id),
        )
    )


def _moves(session: Session) -> int:
    """Fill MOVES: pre-sale customers and the first new deal after their latest stage event.

    Returns how many customers move to `won`.
    """
    c, e, m = Customer.__table__.c, Event.__table__.c, MOVES.c
    pre_sale = [s.value for s in PRE_SALE_STAGES]
    if not _any(
        session,
        select(LATEST.c.customer_id)
        .join(Customer, c.id == LATEST.c.customer_id)
        .where(c.stage.in_(pre_sale)),
    ):
        return 0
    latest_stage = (
        select(func.max(e.at))
        .where(e.customer_id == _s.customer_id, e.to_stage.is_not(None))
        .scalar_subquery()
    )
    session.execute(
        insert(MOVES).from_select(
            ["customer_id", "at", "from_stage"],
            select(_s.customer_id, func.min(_s.at), func.min(c.stage))
            .join(Customer, c.id == _s.customer_id)
            .where(
                _new(),
                c.stage.in_(pre_sale),
                or_(latest_stage.is_(None), _s.at > latest_stage),
            )
            .group_by(_s.customer_id),
        )
    )
    first = (
        select(_s.rep_id)
        .where(_s.customer_id == m.customer_id, _s.at == m.at, _new())
        .order_by(_s.line)
        .limit(1)
        .scalar_subquery()
    )
    session.execute(update(MOVES).values(rep_id=first))
    return _count(session, MOVES)


def _write(session: Session, actor: str, file: str, inserted: int) -> None:
    c, m, f = Customer.__table__.c, MOVES.c, FollowUp.__table__.c
    conn = session.connection()
    with indexes_rebuilt(conn, Deal.__table__, inserted):
        session.execute(
            insert(Deal.__table__).from_select(
                ["customer_id", "rep_id", "amount_minor", "channel", "at", "external_id"],
                select(_s.customer_id, _s.rep_id, _s.amount_minor, _s.channel, _s.at, _s.deal_id)
                .where(_new())
                .order_by(_s.line),
            )
        )
    staging.move_contact(session, LATEST)
    if not _any(session, select(m.customer_id)):
        return
    session.execute(
        insert(Event).from_select(
            EVENT_INSERT_COLUMNS,
            select(
                m.customer_id,
                m.at,
                literal(EventKind.stage_changed.value),
                m.rep_id,
                m.rep_id,
                m.from_stage,
                literal(Stage.won.value),
                literal(f"deal (import-deals {Path(file).name})"),
                literal(actor),
            ).order_by(m.at, m.customer_id),
        )
    )
    session.execute(
        update(Customer.__table__)
        .where(c.id.in_(select(m.customer_id)))
        .values(stage=Stage.won.value)
    )
    fill_followup_stages(
        conn,
        select(m.customer_id).where(m.customer_id == f.customer_id, f.at >= m.at).exists(),
    )

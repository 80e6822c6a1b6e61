"""Importing customers from CSV, XLSX or JSON Lines, all or nothing, in bulk.

Rows are read by `readers` (formats, encodings, hostile files), validated as
they stream in, and staged by the imports' shared skeleton (`staging`: batches of
plain tuples into a temporary table inside the caller's write transaction).
Everything after that is a handful of set-based statements over the staging table:

1. duplicates inside the file (same external_id; else, unless both rows carry
   different external_ids, the same phone, e-mail or name key);
2. matching each row to an existing customer: by external_id, else by
   normalized phone, else e-mail, else name (the indexed customer.*_key
   columns). A row with an external_id the store does not know falls back only
   to customers without one, and then gives them its external_id;
3. refusals that depend on the match (ambiguous keys, two rows for one
   customer, `--on-duplicate error`, an owner who has left);
4. the writes: new reps, detail updates, inserts, and their events (on SQLite,
   an insert at least as big as the table builds its indexes once, after).

Each step writes only the rows it marks, and a step that cannot mark any (no
two rows share a key, an empty book, no rep has left) is skipped after a check
that stops at the first candidate: a million-row staging table is never
rewritten just to learn that nothing applies.

A bad row raises before anything is committed, so the store is left as it was;
with a rejects file, bad rows are written there instead and the rest imported.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import Column, DateTime, Index, Integer, String, Text
from sqlalchemy.sql import (
    and_,
    case,
    cast,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    true,
    update,
)
from sqlmodel import Session

from salespool.clock import to_db
from salespool.core import staging
from salespool.core.customers import ID_FORM
from salespool.core.limits import NO_LIMITS, ClaimRules, lock_reps, owned_counts
from salespool.core.readers import RowError
from salespool.core.rejects import Problems, raw_cells
from salespool.core.reps import insert_reps
from salespool.core.routing import route_customers
from salespool.core.staging import BAD, Dates, ImportJob, Plan, Staging, staged, temp_table
from salespool.core.trail import EVENT_INSERT_COLUMNS
from salespool.core.vocabulary import CUSTOMER_ALIASES as ALIASES
from salespool.core.vocabulary import CUSTOMER_COLUMNS as COLUMNS
from salespool.core.vocabulary import CUSTOMER_FILE_COLUMNS, OnDuplicate
from salespool.errors import Refused
from salespool.keys import email_key, phone_key, text_key
from salespool.models import (
    Customer,
    CustomerAlias,
    Event,
    EventKind,
    Rep,
    Role,
    Stage,
    parse_stage,
)
from salespool.storage.bulk import indexes_rebuilt

__all__ = ["ALIASES", "COLUMNS", "ImportResult", "OnDuplicate", "RowError", "import_customers"]

DATE_COLUMNS = ("created_at", "owned_since", "last_contact_at")
# Details an import may change on a customer that already exists. Owner, stage and
# dates move only through claim/assign/log/recycle, which leave a trail.
DETAIL_COLUMNS = ("name", "contact", "phone", "email", "city", "level")
KEY_COLUMNS = ("name_key", "phone_key", "email_key")
# The staging columns _staged_rows fills, in the order of its tuples.
STAGED = (
    "line",
    "raw",
    "external_id",
    *DETAIL_COLUMNS,
    "owner",
    "stage",
    *DATE_COLUMNS,
    *KEY_COLUMNS,
    "referred_by",
    "ref_kind",
    "ref_id",
)
# _staged_rows yields the cells it reads in CUSTOMER_FILE_COLUMNS order as they come.
assert STAGED[2:10] == CUSTOMER_FILE_COLUMNS[:8]
# The order rows are matched in: external_id first, then the normalized keys.
MATCH_KEYS = (("phone_key", "phone"), ("email_key", "email"), ("name_key", "name"))
BATCH_ROWS = 5000
MAX_REPORTED_DUPLICATES = 1000
# Lines of phones_not_matchable listed in the result (by line); its count has them all.
MAX_REPORTED_PHONES = 100
BAD_STAGE = "unknown stage (use " + ", ".join(s.value for s in Stage) + ")"

STAGING = temp_table(
    "import_staging",
    Column("line", Integer, primary_key=True),
    Column("customer_id", Integer),
    Column("match_by", String),
    Column("candidates", Integer),
    Column("dup_of", Integer),
    Column("dup_key", String),
    Column("problem", String),
    Column("problem_field", String),
    Column("raw", Text),
    Column("external_id", String),
    Column("name", String, nullable=False),
    Column("contact", String),
    Column("phone", String),
    Column("email", String),
    Column("city", String),
    Column("level", String),
    Column("owner", String),
    Column("stage", String, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("owned_since", DateTime(timezone=True)),
    Column("last_contact_at", DateTime(timezone=True)),
    Column("name_key", String),
    Column("phone_key", String),
    Column("email_key", String),
    # Who referred the customer (another customer, of the store or the file), as typed;
    # how it reads (`#ID` form: "hash", a bare number: "number") and that number; then
    # what it resolved to: a stored customer or a line of the file (_resolve_referrers).
    Column("referred_by", String),
    Column("ref_kind", String),
    Column("ref_id", Integer),
    Column("referrer_id", Integer),
    Column("referrer_line", Integer),
    Column("ref_candidates", Integer),
)
_s = STAGING.c
PLAN = Plan(
    columns=COLUMNS,
    aliases=ALIASES,
    required=("name",),
    staging=STAGING,
    staged=STAGED,
    batch_rows=BATCH_ROWS,
    # One import at a time: _write finds the new customers by id > the max id before
    # it, which a concurrent import's committed rows would break (PostgreSQL).
    lock="import",
)
# Built after the rows are in: cheaper than keeping them up to date on every insert.
STAGING_INDEXES = [
    Index("ix_import_staging_external_id", _s.external_id, _s.line),
    Index("ix_import_staging_customer", _s.customer_id, _s.line),
]
# Per match key, built only when the file has rows without an external_id (else no
# two rows can be duplicates by that key): (key, external_id, line) finds duplicates
# and the earlier rows without an external_id; (key, line) only when there are some.
KEY_INDEXES = {
    k: (
        Index(f"ix_import_staging_{k}_ext", _s[k], _s.external_id, _s.line),
        Index(f"ix_import_staging_{k}", _s[k], _s.line),
    )
    for k, _f in MATCH_KEYS
}


@dataclass
class ImportResult:
    file: str
    dry_run: bool
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    skipped: int = 0
    format: str = "csv"
    encoding: str | None = None
    sheet: str | None = None
    owners_taken: int = 0
    reps_created: list[str] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    # duplicates inside the file that were skipped: {"line", "first_line", "key", "value"}
    duplicates: list[dict] = field(default_factory=list)
    rejects_file: str | None = None  # the file written (never on a dry run)
    # with --rejects: {"line", "reason"} of the first REPORTED_REJECTS bad rows by line
    # (`rejected` counts them all); on a dry run this is the only place they show.
    rejects: list[dict] = field(default_factory=list)
    # phones stored as typed but not a match key (not a valid number): how many, and
    # the first MAX_REPORTED_PHONES of their lines
    phones_not_matchable: dict = field(default_factory=lambda: {"count": 0, "lines": []})


def import_customers(
    session: Session,
    *,
    job: ImportJob,
    region: str = "CN",
    on_duplicate: OnDuplicate | str = OnDuplicate.update,
    take_owner: bool = False,
    rules: ClaimRules = NO_LIMITS,
) -> ImportResult:
    """Import customers from the job's file; counts what was inserted, updated and unchanged.

    The job's `rejects`: import the good rows and write the bad ones, with line and
    reason, to this CSV file (on a dry run only listed in the result); without it any
    bad row refuses the whole file. `rules` give the capacities `take_owner` must respect.
    """
    policy = OnDuplicate(on_duplicate)
    with staged(session, PLAN, job, lambda run: _staged_rows(run, job, region)) as run:
        result = ImportResult(**run.facts(job))
        for index in STAGING_INDEXES:
            index.create(run.conn)
        _merge(
            session, job.now, job.actor, result, run.lay.labels, run.problems, policy, take_owner
        )
        if take_owner:
            _check_capacity(session, run.file, rules)
        _phones_not_matchable(session, result)
        staging.settle_rejects(run, job, result)
        if not job.dry_run:
            _write(session, job.now, job.actor, run.file, result, take_owner)
    return result


def _staged_rows(run: Staging, job: ImportJob, region: str) -> Iterator[tuple]:
    """Validate each record into a staging tuple (STAGED order); bad ones go to the problems.

    This loop runs once per row of files with millions: fields are read by position
    (in CUSTOMER_FILE_COLUMNS order, which STAGED follows), and stages and dates go
    through a small cache or the ISO fast path.
    """
    problems, labels = run.problems, run.lay.labels
    dates = run.dates(job.now, job.tz)
    keep_raw = problems.keep
    read = run.lay.reader(CUSTOMER_FILE_COLUMNS, run.source.unquote)
    stage_of = _stage_reader()
    for line, cells in run.records():
        values = read(cells)
        name, stage_text = values[1], values[8]
        if name is None:
            problems.add(line, labels.get("name", "name"), "", "a customer needs a name", cells)
            continue
        stage = stage_of(stage_text)
        if stage is None:
            problems.add(line, labels.get("stage", "stage"), stage_text, BAD_STAGE, cells)
            continue
        moments = _dated(dates, line, cells, values[9:12])
        if moments is None:
            continue
        created_at, owned_since, last_contact_at = moments
        created_at = created_at or dates.now
        yield (
            line,
            raw_cells(cells) if keep_raw else None,
            *values[:8],  # external_id, the details, owner
            stage,
            created_at,
            # Never make a customer look idle without evidence: the clock starts
            # at owned_since, else created_at, else now.
            (owned_since or created_at) if values[7] else None,
            last_contact_at,
            text_key(name),
            phone_key(values[3], region),
            email_key(values[4]),
            *_referrer(values[12]),
        )


def _referrer(text: str | None) -> tuple[str | None, str | None, int | None]:
    """A referred_by cell as staged: the text, how it reads (`#12`/`id:12`: "hash", a bare
    number: "number", which may also be an external_id) and its number."""
    if text is None:
        return None, None, None
    id_form = ID_FORM.fullmatch(unicodedata.normalize("NFKC", text))
    if id_form:
        return text, "hash", int(id_form[1])
    if text.isascii() and text.isdigit() and len(text) < 19:
        return text, "number", int(text)
    return text, None, None


def _stage_reader() -> Callable[[str | None], str | None]:
    """A stage cell's stage (empty: prospecting), None for no stage; cached by text."""
    stages: dict[str, str | None] = {}

    def stage_of(text: str | None) -> str | None:
        if text is None:
            return Stage.prospecting.value
        stage = stages.get(text, "")
        if stage == "":
            try:
                stage = parse_stage(text).value
            except ValueError:
                stage = None
            if len(stages) < 10_000:  # a file of made-up stages: keep the cache small
                stages[text] = stage
        return stage

    return stage_of


def _dated(
    dates: Dates, line: int, cells: list[str | None], texts: list[str | None]
) -> list[object] | None:
    """The DATE_COLUMNS cells as staged times; None once one is a problem.

    A future last contact makes idle_days negative and the customer is never
    recycled; a future created_at/owned_since is as wrong.
    """
    moments: list[object] = []
    for key, text in zip(DATE_COLUMNS, texts, strict=True):
        moment = None if text is None else dates.read(line, cells, key, text)
        if moment is BAD:
            return None
        moments.append(moment)
    return moments


def _merge(
    session: Session,
    now: datetime,
    actor: str,
    result: ImportResult,
    labels: dict[str, str],
    problems: Problems,
    policy: OnDuplicate,
    take_owner: bool,
) -> None:
    """Steps 1-3 of the module docstring, then the counts; writes nothing to the book."""
    s, c = STAGING.c, Customer.__table__.c
    # Each _flag is a pass over the staging table that usually flags nothing, and
    # then there is nothing to take: the cheap checks below skip whole steps.
    if _mark_file_duplicates(session):
        if policy is OnDuplicate.skip:
            _skip_file_duplicates(session, result, labels)
        elif _flag(
            session,
            s.dup_of.is_not(None),
            s.dup_key,
            literal("same ") + s.dup_key + literal(" as line ") + cast(s.dup_of, String),
        ):
            _take_problems(session, labels, problems)

    book_has_customers = _match(session)
    if book_has_customers and _flag(
        session,
        s.candidates > 1,
        s.match_by,
        literal("matches ")
        + cast(s.candidates, String)
        + literal(" customers; add an external_id column to tell them apart"),
    ):
        _take_problems(session, labels, problems)

    other = STAGING.alias("other")
    first = (
        select(other.c.line)
        .where(other.c.customer_id == s.customer_id, other.c.line < s.line)
        .order_by(other.c.line)
        .limit(1)
        .scalar_subquery()
    )
    if _flag(
        session,
        and_(s.customer_id.is_not(None), first.is_not(None)),
        s.match_by,
        literal("matches the same customer as line ") + cast(first, String),
    ):
        _take_problems(session, labels, problems)

    # A phone or an e-mail says where to reach a company, not which one it is: a row
    # matched by one but named as another company is refused, never a rename (names
    # change by external_id or `customer edit`).
    by_contact = s.match_by.in_(("phone_key", "email_key"))
    stored = select(c.name_key).where(c.id == s.customer_id).scalar_subquery()
    stored_name = select(c.name).where(c.id == s.customer_id).scalar_subquery()
    if book_has_customers and _flag(
        session,
        and_(by_contact, s.customer_id.is_not(None), s.name_key.is_distinct_from(stored)),
        s.match_by,
        literal("same ")
        + case((s.match_by == "phone_key", literal("phone")), else_=literal("e-mail"))
        + literal(" as customer ")
        + cast(s.customer_id, String)
        + literal(" '")
        + stored_name
        + literal("', but this row's name is '")
        + s.name
        + literal("' (a name changes by external_id or `customer edit`)"),
    ):
        _take_problems(session, labels, problems)

    _check_referrers(session, labels, problems)

    matched = s.customer_id.is_not(None)
    if policy is OnDuplicate.error:
        if _flag(
            session,
            matched,
            s.match_by,
            literal("already in the book as customer ")
            + cast(s.customer_id, String)
            + literal(" (same ")
            + s.match_by
            + literal(")"),
        ):
            _take_problems(session, labels, problems)
    elif policy is OnDuplicate.skip:
        result.skipped += session.execute(delete(STAGING).where(matched)).rowcount

    # An owner is applied to new customers, and with --take-owner to matched ones.
    applied = literal(True) if take_owner else ~matched
    gone = select(Rep.id).where(Rep.name == s.owner, Rep.left_at.is_not(None)).exists()
    someone_left = _any(session, select(Rep.id).where(Rep.left_at.is_not(None)))
    if someone_left and _flag(
        session,
        and_(s.owner.is_not(None), applied, gone),
        literal("owner"),
        literal("this rep has left"),
    ):
        _take_problems(session, labels, problems)

    changed = _changed()
    total = _count(session, select(func.count()).select_from(STAGING))
    result.inserted = _count(session, select(func.count()).select_from(STAGING).where(~matched))
    joined = STAGING.join(Customer, c.id == s.customer_id)
    result.updated = _count(
        session,
        select(func.count()).select_from(joined).where(or_(changed, _taking(take_owner))),
    )
    if take_owner:
        result.owners_taken = _count(
            session, select(func.count()).select_from(joined).where(_taking(True))
        )
    result.unchanged = total - result.inserted - result.updated
    result.reps_created = _new_owners(session, take_owner)


def _count(session: Session, query) -> int:
    return session.execute(query).scalar_one()


def _any(session: Session, query) -> bool:
    """Whether `query` has a row: a check that stops at the first one."""
    return session.execute(query.limit(1)).first() is not None


def _changed():
    """A matched row that would change the customer's details (or give it an external_id)."""
    s, c = STAGING.c, Customer.__table__.c
    return or_(
        *(and_(s[k].is_not(None), s[k].is_distinct_from(c[k])) for k in DETAIL_COLUMNS),
        and_(s.external_id.is_not(None), c.external_id.is_(None)),
        and_(s.referrer_id.is_not(None), s.referrer_id.is_distinct_from(c.referred_by_id)),
        s.referrer_line.is_not(None),  # a customer new in this file refers it
    )


def _taking(take_owner: bool):
    """A matched row whose owner column would change the customer's owner."""
    s, c = STAGING.c, Customer.__table__.c
    if not take_owner:
        return literal(False)
    same = select(Rep.id).where(Rep.name == s.owner, Rep.id == c.owner_id).exists()
    return and_(s.owner.is_not(None), ~same)


def _flag(session: Session, where, column, why) -> bool:
    """Mark rows as bad: `column` names the field at fault, `why` says what is wrong.

    Whether any row was marked: when none was, there is nothing to take.
    """
    s = STAGING.c
    marked = session.execute(
        update(STAGING).where(s.problem.is_(None), where).values(problem=why, problem_field=column)
    )
    return marked.rowcount != 0


def _take_problems(session: Session, labels: dict[str, str], problems: Problems) -> None:
    """Refuse the first flagged row, or move every flagged row to the rejects."""
    s = STAGING.c
    flagged = (
        select(
            s.line,
            s.problem_field,
            s.problem,
            s.external_id,
            s.name,
            s.phone,
            s.email,
            s.owner,
            s.raw,
            s.referred_by,
        )
        .where(s.problem.is_not(None))
        .order_by(s.line)
    )
    if not problems.keep:
        flagged = flagged.limit(1)
    any_flagged = False
    for (
        line,
        column,
        why,
        external_id,
        name,
        phone,
        email,
        owner,
        raw,
        referred_by,
    ) in session.execute(flagged):
        any_flagged = True
        key = column.removesuffix("_key")
        value = {
            "external_id": external_id,
            "name": name,
            "phone": phone,
            "email": email,
            "owner": owner,
            "referred_by": referred_by,
        }.get(key)
        problems.add(line, labels.get(key, key), value, why, raw)
    if any_flagged:
        problems.flush()
        session.execute(delete(STAGING).where(s.problem.is_not(None)))


def _mark_file_duplicates(session: Session) -> bool:
    """Set dup_of to the first earlier row that is the same customer, and dup_key to why.

    Whether any row is a duplicate. Each key's step runs only when a grouped scan of
    its index finds a candidate, and writes only the duplicate rows.
    """
    s = STAGING.c
    conn = session.connection()
    other = STAGING.alias("other")
    o = other.c
    found = False

    def mark(name: str, scope, *where) -> None:
        nonlocal found
        earlier = select(o.line).where(*where, o.line < s.line)
        marked = session.execute(
            update(STAGING)
            .where(s.dup_of.is_(None), scope, earlier.exists())
            .values(
                dup_of=earlier.order_by(o.line).limit(1).scalar_subquery(),
                dup_key=literal(name),
            )
        )
        found = found or marked.rowcount != 0

    twice = func.count() > 1
    ids = select(s.external_id).where(s.external_id.is_not(None)).group_by(s.external_id)
    if _any(session, ids.having(twice)):
        mark("external_id", s.external_id.is_not(None), o.external_id == s.external_id)
    if not _any(session, select(s.line).where(s.external_id.is_(None))):
        return found  # rows with two different external_ids are two customers
    for key, name in MATCH_KEYS:
        with_external, by_line = KEY_INDEXES[key]
        with_external.create(conn)
        # Two rows share the key and at least one has no external_id.
        candidate = (
            select(s[key])
            .where(s[key].is_not(None))
            .group_by(s[key])
            .having(twice, func.count(s.external_id) < func.count())
        )
        if not _any(session, candidate):
            continue
        by_line.create(conn)
        mark(name, and_(s[key].is_not(None), s.external_id.is_(None)), o[key] == s[key])
        mark(
            name,
            and_(s[key].is_not(None), s.external_id.is_not(None)),
            o[key] == s[key],
            o.external_id.is_(None),
        )
    return found


def _skip_file_duplicates(session: Session, result: ImportResult, labels: dict[str, str]) -> None:
    s = STAGING.c
    shown = session.execute(
        select(s.line, s.dup_of, s.dup_key, s.external_id, s.name, s.phone, s.email)
        .where(s.dup_of.is_not(None))
        .order_by(s.line)
        .limit(MAX_REPORTED_DUPLICATES)
    ).all()
    for line, first, key, external_id, name, phone, email in shown:
        value = {"external_id": external_id, "name": name, "phone": phone, "email": email}[key]
        result.duplicates.append(
            {"line": line, "first_line": first, "key": labels.get(key, key), "value": value}
        )
    result.skipped += session.execute(delete(STAGING).where(s.dup_of.is_not(None))).rowcount


def _match(session: Session) -> bool:
    """Find the existing customer for each row: by external_id, else phone, email, name.

    Whether the book has any customer to match (a first import has none). Each step
    writes only the rows it matches.
    """
    s, c = STAGING.c, Customer.__table__.c
    if not _any(session, select(c.id)):
        return False
    by_external = c.external_id == s.external_id
    session.execute(
        update(STAGING)
        .where(s.external_id.is_not(None), select(c.id).where(by_external).exists())
        .values(
            customer_id=select(c.id).where(by_external).scalar_subquery(),
            match_by=literal("external_id"),
        )
    )
    for key, _name in MATCH_KEYS:
        # A row with an unknown external_id only takes a customer that has none.
        where = and_(c[key] == s[key], or_(s.external_id.is_(None), c.external_id.is_(None)))
        session.execute(
            update(STAGING)
            .where(
                s.customer_id.is_(None),
                s.match_by.is_(None),
                s[key].is_not(None),
                select(c.id).where(where).exists(),
            )
            .values(
                customer_id=select(func.min(c.id)).where(where).scalar_subquery(),
                candidates=select(func.count()).where(where).scalar_subquery(),
                match_by=literal(key),
            )
        )
    return True


def _check_referrers(session: Session, labels: dict[str, str], problems: Problems) -> None:
    """Resolve the referred_by cells; refuse (or reject) the rows whose referrer is bad."""
    if _resolve_referrers(session):
        _take_problems(session, labels, problems)


def _resolve_referrers(session: Session) -> bool:
    """Resolve each referred_by to a stored customer or a row of the file, as a CUSTOMER
    argument reads: `#ID`; else an external_id (the store's, then the file's), a bare
    number as the id, an exact name (one customer of the store and the file's new ones).
    Whether any row was flagged: unknown, ambiguous, or the customer itself.

    A handful of UPDATEs over the staging table, skipped when no row has a referrer.
    """
    s, c = STAGING.c, Customer.__table__.c
    if not _any(session, select(s.line).where(s.referred_by.is_not(None))):
        return False
    o = STAGING.alias("referrer").c
    a = CustomerAlias.__table__.c
    open_ = and_(
        s.referred_by.is_not(None),
        s.problem.is_(None),
        s.referrer_id.is_(None),
        s.referrer_line.is_(None),
    )
    not_hash = s.ref_kind.is_distinct_from("hash")

    def to_book(where, found) -> None:
        session.execute(
            update(STAGING)
            .where(open_, where, found.exists())
            .values(referrer_id=found.limit(1).scalar_subquery())
        )

    def to_file(where, found) -> None:
        session.execute(
            update(STAGING)
            .where(open_, where, found.exists())
            .values(referrer_line=found.order_by(o.line).limit(1).scalar_subquery())
        )

    by_id = select(c.id).where(c.id == s.ref_id)
    merged = select(a.customer_id).where(a.id == s.ref_id)
    to_book(s.ref_kind == "hash", by_id)
    to_book(s.ref_kind == "hash", merged)  # an id merged away leads to the customer kept
    to_book(not_hash, select(c.id).where(c.external_id == s.referred_by))
    to_file(not_hash, select(o.line).where(o.external_id == s.referred_by))
    to_book(s.ref_kind == "number", by_id)
    book_named = select(c.id).where(c.name == s.referred_by)
    file_named = select(o.line).where(o.name == s.referred_by, o.customer_id.is_(None))
    session.execute(
        update(STAGING)
        .where(open_, not_hash)
        .values(
            ref_candidates=select(func.count(c.id)).where(c.name == s.referred_by).scalar_subquery()
            + select(func.count(o.line))
            .where(o.name == s.referred_by, o.customer_id.is_(None))
            .scalar_subquery()
        )
    )
    once = s.ref_candidates == 1
    to_book(once, book_named)
    to_file(once, file_named)
    # A file row that is a stored customer: refer to that customer.
    row_customer = select(o.customer_id).where(o.line == s.referrer_line)
    session.execute(
        update(STAGING)
        .where(s.referrer_line.is_not(None), row_customer.scalar_subquery().is_not(None))
        .values(referrer_id=row_customer.scalar_subquery(), referrer_line=None)
    )
    column = literal("referred_by")
    flagged = _flag(
        session,
        and_(open_, s.ref_candidates > 1),
        column,
        literal("matches ")
        + cast(s.ref_candidates, String)
        + literal(" customers of the store and the file; use an external_id or #ID"),
    )
    flagged |= _flag(
        session,
        open_,
        column,
        literal("no customer of this id, external_id or name in the store or the file"),
    )
    flagged |= _flag(
        session,
        or_(
            s.referrer_line == s.line,
            and_(s.referrer_id.is_not(None), s.referrer_id == s.customer_id),
        ),
        column,
        literal("a customer cannot refer itself"),
    )
    cyclic = _referral_cycles(session)
    if cyclic:
        flagged |= _flag(
            session,
            func.coalesce(s.customer_id, -s.line).in_(cyclic),
            column,
            literal("a referral cycle: this customer's referrer is referred, in the end, by it"),
        )
    return flagged


def _referral_cycles(session: Session) -> list[int]:
    """The rows whose referrer leads back to them (A by B, B by A; or longer), through the
    file's referrers and the stored ones the file does not replace; each row as its node:
    the stored customer's id, or minus the line of a new one.

    One recursive query walking up from the rows that refer; UNION ends it on any cycle.
    """
    s, c = STAGING.c, Customer.__table__.c
    refers = and_(
        s.problem.is_(None), or_(s.referrer_id.is_not(None), s.referrer_line.is_not(None))
    )
    if not _any(session, select(s.line).where(refers)):
        return []
    o = STAGING.alias("referrer").c
    target = func.coalesce(
        s.referrer_id,
        select(func.coalesce(o.customer_id, -o.line))
        .where(o.line == s.referrer_line)
        .scalar_subquery(),
    )
    replaced = select(s.customer_id).where(refers, s.customer_id.is_not(None))
    edges = (
        select(func.coalesce(s.customer_id, -s.line).label("src"), target.label("dst"))
        .where(refers)
        .union_all(
            select(c.id, c.referred_by_id).where(
                c.referred_by_id.is_not(None), c.id.not_in(replaced)
            )
        )
        .cte("edges")
    )
    walk = (
        select(edges.c.src.label("start"), edges.c.dst.label("node"))
        .where(edges.c.src.in_(select(func.coalesce(s.customer_id, -s.line)).where(refers)))
        .cte("walk", recursive=True)
    )
    walk = walk.union(select(walk.c.start, edges.c.dst).where(edges.c.src == walk.c.node))
    return list(
        session.execute(
            select(walk.c.start).where(walk.c.node == walk.c.start).distinct()
        ).scalars()
    )


def _write_referrers(session: Session, before: int) -> None:
    """Store each row's referrer, once the file's new customers have ids."""
    s, c = STAGING.c, Customer.__table__.c
    has_ref = or_(s.referrer_id.is_not(None), s.referrer_line.is_not(None))
    if not _any(session, select(s.line).where(has_ref)):
        return
    o = STAGING.alias("referrer").c
    # The new customers' ids, for the rows that refer or are referred to: a new row is
    # one customer by its external_id, else by its name key (file duplicates are refused).
    involved = or_(has_ref, s.line.in_(select(o.referrer_line).where(o.referrer_line.is_not(None))))
    same = or_(
        and_(s.external_id.is_not(None), c.external_id == s.external_id),
        and_(s.external_id.is_(None), c.external_id.is_(None), c.name_key == s.name_key),
    )
    session.execute(
        update(STAGING)
        .where(s.customer_id.is_(None), involved)
        .values(customer_id=select(c.id).where(c.id > before, same).limit(1).scalar_subquery())
    )
    referrer = func.coalesce(
        s.referrer_id, select(o.customer_id).where(o.line == s.referrer_line).scalar_subquery()
    )
    session.execute(
        update(Customer.__table__)
        .where(c.id.in_(select(s.customer_id).where(has_ref)))
        .values(
            referred_by_id=select(referrer)
            .where(s.customer_id == c.id, has_ref)
            .limit(1)
            .scalar_subquery()
        )
    )


def _new_owners(session: Session, take_owner: bool) -> list[str]:
    s = STAGING.c
    known = select(Rep.id).where(Rep.name == s.owner).exists()
    scope = literal(True) if take_owner else s.customer_id.is_(None)
    return list(
        session.execute(
            select(s.owner).where(scope, s.owner.is_not(None), ~known).distinct().order_by(s.owner)
        ).scalars()
    )


def _phones_not_matchable(session: Session, result: ImportResult) -> None:
    """Count the rows to be imported whose phone is kept but is no match key (phone_key)."""
    s = STAGING.c
    unkeyed = and_(s.phone.is_not(None), s.phone_key.is_(None))
    count = _count(session, select(func.count()).select_from(STAGING).where(unkeyed))
    lines: list[int] = []
    if count:
        lines = list(
            session.execute(
                select(s.line).where(unkeyed).order_by(s.line).limit(MAX_REPORTED_PHONES)
            ).scalars()
        )
    result.phones_not_matchable = {"count": count, "lines": lines}


def _check_capacity(session: Session, file: str, rules: ClaimRules) -> None:
    """--take-owner: refuse the file if a rep receiving matched customers would pass capacity.

    What the rep would own after the import: owned now, less the matched customers the
    file moves away from them, plus those it moves to them and the new ones it gives
    them. Counted per rep in one grouped pass over the staging table.
    """
    s, c = STAGING.c, Customer.__table__.c
    r = Rep.__table__.c
    takes = and_(s.customer_id.is_not(None), or_(r.id.is_(None), c.owner_id.is_distinct_from(r.id)))
    one = literal(1)
    incoming = session.execute(
        select(
            s.owner,
            func.sum(case((takes, one), else_=0)),
            func.sum(case((s.customer_id.is_(None), one), else_=0)),
        )
        .select_from(
            STAGING.outerjoin(Customer, c.id == s.customer_id).outerjoin(Rep, r.name == s.owner)
        )
        .where(s.owner.is_not(None))
        .group_by(s.owner)
        .having(func.sum(case((takes, one), else_=0)) > 0)
    ).all()
    if not incoming:
        return
    names = [name for name, _taken, _new in incoming]
    known = session.execute(select(Rep).where(Rep.name.in_(names))).scalars()
    reps = {rep.name: rep for rep in known}
    # A rep the import creates has the role rep, and that role's default capacity.
    receivers = [(reps.get(n) or Rep(name=n, role=Role.rep.value), t, w) for n, t, w in incoming]
    capped = [(rep, t, w) for rep, t, w in receivers if rules.capacity_of(rep) is not None]
    if not capped:
        return
    ids = [rep.id for rep, _t, _w in capped if rep.id is not None]
    lock_reps(session, rep_ids=ids)  # an assign running now must not fill them (PostgreSQL)
    owned = owned_counts(session, rep_ids=ids, stages=rules.capacity_stages)
    # Customers leaving a rep free room only if their stage counted (claims.capacity_counts);
    # the customers the file gives a rep count one each, whatever their stage.
    counted = true() if rules.capacity_stages is None else c.stage.in_(rules.capacity_stages)
    leaving: dict[int, int] = {}
    if ids:
        leaving.update(
            session.execute(
                select(c.owner_id, func.count())
                .select_from(
                    STAGING.join(Customer, c.id == s.customer_id).outerjoin(Rep, r.name == s.owner)
                )
                .where(s.owner.is_not(None), c.owner_id.in_(ids), takes, counted)
                .group_by(c.owner_id)
            ).all()
        )
    for rep, taken, new in sorted(capped, key=lambda item: item[0].name):
        after = owned.get(rep.id, 0) - leaving.get(rep.id, 0) + int(taken) + int(new)
        if after > rules.capacity_of(rep):  # type: ignore[operator]
            raise Refused(
                f"{file}: capacity: {rep.name} would own {after} of {rules.capacity_text(rep)}"
            )


def _write(
    session: Session, now: datetime, actor: str, file: str, result: ImportResult, take_owner: bool
) -> None:
    s, c = STAGING.c, Customer.__table__.c
    at = to_db(now)
    new_reps = result.reps_created
    if new_reps:
        rows = [{"name": n, "role": Role.rep.value, "hired_at": at} for n in new_reps]
        insert_reps(session, rows)
    session.execute(
        update(Customer.__table__)
        .where(c.id == s.customer_id, _changed())
        .values(
            {
                **{k: func.coalesce(s[k], c[k]) for k in (*DETAIL_COLUMNS, *KEY_COLUMNS)},
                "external_id": func.coalesce(c.external_id, s.external_id),
            }
        )
    )
    if take_owner:
        _take_owners(session, at, actor, file)
    before = session.execute(select(func.coalesce(func.max(c.id), 0))).scalar_one()
    columns = [
        "external_id",
        *DETAIL_COLUMNS,
        "stage",
        "owner_id",
        "owned_since",
        "last_contact_at",
        "pooled_at",
        "created_at",
        *KEY_COLUMNS,
    ]
    conn = session.connection()
    with indexes_rebuilt(conn, Customer.__table__, result.inserted):
        session.execute(
            insert(Customer.__table__).from_select(
                columns,
                select(
                    s.external_id,
                    *(s[k] for k in DETAIL_COLUMNS),
                    s.stage,
                    Rep.id,
                    s.owned_since,
                    s.last_contact_at,
                    case((Rep.id.is_(None), literal(at)), else_=None),
                    s.created_at,
                    *(s[k] for k in KEY_COLUMNS),
                )
                .select_from(STAGING.outerjoin(Rep, Rep.name == s.owner))
                .where(s.customer_id.is_(None))
                .order_by(s.line),
            )
        )
    # New customers with no owner wait in the pool their rule routes them to.
    route_customers(session, c.id > before)
    with indexes_rebuilt(conn, Event.__table__, result.inserted):
        session.execute(
            insert(Event).from_select(
                ["customer_id", "at", "kind", "to_rep_id", "to_stage", "reason", "actor"],
                select(
                    c.id,
                    literal(at),
                    literal(EventKind.imported.value),
                    c.owner_id,
                    c.stage,
                    literal(f"import {Path(file).name}"),
                    literal(actor),
                ).where(c.id > before),
            )
        )
    _write_referrers(session, before)


def _take_owners(session: Session, at: datetime, actor: str, file: str) -> None:
    """--take-owner: matched customers go to the file's owner, each with an `assigned` event."""
    s, c = STAGING.c, Customer.__table__.c
    moving = and_(c.id == s.customer_id, Rep.name == s.owner, c.owner_id.is_distinct_from(Rep.id))
    session.execute(
        insert(Event).from_select(
            EVENT_INSERT_COLUMNS,
            select(
                c.id,
                literal(at),
                literal(EventKind.assigned.value),
                c.owner_id,
                Rep.id,
                c.stage,
                c.stage,
                literal(f"import {Path(file).name} --take-owner"),
                literal(actor),
            ).where(moving),
        )
    )
    session.execute(
        update(Customer.__table__)
        .where(moving)
        .values(owner_id=Rep.id, owned_since=func.coalesce(s.owned_since, at), pooled_at=None)
    )

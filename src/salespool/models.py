"""The tables. Times are naive UTC; money is integer minor units (cents/分)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, Index, text
from sqlmodel import Field, SQLModel

# The domain's words live in terms.py; models exports them too.
from salespool.terms import (  # noqa: F401
    PRE_SALE_STAGES,
    STAGE_ALIASES,
    Channel,
    EventKind,
    FollowUpKind,
    RepEventKind,
    Role,
    Stage,
    parse_stage,
)

SCHEMA_VERSION = 11


class Meta(SQLModel, table=True):
    """Key/value facts about the store itself, such as its schema version."""

    key: str = Field(primary_key=True)
    value: str


class AppliedMigration(SQLModel, table=True):
    """A schema migration this store has had, by name (storage/migrations.py), and when."""

    __tablename__ = "migration"

    name: str = Field(primary_key=True)
    applied_at: datetime


class Rep(SQLModel, table=True):
    __table_args__ = (Index("ix_rep_login", "login", unique=True),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    role: str = Field(default=Role.rep.value)
    coach_id: int | None = Field(default=None, foreign_key="rep.id")
    capacity: int | None = None
    hired_at: datetime
    left_at: datetime | None = None
    # An inactive rep (on leave, suspended) keeps their book but receives nothing new.
    active: bool = Field(default=True)
    # The database login acting as this rep on a team store (PostgreSQL, `team setup`):
    # unique when given; by default the rep's name lower-cased (schema 10).
    login: str | None = None


class Customer(SQLModel, table=True):
    __table_args__ = (
        Index("ix_customer_owner_stage", "owner_id", "stage"),
        Index("ix_customer_pool", "pooled_at", "id"),
        # Only the customers waiting in a named pool: the report counts each pool's size.
        Index(
            "ix_customer_pool_id",
            "pool_id",
            sqlite_where=text("pool_id IS NOT NULL"),
            postgresql_where=text("pool_id IS NOT NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    external_id: str | None = Field(default=None, unique=True)
    name: str = Field(index=True)
    contact: str | None = None
    phone: str | None = None
    email: str | None = None
    city: str | None = None
    level: str | None = None
    stage: str = Field(default=Stage.prospecting.value)
    owner_id: int | None = Field(default=None, foreign_key="rep.id")
    # When the current owner got it (null in the pool): starts the idleness clock.
    owned_since: datetime | None = None
    last_contact_at: datetime | None = None
    # When it entered the pool (null when owned): assignment serves the oldest first.
    pooled_at: datetime | None = None
    created_at: datetime
    # Normalized forms used to match incoming rows (NFKC, trimmed, E.164 phones,
    # lower-case emails); the columns above keep what people typed, for display.
    name_key: str | None = Field(default=None, index=True)
    phone_key: str | None = Field(default=None, index=True)
    email_key: str | None = Field(default=None, index=True)
    # A locked customer is never recycled: set by `lock`, cleared by `unlock` or
    # when locked_until passes.
    locked_at: datetime | None = None
    locked_until: datetime | None = None
    lock_reason: str | None = None
    # The pool it waits in (null: the default pool; always null while owned), schema 6.
    pool_id: int | None = Field(default=None, foreign_key="pool.id")
    # The customer who referred this one (深耕: referrals count for the referrer's rep).
    referred_by_id: int | None = Field(default=None, foreign_key="customer.id", index=True)


class FollowUp(SQLModel, table=True):
    __tablename__ = "follow_up"
    __table_args__ = (
        # Covering, in the order a team report groups by (core/tally.py): its counts
        # read index entries only, in index order, with no sort.
        Index("ix_follow_up_rep_stage_kind_at", "rep_id", "stage", "kind", "at"),
        # With the kind: the idleness clock under recycle.clock_kinds reads the index alone.
        Index("ix_follow_up_customer_at", "customer_id", "at", "kind"),
    )

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id")
    rep_id: int = Field(foreign_key="rep.id")
    kind: str
    note: str | None = None
    at: datetime
    next_at: datetime | None = None
    # The customer's stage at `at`, as the event trail told when the follow-up was
    # written (core/timeline.py): what makes it hunting or farming (core/hunting.py).
    stage: str | None = None


class Deal(SQLModel, table=True):
    __table_args__ = (
        Index("ix_deal_rep_at", "rep_id", "at"),
        Index("ix_deal_external_id", "external_id", unique=True),
    )

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    rep_id: int = Field(foreign_key="rep.id")
    amount_minor: int = Field(sa_column=Column(BigInteger, nullable=False))
    channel: str = Field(default=Channel.direct.value)
    at: datetime
    # The deal's id in the file it was imported from (`import-deals`, column deal_id):
    # what makes a re-import idempotent.
    external_id: str | None = None
    # A voided deal stays, for the trail, but counts nowhere (`deal void`).
    voided_at: datetime | None = None
    void_reason: str | None = None


class Event(SQLModel, table=True):
    __table_args__ = (
        Index("ix_event_customer_at", "customer_id", "at"),
        # Covering for the report's counts by kind in a window (taken, lost, acquired).
        Index("ix_event_kind_at_reps", "kind", "at", "to_rep_id", "from_rep_id", "customer_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id")
    at: datetime
    kind: str
    from_rep_id: int | None = Field(default=None, foreign_key="rep.id")
    to_rep_id: int | None = Field(default=None, foreign_key="rep.id")
    from_stage: str | None = None
    to_stage: str | None = None
    reason: str | None = None
    actor: str | None = None
    # Old and new values of a correction (`customer edit`, `merge`, `deal void`), as JSON.
    detail: str | None = None
    # The pool a customer entered (recycled, released, rep_left, pool_moved) or left
    # (claimed, assigned), by name: null is the default pool (schema 6).
    pool: str | None = None


class CustomerAlias(SQLModel, table=True):
    """The id of a customer merged into another (`customer merge KEEP DROP`): DROP -> KEEP."""

    __tablename__ = "customer_alias"

    id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    customer_id: int = Field(foreign_key="customer.id", index=True)
    merged_at: datetime


class RepEvent(SQLModel, table=True):
    """The trail of changes to a rep that no customer carries (`rep rename`, `import-reps`)."""

    __tablename__ = "rep_event"

    id: int | None = Field(default=None, primary_key=True)
    rep_id: int = Field(foreign_key="rep.id", index=True)
    at: datetime
    kind: str
    detail: str | None = None
    actor: str | None = None


class Pool(SQLModel, table=True):
    """A named pool besides the default one (`pool add`): who routes to it, who claims from
    it, who moves its customers, and its own recycling thresholds and claim limits."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    # Routing is by `position`: a customer goes to the first pool whose rule it matches.
    position: int
    rule: str | None = None  # as typed (`city in (北京, 天津)`); null matches nobody
    members: str | None = None  # comma-separated rep or role names; null: everyone
    admins: str | None = None  # comma-separated rep names who may `pool move`
    # Overrides (null: the team's rule from salespool.toml applies).
    days: int | None = None
    stage_days: str | None = None  # JSON {stage: days}
    daily_limit: int | None = None
    cooldown_days: int | None = None
    created_at: datetime


class Notification(SQLModel, table=True):
    """A recycling warning sent (`salespool notify`): one customer, step and recipient for
    the recycle date it warned of, so a retried cron sends nothing twice."""

    __table_args__ = (
        Index(
            "ix_notification_once", "customer_id", "step", "due_date", "recipient_id", unique=True
        ),
        Index("ix_notification_due_date", "due_date"),
    )

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id")
    step: int
    # The recycle date warned of, in the team's zone (YYYY-MM-DD): a follow-up moves it,
    # and the ladder starts again for the new date.
    due_date: str
    recipient_id: int = Field(foreign_key="rep.id")
    sent_at: datetime


class StoredSetting(SQLModel, table=True):
    """One of the team's rules kept in the store (`config set`, `config load`): its
    dotted key as salespool.toml writes it, and its value as a TOML literal (schema 11)."""

    __tablename__ = "setting"

    key: str = Field(primary_key=True)
    value: str
    changed_at: datetime
    changed_by: str | None = None


class SettingEvent(SQLModel, table=True):
    """The append-only trail of rule changes: who changed which key, when, from what to
    what (TOML literals; null: not set in the store), and by which command (schema 11)."""

    __tablename__ = "setting_event"

    id: int | None = Field(default=None, primary_key=True)
    key: str
    old_value: str | None = None
    new_value: str | None = None
    at: datetime
    actor: str | None = None
    command: str | None = None

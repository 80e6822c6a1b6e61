"""The Typer app, its global options, and how user errors become one line and exit 1."""

from __future__ import annotations

import getpass
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Annotated

import typer
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlmodel import Session
from typer import _click as click
from typer.core import TyperGroup

from salespool import __version__
from salespool.cli.completion import wire
from salespool.cli.helptext import tidy
from salespool.cli.usage import EXIT_USAGE, usage_line
from salespool.clock import Clock
from salespool.config import MACHINE, Config, load_config
from salespool.core.activity import InPool
from salespool.core.corrections import OwnersDiffer
from salespool.core.customers import NoSuchCustomer
from salespool.core.limits import Inactive
from salespool.core.reps import Clash
from salespool.errors import Locked, SalespoolError
from salespool.models import SCHEMA_VERSION
from salespool.render import Format, Output, choose_format, error, forgiving, note
from salespool.storage.store import Store, first_line, open_store

EXIT_ERROR = 1
EXIT_LOCKED = 3  # another run holds the run lock (cron overlap): nothing was done


class SalespoolGroup(TyperGroup):
    """Turns refusals and bad input anywhere below into one stderr line and exit 1,
    and usage errors (an unknown option, a value of the wrong kind) into one line and exit 2."""

    def main(self, *args, standalone_mode: bool = True, **kwargs):
        tidy(self)
        wire(self)
        forgiving(sys.stdout)
        try:
            code = super().main(*args, standalone_mode=False, **kwargs)
        except click.exceptions.NoArgsIsHelpError as exc:
            if not standalone_mode:
                raise
            sys.exit(exc.exit_code)  # the help was shown: nothing to add
        except click.exceptions.UsageError as exc:
            if not standalone_mode:
                raise
            error(usage_line(exc))
            sys.exit(EXIT_USAGE)
        except click.exceptions.ClickException as exc:
            if not standalone_mode:
                raise
            error(exc.format_message())
            sys.exit(exc.exit_code)
        except typer.Abort:
            if not standalone_mode:
                raise
            error("aborted")
            sys.exit(EXIT_ERROR)
        if not standalone_mode:
            return code
        sys.exit(code if isinstance(code, int) else 0)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except Locked as exc:
            error(said(exc))
            raise typer.Exit(EXIT_LOCKED) from None
        except SalespoolError as exc:
            error(said(exc))
        except OperationalError as exc:
            error(f"database: {first_line(exc.orig)}")
        except SQLAlchemyError as exc:
            error(f"database: {exc.__class__.__name__}: {first_line(getattr(exc, 'orig', exc))}")
        raise typer.Exit(EXIT_ERROR)


# Core arguments whose flag is not their name with dashes.
FLAGS = {"next_at": "--next", "amount_minor": "--amount"}


def flag(option: str) -> str:
    """The command-line flag for a core argument name: external_id -> --external-id."""
    return FLAGS.get(option) or "--" + option.replace("_", "-")


def said(exc: SalespoolError) -> str:
    """A core error as the user reads it: the flag it is about first, if any.

    Refusals that advise what to do next say it as a command line here.
    """
    if isinstance(exc, NoSuchCustomer):
        return str(NoSuchCustomer(exc.key, "`salespool customers --search TEXT`"))
    if isinstance(exc, InPool):
        return f"{exc}: salespool claim {exc.customer_id} --rep {exc.rep}"
    if isinstance(exc, Inactive):
        return f"{exc} (salespool rep set {exc.rep} --active)"
    if isinstance(exc, Clash):
        return " and ".join(flag(option) for option in exc.options) + ": choose one"
    if isinstance(exc, OwnersDiffer):
        first, second = exc.owners
        return f"{exc.held}: say who keeps it with --owner {first} or --owner {second}"
    text = exc.worded(flag(exc.advises)) if exc.advises else str(exc)
    return f"{flag(exc.option)}: {text}" if exc.option else text


app = typer.Typer(
    cls=SalespoolGroup,
    name="salespool",
    help="A sales team's customer book and public pool (公海): recycle idle customers, "
    "hand them to rookies, and see who is still hunting.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@dataclass
class State:
    """What every command gets from the global options."""

    db: str | None
    clock: Clock
    actor: str
    config: Config
    _store: Store | None = field(default=None, repr=False)

    @property
    def store(self) -> Store:
        """The store `--db` names; refused unless it exists (see `create_store`)."""
        return self.open(create=False)

    def create_store(self) -> Store:
        """The store `--db` names, created if missing: what `init` does."""
        return self.open(create=True)

    def open(self, create: bool) -> Store:
        if self._store is None:
            self._store = open_store(self.db, create=create)
            upgraded = self._store.upgraded_from
            if upgraded is not None:  # a message, not data: stderr, even for --json
                backup = self._store.last_backup
                note(
                    f"upgraded the store from schema {upgraded} to {SCHEMA_VERSION}"
                    + (f"; the old one is kept as {backup}" if backup else "")
                )
        return self._store

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A write transaction: committed when the block ends, rolled back on any error."""
        with self.store.write() as session:
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self.store.read() as session:
            yield session

    def output(self, as_json: bool = False, as_csv: bool = False, quiet: bool = False) -> Output:
        try:
            fmt = choose_format(as_json, as_csv)
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from None
        return Output(fmt, self.clock.tz, quiet=quiet and fmt is Format.table)

    def close(self) -> None:
        if self._store is not None:
            self._store.dispose()


def state(ctx: typer.Context) -> State:
    """The State the global options built."""
    return ctx.find_root().obj


def _version(value: bool) -> None:
    if value:
        typer.echo(f"salespool {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    ctx: typer.Context,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            envvar="SALESPOOL_DB",
            help="Database file, or a URL such as postgresql+psycopg://host/db. "
            "Default: salespool.db in the user data directory.",
            show_default=False,
        ),
    ] = None,
    now: Annotated[
        str | None,
        typer.Option(
            "--now",
            envvar="SALESPOOL_NOW",
            help="Run as if it were this moment (ISO date or datetime): back-filling, tests.",
        ),
    ] = None,
    tz: Annotated[
        str | None,
        typer.Option(
            "--tz",
            envvar="SALESPOOL_TZ",
            help="Time zone typed dates are read in, e.g. Asia/Shanghai. Default: the machine's.",
        ),
    ] = None,
    config: Annotated[
        str | None,
        typer.Option(
            "--config",
            envvar="SALESPOOL_CONFIG",
            help="The team's rules file. Default: ./salespool.toml, else the user config dir.",
            show_default=False,
        ),
    ] = None,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """Global options go before the command: salespool --db team.db report."""
    try:
        rules = load_config(config)
        zone = tz or rules["timezone"]
        clock = Clock.at(now, zone) if now else Clock.system(zone)
    except SalespoolError as exc:
        error(said(exc))
        raise typer.Exit(EXIT_ERROR) from None
    if tz:
        # Compared by name: typer bundles its own copy of click's ParameterSource.
        from_env = getattr(ctx.get_parameter_source("tz"), "name", "") == "ENVIRONMENT"
        zone_source = "SALESPOOL_TZ" if from_env else "--tz"
    else:
        zone_source = rules.settings["timezone"].source if zone else MACHINE
    rules.zone_in_effect(clock.tz, zone_source)
    actor = os.environ.get("SALESPOOL_ACTOR") or _login()
    ctx.obj = State(db=db, clock=clock, actor=actor, config=rules)
    ctx.call_on_close(ctx.obj.close)


def _login() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return "unknown"


# Options shared by many commands, declared once.
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]
CsvOpt = Annotated[bool, typer.Option("--csv", help="Print CSV.")]

"""The Typer app, its global options, and how user errors become one line and exit 1."""

from __future__ import annotations

import getpass
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated

import typer
from typer import _click as click
from typer.core import TyperGroup

from salespool import __version__
from salespool.cli.completion import wire
from salespool.cli.helptext import tidy
from salespool.cli.usage import EXIT_USAGE, usage_line
from salespool.errors import (
    Clash,
    Inactive,
    InPool,
    Locked,
    NoSuchCustomer,
    OwnersDiffer,
    Refused,
    SalespoolError,
)
from salespool.render import Format, Output, choose_format, error, forgiving, note

# The database layer, the rules and the clock load when a command first needs them
# (State below), so `--help`, `--version` and shell completion start in a blink.
if TYPE_CHECKING:
    from sqlmodel import Session

    from salespool.clock import Clock
    from salespool.config import Config
    from salespool.storage.lookup import StoredRules
    from salespool.storage.store import Store

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
            typer.echo(exc.format_message())  # the help, on stdout as for --help
            sys.exit(exc.exit_code)
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
        except Exception as exc:
            problem = database_problem(exc)
            if problem is None:
                raise
            error(problem)
        raise typer.Exit(EXIT_ERROR)


def database_problem(exc: BaseException) -> str | None:
    """One line for an error the database raised; None for anything else."""
    # Only a command that opened a store can raise these, and it has loaded SQLAlchemy.
    sa_exc = sys.modules.get("sqlalchemy.exc")
    if sa_exc is None or not isinstance(exc, sa_exc.SQLAlchemyError):
        return None
    from salespool.storage.store import first_line

    # What the team's database refused (storage/team.py): a privilege or a row policy
    # (42501), or a limit its trigger holds (23514: capacity, max locked).
    refused = getattr(getattr(exc, "orig", None), "sqlstate", None)
    if refused in ("42501", "23514"):
        return f"refused by the database: {first_line(exc.orig)}"
    if isinstance(exc, sa_exc.OperationalError):
        return f"database: {first_line(exc.orig)}"
    return f"database: {exc.__class__.__name__}: {first_line(getattr(exc, 'orig', exc))}"


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
        text = str(NoSuchCustomer(exc.key, "`salespool customers --search TEXT`"))
        return f"{flag(exc.option)}: {text}" if exc.option else text
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
    # Plain help, as click writes it (sqlite-utils' and llm's): rich's boxes cost more
    # to draw than the rest of `salespool --help` together, and pipe to less or grep
    # no better. Tables of results still come from rich (render.py).
    rich_markup_mode=None,
    add_completion=True,
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@dataclass
class State:
    """What every command gets from the global options.

    The rules, the clock and the store are built on first use, so a command that
    needs none of them (`config init` over a broken salespool.toml, `--help`) loads
    neither the database layer nor the rules file.
    """

    db: str | None
    actor: str
    now: str | None = None
    tz: str | None = None
    tz_source: str = ""  # "--tz" or "SALESPOOL_TZ" when tz was given
    config_file: str | None = None
    _config: Config | None = field(default=None, repr=False)
    _clock: Clock | None = field(default=None, repr=False)
    _store: Store | None = field(default=None, repr=False)
    _stored: StoredRules | None = field(default=None, repr=False)
    # `config set/unset/load/history` work on the store's rules, not by them: a local
    # rules file does not stand in their way on a team store.
    _rules_file_ok: bool = field(default=False, repr=False)

    @property
    def config(self) -> Config:
        """The team's rules (defaults, the store's, salespool.toml's); the time zone in
        effect is settled with them."""
        if self._config is None:
            from salespool.config import load_config

            stored = self.stored_rules()
            self._refuse_rules_file(stored.team)
            config = load_config(self.config_file, stored.settings, team=stored.team)
            if stored.team and config.path is not None and trying():
                note(f"trying the rules in {config.path} on a team store; nothing is changed")
            self._settle_zone(config, stored.zone)
            self._config = config
        return self._config

    def stored_rules(self) -> StoredRules:
        """The rules kept in the store, and whether it is a team store: through the store
        if the command has opened it, else read-only without opening it (`config show`
        must not create, upgrade or wait on a store to show the rules)."""
        if self._stored is None:
            if self._store is not None:
                self._stored = self._store.stored_rules()
            else:
                from salespool.storage.lookup import RulesUnreadable, stored_rules

                try:
                    self._stored = stored_rules(self.db)
                except RulesUnreadable as exc:
                    raise SalespoolError(
                        f"cannot read the team's rules in the store: {exc}"
                    ) from None
        return self._stored

    def manage_rules(self) -> None:
        """Mark this command as one that changes or shows the store's rules themselves
        (`config set`...): a local rules file is no reason to refuse it."""
        self._rules_file_ok = True

    def _refuse_rules_file(self, team: bool) -> None:
        """On a team store the rules come from the store alone: a local salespool.toml (found,
        or given with --config) is refused, except by runs that only try rules."""
        if not team or self._rules_file_ok or trying():
            return
        from salespool.config import find_config_file

        path = find_config_file(self.config_file)
        if path is not None:
            raise Refused(
                f"{path}: a team store takes its rules from the store, not from a local file "
                "(only simulate and --dry-run runs may try one); move it aside, or a manager "
                f"stores it with: salespool config load {path}"
            )

    @property
    def clock(self) -> Clock:
        """Now (or --now), in the team's time zone."""
        if self._clock is None:
            from salespool.clock import Clock

            zone = self._rules_zone() if self._rules_file_ok else self.config["timezone"]
            self._clock = Clock.at(self.now, zone) if self.now else Clock.system(zone)
        return self._clock

    def _rules_zone(self) -> str:
        """The zone for the commands that manage the stored rules: the rules' own, but if
        those cannot be read (a bad stored rule, a broken local file) such a command must
        still run, to mend them: then --tz, the store's zone, or the machine's."""
        try:
            return self.config["timezone"]
        except SalespoolError:
            from salespool.clock import local_timezone_name, validate_timezone

            if self.tz:
                return validate_timezone(self.tz)
            return (self._stored.zone if self._stored else None) or local_timezone_name()

    def _settle_zone(self, config: Config, stored_zone: str | None) -> None:
        """The zone: --tz or SALESPOOL_TZ, else salespool.toml's or the store's `timezone`
        rule, else the zone the store was made in (meta), else the machine's."""
        from salespool.clock import local_timezone_name, validate_timezone
        from salespool.config import MACHINE, STORE

        if self.tz:
            zone, source = validate_timezone(self.tz), self.tz_source
        elif config.settings["timezone"].value:
            zone, source = config["timezone"], config.settings["timezone"].source
        elif stored_zone:
            zone, source = stored_zone, STORE
        else:
            zone, source = local_timezone_name(), MACHINE
        config.zone_in_effect(zone, source)

    @property
    def store(self) -> Store:
        """The store `--db` names; refused unless it exists (see `create_store`)."""
        return self.open(create=False)

    def create_store(self) -> Store:
        """The store `--db` names, created if missing: what `init` does."""
        return self.open(create=True)

    def open(self, create: bool) -> Store:
        if self._store is None:
            from salespool.models import SCHEMA_VERSION
            from salespool.storage.store import open_store

            self._store = open_store(self.db, create=create)
            upgraded = self._store.upgraded_from
            if upgraded is not None:  # a message, not data: stderr, even for --json
                backup = self._store.last_backup
                note(
                    f"upgraded the store from schema {upgraded} to {SCHEMA_VERSION}"
                    + (f"; the old one is kept as {backup}" if backup else "")
                )
            if not self._rules_file_ok:  # before the command does anything
                self._refuse_rules_file(self.stored_rules().team)
        return self._store

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A write transaction: committed when the block ends, rolled back on any error.

        On a team store (PostgreSQL after `team setup`) the actor becomes the database
        login, and a write a rep may not run is refused before anything is done."""
        with self.store.write() as session:
            from salespool.core import team

            team.ensure_may_write(session, command_name())
            self.actor = team.actor(session, self.actor)
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
        # The zone is asked for only when a time is shown, so output alone reads no rules.
        return Output(fmt, lambda: self.clock.tz, quiet=quiet and fmt is Format.table)

    def close(self) -> None:
        if self._store is not None:
            self._store.dispose()


def trying() -> bool:
    """Whether the command running only tries rules, changing nothing: `simulate`, or
    any command given --dry-run."""
    from typer._click.globals import get_current_context

    ctx = get_current_context(silent=True)
    return ctx is not None and (ctx.info_name == "simulate" or ctx.params.get("dry_run") is True)


def command_name() -> str:
    """The running command as typed after the global options: `rep add`, `claim`."""
    from typer._click.globals import get_current_context

    ctx = get_current_context(silent=True)
    names = []
    while ctx is not None and ctx.parent is not None:
        names.append(ctx.info_name or "")
        ctx = ctx.parent
    return " ".join(reversed(names))


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
    tz_source = ""
    if tz:
        # Compared by name: typer bundles its own copy of click's ParameterSource.
        from_env = getattr(ctx.get_parameter_source("tz"), "name", "") == "ENVIRONMENT"
        tz_source = "SALESPOOL_TZ" if from_env else "--tz"
    if now or tz:  # a bad value is refused whatever the command, even one that needs no clock
        _check_clock_options(now, tz)
    actor = os.environ.get("SALESPOOL_ACTOR") or _login()
    ctx.obj = State(db=db, actor=actor, now=now, tz=tz, tz_source=tz_source, config_file=config)
    ctx.call_on_close(ctx.obj.close)


def _check_clock_options(now: str | None, tz: str | None) -> None:
    from salespool.clock import parse_absolute, validate_timezone

    try:
        if tz:
            validate_timezone(tz)
        if now:  # readable at all; the zone it is read in is settled with the rules
            parse_absolute(now, tz or "UTC", option="now")
    except SalespoolError as exc:
        error(said(exc))
        raise typer.Exit(EXIT_ERROR) from None


def _login() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return "unknown"


# Options shared by many commands, declared once.
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]
CsvOpt = Annotated[bool, typer.Option("--csv", help="Print CSV.")]

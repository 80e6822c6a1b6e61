"""Usage errors are one line on stderr and exit 2: the option first, then what it takes."""

from __future__ import annotations

import pytest

from salespool.cli import app


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (
            ("log", "1", "--rep", "alice", "--kind", "fax"),
            "--kind: 'fax' is not one of call, wechat, visit, email, meeting, other"
            " (or 电话, 微信, 拜访, 邮件, 会议)",
        ),
        (("pool", "--limit", "0"), "--limit: 0 must be 1 or more"),
        (("assign", "--to", "bob", "--role", "rookie"), "--role: use --to or --role, not both"),
        (("agenda", "--within", "-1"), "--within: -1 must be 0 or more"),
        (("pool", "--limit", "x"), "--limit: 'x' is not a whole number"),
        (("recycle", "--days", "0"), "--days: 0 must be 1 or more"),
        (("recycle", "--bogus"), "no such option: --bogus; try 'salespool recycle -h'"),
        (("log",), "CUSTOMER: missing; try 'salespool log -h'"),
        (("log", "1", "--kind", "call"), "--rep: missing; try 'salespool log -h'"),
        (("frobnicate",), "no such command 'frobnicate'; try 'salespool -h'"),
        (("rep",), "missing command; try 'salespool rep -h'"),
    ],
)
def test_a_usage_error_is_one_line_and_exit_2(cli, args, said):
    before = cli.snapshot()
    result = cli.runner.invoke(app, ["--db", cli.url, *args], prog_name="salespool")
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert result.stderr == f"error: {said}\n"
    assert result.stdout == ""
    assert cli.snapshot() == before


def test_help_and_no_arguments_still_show_the_help(cli):
    shown = cli.runner.invoke(app, ["log", "-h"], prog_name="salespool")
    assert shown.exit_code == 0 and "Log a follow-up" in shown.stdout
    bare = cli.runner.invoke(app, [], prog_name="salespool")
    assert bare.exit_code == 2 and "Commands" in bare.stdout


@pytest.mark.slow
def test_output_cut_short_by_a_closed_pipe_is_no_traceback(cli):
    """`salespool config show | true`: the reader leaves before the output; no traceback."""
    import subprocess
    import sys

    script = (
        f"{sys.executable} -m salespool --db {cli.url} config show | true; exit ${{PIPESTATUS[0]}}"
    )
    done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60)
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode in (0, 1), done.stderr

"""`salespool notify`: the escalation ladder before recycling, its JSON Lines, what it
remembers, and posting to chat robots (a local HTTP server on 127.0.0.1 stands in)."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from zoneinfo import ZoneInfo

import pytest
from conftest import NOW, TZ, Cli

# won customers: idle 60 days (recycle.stage_days.won) before recycling.
LIMIT = 60
LADDER = "[recycle]\nunconverted_days = 0\nwarn = [7, 3, 1]\n"


def contact_for(days_left: int) -> str:
    """A last contact that leaves a won customer `days_left` whole days before recycling."""
    now = datetime.fromisoformat(NOW).replace(tzinfo=ZoneInfo(TZ))
    return (now + timedelta(days=days_left - LIMIT, hours=1)).isoformat()


def rules(cli: Cli, text: str = LADDER) -> None:
    path = cli.db.parent / "salespool.toml"
    path.write_text(text, encoding="utf-8")
    cli.config = path


@pytest.fixture
def team(cli: Cli) -> Cli:
    """alice (no coach) and bob (coached by carol), managers mia and max, and four won
    customers: 7, 3, 1 and 10 days before recycling."""
    cli("rep", "add", "carol", "--role", "coach")
    cli("rep", "add", "bob", "--coach", "carol")
    cli("rep", "add", "alice")
    cli("rep", "add", "mia", "--role", "manager")
    cli("rep", "add", "max", "--role", "manager")
    rows = [
        ("C7", "Seven Ltd", "alice", 7),
        ("C3", "Three Ltd", "bob", 3),
        ("C1", "One Ltd", "bob", 1),
        ("C10", "Ten Ltd", "alice", 10),
    ]
    lines = ["external_id,name,owner,stage,created_at,owned_since,last_contact_at"]
    lines += [f"{x},{n},{o},won,2026-01-05,2026-01-05,{contact_for(d)}" for x, n, o, d in rows]
    path = cli.db.parent / "team.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    cli("import", str(path))
    rules(cli)
    return cli


def jsonl(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def sent_rows(cli: Cli) -> list[tuple]:
    return cli.sql(
        "select c.external_id, n.step, r.name from notification n "
        "join customer c on c.id = n.customer_id join rep r on r.id = n.recipient_id "
        "order by c.external_id, r.name"
    )


def test_without_warn_rules_nothing_is_sent(cli: Cli, team: Cli):
    rules(cli, "")
    result = cli("notify")
    assert result.stdout == ""
    assert "no warnings set" in result.stderr
    assert sent_rows(cli) == []


def test_each_step_goes_to_its_audience_as_json_lines(team: Cli):
    result = team("notify")
    messages = jsonl(result.stdout)
    heard = {(m["recipient"], m["role"], m["step"], m["days_left"]) for m in messages}
    assert heard == {
        ("alice", "owner", 1, 7),
        ("carol", "coach", 2, 3),
        ("max", "manager", 3, 1),
        ("mia", "manager", 3, 1),
    }
    one = next(m for m in messages if m["recipient"] == "mia")
    assert [c["name"] for c in one["customers"]] == ["One Ltd"]
    customer = one["customers"][0]
    assert set(customer) >= {"id", "name", "owner", "recycle_at", "reason"}
    assert customer["owner"] == "bob" and customer["days_left"] == 1
    assert customer["reason"] == "idle 60+ days (stage won)"
    assert one["sent"] is True and one["date"] == "2026-11-29"
    assert "One Ltd" in one["text"] and "warning 3 of 3" in one["title"]
    # The rules due applies: the same recycle date.
    due = {d["name"]: d for d in team.json("due", "--within", "11")}
    assert customer["recycle_at"] == due["One Ltd"]["due_at"]
    # due names the step each customer stands at.
    steps = {name: d["warn_step"] for name, d in due.items()}
    assert steps == {"One Ltd": 3, "Three Ltd": 2, "Seven Ltd": 1, "Ten Ltd": None}
    dry = team.json("recycle", "--dry-run", "--warn-days", "11")
    assert {d["name"]: d["warn_step"] for d in dry["due"]} == steps
    assert "Ten Ltd" not in result.stdout
    assert "wrote 4 messages about 3 customers" in result.stderr


def test_a_second_run_the_same_day_sends_nothing_new(team: Cli):
    team("notify")
    assert len(sent_rows(team)) == 4
    again = team("notify")
    assert again.stdout == ""
    assert "nothing new to send today (4 warnings sent before)" in again.stderr
    assert len(sent_rows(team)) == 4


def test_dry_run_remembers_nothing(team: Cli):
    dry = team("notify", "--dry-run")
    assert len(jsonl(dry.stdout)) == 4 and not any(m["sent"] for m in jsonl(dry.stdout))
    assert "nothing posted or remembered" in dry.stderr
    assert sent_rows(team) == []
    assert len(jsonl(team("notify").stdout)) == 4


def test_a_step_is_sent_once_then_the_next_step_escalates(team: Cli):
    team("notify")
    # A day later Seven Ltd is 6 days away: still step 1, already sent.
    assert team("notify", now="2026-11-30T09:00:00").stdout == ""
    # Four days later Seven Ltd is 3 days away: step 2, to the owner's coach (alice has
    # none: to her). Three Ltd and One Ltd, due already, are named to the managers again.
    later = jsonl(team("notify", now="2026-12-03T09:00:00").stdout)
    heard = {
        (m["recipient"], m["role"], m["step"]): [c["name"] for c in m["customers"]] for m in later
    }
    assert heard == {
        ("alice", "owner", 1): ["Ten Ltd"],  # 6 days away now
        ("alice", "owner", 2): ["Seven Ltd"],
        ("max", "manager", 3): ["Three Ltd", "One Ltd"],
        ("mia", "manager", 3): ["Three Ltd", "One Ltd"],
    }


def test_a_follow_up_moves_the_date_and_the_ladder_starts_again(team: Cli):
    team("notify")
    team("log", "C7", "--rep", "alice", "--kind", "call", "--at", "2026-11-29T08:00:00")
    assert team("notify").stdout == ""  # 60 days away now: before the first step
    again = jsonl(team("notify", now="2027-01-21T09:00:00").stdout)
    assert ("alice", 1) in {(m["recipient"], m["step"]) for m in again}


def test_the_managers_step_goes_to_the_owner_when_there_is_no_manager(team: Cli):
    team("rep", "leave", "mia")
    team("rep", "set", "max", "--inactive")
    messages = jsonl(team("notify").stdout)
    last = [m for m in messages if m["step"] == 3]
    assert [(m["recipient"], m["role"]) for m in last] == [("bob", "owner")]


def test_escalate_chooses_who_hears_each_step(team: Cli):
    rules(team, LADDER + 'escalate = ["coach", "manager"]\n')
    heard = {(m["recipient"], m["step"]) for m in jsonl(team("notify").stdout)}
    # Step 1 to alice's coach (none: alice); steps 2 and 3 to the managers.
    assert heard == {("alice", 1), ("max", 2), ("mia", 2), ("max", 3), ("mia", 3)}


def test_out_writes_the_json_lines_to_a_file_and_json_one_document(team: Cli, tmp_path):
    out = tmp_path / "warnings.jsonl"
    result = team("notify", "--out", str(out), "--dry-run")
    assert result.stdout == ""
    assert len(jsonl(out.read_text(encoding="utf-8"))) == 4
    doc = team.json("notify")
    assert doc["dry_run"] is False and doc["warn"] == [7, 3, 1]
    assert len(doc["messages"]) == 4 and doc["already_sent"] == 0
    assert team.json("notify")["already_sent"] == 4


def test_config_show_and_init_carry_the_ladder(cli: Cli, tmp_path, monkeypatch):
    shown = cli.json("config", "show")["rules"]
    assert shown["recycle.warn"]["value"] == []
    assert shown["recycle.escalate"]["value"] == ["owner", "coach", "manager"]
    rules(cli)
    shown = cli.json("config", "show")["rules"]
    assert (shown["recycle.warn"]["value"], shown["recycle.warn"]["source"]) == (
        [7, 3, 1],
        f"{cli.config}:3",
    )
    assert "[7, 3, 1]" in cli("config", "show").stdout
    monkeypatch.chdir(tmp_path)
    cli("config", "init", "--out", "starter.toml")
    text = (tmp_path / "starter.toml").read_text(encoding="utf-8")
    assert "warn = []" in text and 'escalate = ["owner", "coach", "manager"]' in text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[recycle]\nwarn = [1, 3]\n", "farthest first"),
        ("[recycle]\nwarn = [7, 0]\n", "whole numbers of days"),
        ("[recycle]\nwarn = 7\n", "must be a list"),
        ('[recycle]\nescalate = ["boss"]\n', '"owner", "coach", "manager"'),
        ("[recycle]\nescalate = []\n", "must be a list"),
    ],
)
def test_bad_ladders_are_refused(cli: Cli, text: str, message: str):
    rules(cli, text)
    result = cli.fails("notify")
    assert message in result.stderr and ":2: key 'recycle." in result.stderr


# --- posting to a webhook --------------------------------------------------------


class Robot:
    """A chat robot on 127.0.0.1: records each body and answers the next queued status."""

    def __init__(self) -> None:
        self.bodies: list[dict] = []
        self.statuses: list[int] = []
        self.answer = b'{"errcode": 0, "errmsg": "ok"}'
        robot = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                robot.bodies.append(json.loads(self.rfile.read(length).decode("utf-8")))
                status = robot.statuses.pop(0) if robot.statuses else 200
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(robot.answer)

            def log_message(self, *args) -> None:  # quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook?key=secret"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def robot() -> Iterator[Robot]:
    server = Robot()
    try:
        yield server
    finally:
        server.close()


def post(cli: Cli, url: str, kind: str, *more: str, ok: bool = True):
    return cli("notify", "--webhook", url, "--webhook-kind", kind, "--backoff", "0", *more, ok=ok)


def test_each_kind_posts_the_shape_its_robot_accepts(team: Cli, robot: Robot):
    shapes = {}
    for kind in ("wecom", "dingtalk", "feishu", "slack"):
        robot.bodies.clear()
        post(team, robot.url, kind, "--dry-run")  # a dry run posts nothing
        assert robot.bodies == []
        team.execute("delete from notification")
        result = post(team, robot.url, kind)
        assert len(robot.bodies) == 4 and "posted 4 messages" in result.stderr
        shapes[kind] = robot.bodies[0]
    wecom, dingtalk, feishu, slack = (shapes[k] for k in ("wecom", "dingtalk", "feishu", "slack"))
    assert wecom["msgtype"] == "markdown" and set(wecom) == {"msgtype", "markdown"}
    assert "Seven Ltd" in wecom["markdown"]["content"]
    assert dingtalk["msgtype"] == "markdown"
    assert set(dingtalk["markdown"]) == {"title", "text"}
    assert "Seven Ltd" in dingtalk["markdown"]["text"] and dingtalk["markdown"]["title"]
    assert feishu["msg_type"] == "text" and "Seven Ltd" in feishu["content"]["text"]
    assert set(slack) == {"text"} and "Seven Ltd" in slack["text"]


def test_a_500_is_retried_then_posted(team: Cli, robot: Robot):
    robot.statuses = [500]
    result = post(team, robot.url, "slack")
    assert len(robot.bodies) == 5  # the first message twice, then the other three
    assert robot.bodies[0] == robot.bodies[1]
    assert "posted 4 messages" in result.stderr
    assert len(sent_rows(team)) == 4
    robot.bodies.clear()
    assert post(team, robot.url, "slack").stdout == "" and robot.bodies == []


def test_a_dead_webhook_exits_1_and_remembers_nothing(team: Cli):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/hook?key=secret"
    args = ("notify", "--webhook", url, "--webhook-kind", "wecom", "--retries", "1")
    result = team.fails(*args, "--backoff", "0", "--timeout", "2")
    assert "4 of 4 messages not posted" in result.stderr and "2 tries" in result.stderr
    assert "secret" not in result.stderr  # the URL holds the robot's key
    assert not any(m["sent"] for m in jsonl(result.stdout))
    assert sent_rows(team) == []


def test_a_robot_error_code_is_a_failure_and_only_posted_messages_are_kept(team: Cli, robot: Robot):
    robot.statuses = [200, 400]
    result = post(team, robot.url, "dingtalk", "--retries", "0", ok=False)
    assert result.exit_code == 1 and "1 of 4 messages not posted (HTTP 400" in result.stderr
    assert len(sent_rows(team)) == 3  # the three posted; the refused one waits
    robot.answer = b'{"errcode": 310000, "errmsg": "keywords not in content"}'
    refused = post(team, robot.url, "dingtalk", ok=False)
    assert refused.exit_code == 1 and "errcode 310000" in refused.stderr
    assert len(sent_rows(team)) == 3
    robot.answer = b'{"errcode": 0}'
    assert len(jsonl(post(team, robot.url, "dingtalk").stdout)) == 1
    assert len(sent_rows(team)) == 4


def test_webhook_options_are_checked(team: Cli):
    assert (
        "--webhook-kind: say which robot"
        in team.fails("notify", "--webhook", "http://127.0.0.1:9/x").stderr
    )
    assert (
        "--webhook: must be an http"
        in team.fails("notify", "--webhook", "file:///etc/passwd", "--webhook-kind", "slack").stderr
    )
    assert (
        "--webhook-kind: 'teams' is not one of"
        in team.fails(
            "notify", "--webhook", "http://127.0.0.1:9/x", "--webhook-kind", "teams"
        ).stderr
    )


def test_the_due_table_shows_the_warning_step_when_warn_is_set(team: Cli):
    shown = team("due", "--within", "11").stdout
    assert "warning" in shown
    rows = {line.split()[1]: line for line in shown.splitlines() if "Ltd" in line}
    assert "3 (manager)" in rows["One"] and "2 (coach)" in rows["Three"]
    assert "1 (owner)" in rows["Seven"] and "(" not in rows["Ten"]
    dry = team("recycle", "--dry-run", "--warn-days", "11").stdout
    assert "3 (manager)" in dry
    rules(team, "[recycle]\nunconverted_days = 0\n")
    assert "warning" not in team("due", "--within", "11").stdout  # no ladder: no column

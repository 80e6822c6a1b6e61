"""Posting a message to a chat robot's incoming webhook: WeCom, DingTalk, Feishu, Slack.

Outside core on purpose: core computes the messages as plain data
(core/notify.py); this is the network. The standard library's urllib does it,
so the feature needs no new dependency. A post is tried again, with a doubling
pause, when the network fails, the request times out, or the server answers
5xx or 429; a 4xx, or a robot that answers 200 with an error code (a wrong key,
a keyword the robot requires missing), fails at once.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

KINDS = ("wecom", "dingtalk", "feishu", "slack")
# Server answers worth another try: the robot is overloaded or rate-limits us.
RETRY_STATUS = {429, 500, 502, 503, 504}


class PostFailed(Exception):
    """A message could not be posted; the text says why (never the URL: it holds the key)."""


def body(kind: str, title: str, text: str) -> dict[str, Any]:
    """The JSON body robots of `kind` accept for a message with this title and text."""
    if kind == "wecom":
        return {"msgtype": "markdown", "markdown": {"content": f"**{title}**\n{text}"}}
    if kind == "dingtalk":
        # DingTalk shows `title` in the chat list only; the text must repeat it.
        return {
            "msgtype": "markdown",
            "markdown": {"title": title, "text": f"#### {title}\n\n{text}"},
        }
    if kind == "feishu":
        return {"msg_type": "text", "content": {"text": f"{title}\n{text}"}}
    if kind == "slack":
        return {"text": f"*{title}*\n{text}"}
    raise ValueError(f"unknown webhook kind {kind!r}")


def post(
    url: str,
    payload: dict[str, Any],
    *,
    timeout: float,
    retries: int = 3,
    backoff: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """POST `payload` as JSON to `url`, trying up to `retries` more times; how many tries
    it took. Raises PostFailed when it could not be posted."""
    data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    request = urllib.request.Request(
        url,
        data=data,
        method="POST",
        headers={"Content-Type": "application/json; charset=utf-8", "User-Agent": "salespool"},
    )
    pause = backoff
    for attempt in range(1, retries + 2):
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                _check_answer(response.read())
            return attempt
        except urllib.error.HTTPError as exc:
            why = f"HTTP {exc.code} {exc.reason}"
            if exc.code not in RETRY_STATUS:
                raise PostFailed(why) from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            why = (
                f"timed out after {timeout:g}s" if isinstance(reason, TimeoutError) else str(reason)
            )
        if attempt <= retries:
            sleep(pause)
            pause *= 2
    tries = "try" if retries == 0 else "tries"
    raise PostFailed(f"{why} ({retries + 1} {tries})")


def _check_answer(raw: bytes) -> None:
    """Refuse a 200 whose body is a robot's error: {"errcode": N} (WeCom, DingTalk),
    {"code": N} or {"StatusCode": N} (Feishu); Slack answers the text "ok"."""
    try:
        answer = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return
    if not isinstance(answer, dict):
        return
    for key, message in (("errcode", "errmsg"), ("code", "msg"), ("StatusCode", "StatusMessage")):
        code = answer.get(key)
        if isinstance(code, int) and code != 0:
            raise PostFailed(
                f"the robot refused it: {key} {code} {answer.get(message, '')}".strip()
            )

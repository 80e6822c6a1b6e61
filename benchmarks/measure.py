"""Measuring a child process: its wall time, CPU time and own peak RSS (os.wait4), and
the best of repeated runs of a read-only step."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

SLOW_SECONDS = 20.0  # a read-only step slower than this is not repeated


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@dataclass
class Measure:
    seconds: float  # wall
    cpu: float  # user + system seconds of the child
    rss_mb: float
    returncode: int
    stdout: Path
    stderr: Path

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def error_text(self) -> str:
        text = self.stderr.read_text(errors="replace").strip()
        return text.splitlines()[-1] if text else f"exit status {self.returncode}"


def _maxrss_mb(ru_maxrss: int) -> float:
    # Linux (and the BSDs) report KiB; macOS reports bytes.
    return ru_maxrss / (1024 * 1024) if sys.platform == "darwin" else ru_maxrss / 1024


def run_measured(
    argv: list[str], outdir: Path, label: str, stdin: Path | None = None, cwd: Path | None = None
) -> Measure:
    """Run one child; its wall time and its own peak RSS (wait4 on its pid)."""
    stdout = outdir / f"{label}.out"
    stderr = outdir / f"{label}.err"
    with (
        stdout.open("wb") as out,
        stderr.open("wb") as err,
        stdin.open("rb") if stdin else open(os.devnull, "rb") as inp,
    ):
        started = time.perf_counter()
        proc = subprocess.Popen(argv, stdin=inp, stdout=out, stderr=err, cwd=cwd)
        _pid, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    cpu = usage.ru_utime + usage.ru_stime
    return Measure(seconds, cpu, _maxrss_mb(usage.ru_maxrss), proc.returncode, stdout, stderr)


def best_of(runs: list[Measure]) -> Measure:
    """Repeated read-only runs: the fastest wall time, and the highest peak RSS of any."""
    failed = [m for m in runs if not m.ok]
    if failed:
        return failed[0]
    best = min(runs, key=lambda m: m.seconds)
    return Measure(best.seconds, best.cpu, max(m.rss_mb for m in runs), 0, best.stdout, best.stderr)


def measure(
    argv: list[str],
    outdir: Path,
    label: str,
    repeat: int = 1,
    stdin: Path | None = None,
    cwd: Path | None = None,
) -> Measure:
    """Run a child `repeat` times (read-only steps only) and keep the best wall time."""
    runs: list[Measure] = []
    for _ in range(repeat):
        if runs and runs[-1].seconds > SLOW_SECONDS:
            break  # one slow run says enough; repeating only costs time
        m = run_measured(argv, outdir, label, stdin=stdin, cwd=cwd)
        log(
            f"    {m.seconds:.2f} s wall, {m.cpu:.2f} s CPU, {m.rss_mb:.0f} MB"
            + ("" if m.ok else f": {m.error_text()}")
        )
        runs.append(m)
        if not m.ok:
            break
    return best_of(runs)


def rss_floor(outdir: Path) -> float:
    """The peak RSS a trivial child reports: the bench process's own peak.

    Linux charges an exec'ed child with the high-water RSS of the memory it was
    spawned from (the parent's, with vfork), so no child reports less than this.
    """
    trivial = shutil.which("true")
    argv = [trivial] if trivial else [sys.executable, "-c", "pass"]
    return run_measured(argv, outdir, "rss-floor").rss_mb

"""Child processes the benchmark runs: timed, bounded, and measured for peak memory."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import httpx


@dataclass(frozen=True)
class Finished:
    exit_code: int
    seconds: float
    cpu_seconds: float
    peak_rss_bytes: int
    timed_out: bool = False


def run_measured(
    command: list[str], *, env: dict[str, str], log_path: Path, timeout_seconds: float
) -> Finished:
    """Run ``command`` to its end, or stop it at the deadline (``timed_out``); its wall
    time, CPU time and peak RSS (the kernel's ru_maxrss)."""
    with log_path.open("wb") as log:
        started = time.perf_counter()
        child = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = started + timeout_seconds
        timed_out = False
        tree_peak = 0
        while True:
            tree_peak = max(tree_peak, tree_rss_bytes(child.pid))
            # wait4 reaps the child and hands back its own resource usage.
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                seconds = time.perf_counter() - started
                child.returncode = os.waitstatus_to_exitcode(status)
                cpu = usage.ru_utime + usage.ru_stime
                # ru_maxrss is the largest single process; a worker process adds to it.
                peak = max(usage.ru_maxrss * 1024, tree_peak)
                return Finished(child.returncode, seconds, cpu, peak, timed_out)
            if not timed_out and time.perf_counter() > deadline:
                child.kill()
                timed_out = True
            time.sleep(0.05)


def tree_rss_bytes(pid: int) -> int:
    """Resident memory of a process and all its descendants now (0 once it is gone)."""
    total = 0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            children = Path(f"/proc/{current}/task/{current}/children").read_text()
        except OSError:
            continue
        total += next(
            (
                int(line.split()[1]) * 1024
                for line in status.splitlines()
                if line.startswith("VmRSS:")
            ),
            0,
        )
        pending += [int(child) for child in children.split()]
    return total


def peak_rss_bytes(pid: int) -> int:
    """The peak resident set size of a running process (VmHWM in /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmHWM for process {pid}")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a running process has used so far (/proc/PID/stat)."""
    # Fields after the command name (which may hold spaces) start at the last ")".
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    utime, stime = int(fields[11]), int(fields[12])
    return (utime + stime) / os.sysconf("SC_CLK_TCK")


def load_average() -> str:
    """The 1-minute load average: how busy the 2 cores were with anything else."""
    return f"{os.getloadavg()[0]:.1f}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Server:
    """A server child process, started and stopped by the benchmark."""

    def __init__(self, command: list[str], *, env: dict[str, str], log_path: Path) -> None:
        self.command = command
        self.env = env
        self.log_path = log_path
        self.child: subprocess.Popen[bytes] | None = None

    def start(self, ready_url: str, timeout_seconds: float) -> None:
        log = self.log_path.open("wb")
        self.child = subprocess.Popen(
            self.command, env=self.env, stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        deadline = time.monotonic() + timeout_seconds
        while time.monotonic() < deadline:
            if self.child.poll() is not None:
                raise RuntimeError(f"server exited with {self.child.returncode}: {self.tail()}")
            try:
                if httpx.get(ready_url, timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        self.stop()
        raise TimeoutError(f"server not ready in {timeout_seconds:.0f} s: {self.tail()}")

    @property
    def pid(self) -> int:
        if self.child is None:
            raise RuntimeError("server not started")
        return self.child.pid

    def stop(self) -> None:
        if self.child is None or self.child.poll() is not None:
            return
        self.child.send_signal(signal.SIGINT)
        try:
            self.child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.child.kill()
            self.child.wait()

    def tail(self, characters: int = 2000) -> str:
        return self.log_path.read_text(errors="replace")[-characters:]

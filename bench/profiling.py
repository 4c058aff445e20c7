"""Where the time goes: py-spy samples of the loader and the server, summed per function.

``py-spy record --format raw`` writes collapsed stacks (``frame;frame;... count``). The
summary counts each function once per sample it is on the stack of (inclusive) and
once per sample it is the innermost frame of (self), as shares of all samples.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Profile:
    title: str
    samples: int
    inclusive: list[tuple[str, int]]
    own: list[tuple[str, int]]

    def markdown(self, top: int = 15) -> str:
        lines = [f"### {self.title} ({self.samples:,} samples)", ""]
        lines += [
            "| inclusive | function | | self | function |",
            "| ---: | --- | - | ---: | --- |",
        ]
        # Inclusive: Isocenter's own functions below the entry point, the ones to act on.
        ours = [
            (name, count)
            for name, count in self.inclusive
            if name.startswith("isocenter/") and count < 0.98 * self.samples
        ]
        for (inc_name, inc), (own_name, own) in zip(ours[:top], self.own[:top], strict=False):
            lines.append(
                f"| {self._share(inc)} | `{inc_name}` | | {self._share(own)} | `{own_name}` |"
            )
        return "\n".join(lines)

    def _share(self, count: int) -> str:
        return f"{count / self.samples:.0%}" if self.samples else "-"


def py_spy() -> str:
    found = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(found).exists():
        raise RuntimeError("py-spy is not installed: pip install -e '.[bench]'")
    return found


def record_command(command: list[str], output: Path, timeout_seconds: float) -> None:
    """Run ``command`` under py-spy to its end, its worker processes included."""
    profiler = [py_spy(), "record", "--subprocesses", "--format", "raw", "--rate", "200"]
    profiler += ["-o", str(output), "--"]
    subprocess.run(
        [*profiler, *command], capture_output=True, timeout=timeout_seconds, check=False
    )


def record_pid(pid: int, output: Path, seconds: int) -> subprocess.Popen[bytes]:
    """Start sampling a running process for ``seconds``; the caller waits on it."""
    profiler = [py_spy(), "record", "--format", "raw", "--rate", "200", "--pid", str(pid)]
    return subprocess.Popen(
        [*profiler, "--duration", str(seconds), "-o", str(output)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


# Threads blocked in these (tqdm's monitor, idle pool workers) use no CPU; py-spy still
# samples them when they wait with a timeout.
_WAITING = frozenset({"threading.py:Condition.wait", "threading.py:Event.wait"})


def _function(frame: str) -> str:
    # "name (path/module.py:123)" -> "module.py:name"; line numbers would split a function.
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    return f"{path}:{name}" if path else name


def summarize(title: str, raw: Path) -> Profile:
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    samples = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        functions = [_function(frame) for frame in stack.split(";")]
        if functions[-1] in _WAITING:
            continue
        samples += count
        own[functions[-1]] += count
        for name in set(functions):
            inclusive[name] += count
    return Profile(title, samples, inclusive.most_common(), own.most_common())

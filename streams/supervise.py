"""Starting and stopping the pipeline's own processes (workers, sink) in the background.

Used by ``omnijourney demo``, ``make down`` and the integration tests, so all of them start a
service the same way: its output in ``<run dir>/logs/<name>.log``, its PID in
``<run dir>/pids/<name>.pid``, stopped by SIGTERM (SIGKILL after a grace period).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from schemas.errors import OmnijourneyError


def run_dir() -> Path:
    return Path(os.environ.get("OMNIJOURNEY_RUN_DIR", ".run")).resolve()


@dataclass
class Service:
    """One background process of ours."""

    name: str
    process: subprocess.Popen[bytes]
    log_path: Path
    pid_path: Path

    def alive(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, lines: int = 30) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, grace_s: float = 30.0, sig: int = signal.SIGTERM) -> int:
        """Signal, wait, escalate to SIGKILL; returns the exit code."""
        if self.alive():
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=grace_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.pid_path.unlink(missing_ok=True)
        return int(self.process.returncode)


def start(name: str, args: list[str], env: dict[str, str] | None = None, base: Path | None = None) -> Service:
    """Start ``omnijourney ARGS`` in its own session; output goes to the service's log file."""
    base = base or run_dir()
    (base / "logs").mkdir(parents=True, exist_ok=True)
    (base / "pids").mkdir(parents=True, exist_ok=True)
    log_path, pid_path = base / "logs" / f"{name}.log", base / "pids" / f"{name}.pid"
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "streams.cli", *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {})},
            start_new_session=True,
        )
    pid_path.write_text(str(process.pid))
    return Service(name, process, log_path, pid_path)


def wait_http(url: str, service: Service, timeout_s: float = 120.0) -> dict[str, object]:
    """Poll ``url`` until it answers JSON; fail early, with the log, if the service died."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not service.alive():
            raise OmnijourneyError(
                f"{service.name} exited ({service.process.returncode}):\n{service.log_tail()}"
            )
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return dict(json.load(response))
        except (urllib.error.URLError, ConnectionError, ValueError, TimeoutError):
            time.sleep(0.3)
    raise OmnijourneyError(f"{service.name} did not answer {url} in {timeout_s:.0f}s:\n{service.log_tail()}")


def stop_all(base: Path | None = None) -> list[str]:
    """Stop every process with a PID file under the run dir (``make down``)."""
    stopped = []
    for pid_path in sorted((base or run_dir()).glob("pids/*.pid")):
        try:
            pid = int(pid_path.read_text())
            os.killpg(pid, signal.SIGTERM)
            for _ in range(300):
                os.kill(pid, 0)
                time.sleep(0.1)
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, ValueError, PermissionError):
            pass
        stopped.append(pid_path.stem)
        pid_path.unlink(missing_ok=True)
    return stopped


def _status(base: Path | None = None) -> list[str]:
    lines = []
    for pid_path in sorted((base or run_dir()).glob("pids/*.pid")):
        pid = int(pid_path.read_text())
        try:
            os.kill(pid, 0)
            lines.append(f"{pid_path.stem}: running (pid {pid})")
        except ProcessLookupError:
            lines.append(f"{pid_path.stem}: not running (stale pid {pid})")
    return lines


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "status"
    if command == "stop-all":
        for name in stop_all():
            print(f"stopped {name}")
    else:
        print("\n".join(_status()) or "no omnijourney services running")

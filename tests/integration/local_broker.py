"""A private Kafka broker for one test, started and stopped by the project's own ``kafka.sh``.

For the tests that must do to a broker what nobody else may see: give it a SASL listener, or
stop it under a running pipeline. Its data, logs and PID file live in the test's directory, on
free ports, so the shared broker of ``make up`` is never touched; ``down`` then ``up`` gives the
same broker back with its data (topics, offsets, changelogs), as an operator's restart would.

kafka.sh starts nothing when OMNIJOURNEY_KAFKA_BROKERS is set (the user brought their own Kafka),
so that variable is removed from the script's environment; the pipeline's processes get it
instead, pointing here.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.integration.conftest import free_port

REPO = Path(__file__).resolve().parents[2]
KAFKA_SH = REPO / "deploy" / "kafka" / "kafka.sh"
READY_TIMEOUT_S = 300  # the JVM starts slowly on a busy 2-core machine: a bound, not a measurement


@dataclass
class LocalBroker:
    """``kafka.sh`` pointed at ``run_dir`` and its own ports (``sasl``: also a SASL listener)."""

    run_dir: Path
    sasl: bool = False
    username: str = "omnijourney-test"
    password: str = "test-secret"

    def __post_init__(self) -> None:
        self.port, self.controller_port = free_port(), free_port()
        self.sasl_port = free_port() if self.sasl else None

    @property
    def plaintext(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def sasl_listener(self) -> str:
        if self.sasl_port is None:
            raise ValueError("this broker has no SASL listener")
        return f"127.0.0.1:{self.sasl_port}"

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k != "OMNIJOURNEY_KAFKA_BROKERS"}
        env |= {
            "OMNIJOURNEY_RUN_DIR": str(self.run_dir),
            "OMNIJOURNEY_LOCAL_KAFKA_PORT": str(self.port),
            "OMNIJOURNEY_LOCAL_KAFKA_CONTROLLER_PORT": str(self.controller_port),
            "OMNIJOURNEY_KAFKA_READY_TIMEOUT": str(READY_TIMEOUT_S),
        }
        if self.sasl_port is not None:
            env |= {
                "OMNIJOURNEY_LOCAL_KAFKA_SASL_PORT": str(self.sasl_port),
                "OMNIJOURNEY_LOCAL_KAFKA_SASL_USERNAME": self.username,
                "OMNIJOURNEY_LOCAL_KAFKA_SASL_PASSWORD": self.password,
            }
        return env

    def _run(self, action: str) -> None:
        done = subprocess.run(
            ["bash", str(KAFKA_SH), action],
            env=self._env(),
            capture_output=True,
            text=True,
            timeout=READY_TIMEOUT_S + 60,
            check=False,
        )
        if done.returncode:
            output = f"{done.stdout}{done.stderr}\n{self.log_tail()}"
            raise RuntimeError(f"kafka.sh {action} failed ({done.returncode}):\n{output}")

    def up(self) -> None:
        """Start (formatting the storage the first time) and wait until it serves."""
        self._run("up")

    def down(self) -> None:
        """SIGTERM (controlled shutdown, SIGKILL after 30 s), by the PID kafka.sh recorded."""
        self._run("down")

    def kill(self) -> None:
        """Last resort when ``down`` failed: SIGKILL the PID in this broker's own PID file."""
        try:
            pid = int((self.run_dir / "kafka" / "kafka.pid").read_text())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            if b"kafka.Kafka" in cmdline and str(self.run_dir).encode() in cmdline:  # ours, not a reused PID
                os.kill(pid, signal.SIGKILL)
        except (FileNotFoundError, ValueError, ProcessLookupError):
            pass

    def log_tail(self, lines: int = 30) -> str:
        log = self.run_dir / "kafka" / "logs" / "server.log"
        text = log.read_text(errors="replace") if log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


@contextmanager
def local_broker(base: Path, *, sasl: bool = False) -> Iterator[LocalBroker]:
    """A broker on free ports under ``base``, stopped at the end whatever happened."""
    broker = LocalBroker(base / "broker", sasl=sasl)
    try:
        broker.up()
        yield broker
    finally:
        try:
            broker.down()
        finally:
            broker.kill()

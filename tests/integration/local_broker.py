"""A private Kafka broker for one test, started and stopped by the project's own ``kafka.sh``.

For the tests that must do to a broker what nobody else may see: give it a SASL listener, or
stop it under a running pipeline. Its data, logs and PID file live in the test's directory, on
free ports, so the shared broker of ``make up`` is never touched.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.integration.conftest import free_port

REPO = Path(__file__).resolve().parents[2]
KAFKA_SH = REPO / "deploy" / "kafka" / "kafka.sh"


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
            ["bash", str(KAFKA_SH), action], env=self._env(), capture_output=True, text=True, timeout=180
        )
        if done.returncode:
            raise RuntimeError(f"kafka.sh {action} failed ({done.returncode}):\n{done.stdout}{done.stderr}")

    def up(self) -> None:
        self._run("up")

    def down(self) -> None:
        self._run("down")

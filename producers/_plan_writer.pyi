"""Types of the C writer built from producers/_plan_writer.c (see producers/native_plan.py)."""

from typing import Any

class PlanWriter:
    def __init__(self, plan: tuple[Any, ...], header: bytes, fallback: type[BaseException]) -> None: ...
    def write(self, event: Any) -> tuple[str, bytes, bytes]: ...

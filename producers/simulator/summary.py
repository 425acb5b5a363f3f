"""A short account of a simulation, for the CLI and the benchmark log."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass

from producers.simulator.events import CHANNELS
from producers.simulator.truth import GroundTruth


@dataclass(frozen=True, slots=True)
class SimulationSummary:
    seed: int
    start: dt.datetime
    customers: int
    days: int
    scenarios: tuple[str, ...]
    events_by_channel: dict[str, int]  # everything sent per channel topic, valid or not
    valid: int
    invalid: int
    invalid_by_kind: dict[str, int]
    journeys: int
    outcomes: dict[str, int]
    handoffs: dict[str, int]

    @property
    def total(self) -> int:
        return self.valid + self.invalid

    def render(self) -> str:
        """A few aligned lines of plain text."""
        lines = [
            f"simulation seed={self.seed} start={self.start.isoformat()} days={self.days} "
            f"customers={self.customers} scenarios={','.join(self.scenarios) or 'none'}",
            f"events {self.total:,}: {self.valid:,} valid, {self.invalid:,} invalid "
            f"({self.invalid / self.total if self.total else 0.0:.2%})",
        ]
        lines += [f"  {channel:<12} {n:>10,}" for channel, n in self.events_by_channel.items()]
        if self.invalid_by_kind:
            lines.append("invalid: " + ", ".join(f"{k}={n}" for k, n in self.invalid_by_kind.items()))
        lines.append(
            f"journeys {self.journeys:,}: " + ", ".join(f"{k}={n:,}" for k, n in self.outcomes.items())
        )
        if self.handoffs:
            lines.append("broken hand-offs: " + ", ".join(f"{k}={n}" for k, n in self.handoffs.items()))
        return "\n".join(lines)


def summarize(truth: GroundTruth) -> SimulationSummary:
    invalid_channels = Counter(i.channel for i in truth.invalid)
    by_channel = {
        c: truth.channel_counts.get(c, 0) + invalid_channels.get(c, 0)
        for c in CHANNELS
        if c in truth.channel_counts or c in invalid_channels
    }
    return SimulationSummary(
        seed=truth.seed,
        start=truth.start,
        customers=truth.customers,
        days=truth.days,
        scenarios=truth.scenarios,
        events_by_channel=by_channel,
        valid=truth.valid_events,
        invalid=len(truth.invalid),
        invalid_by_kind=dict(sorted(Counter(i.kind for i in truth.invalid).items())),
        journeys=len(truth.journeys),
        outcomes=dict(sorted(Counter(j.outcome for j in truth.journeys).items())),
        handoffs=dict(sorted(Counter(h.kind for h in truth.handoffs).items())),
    )

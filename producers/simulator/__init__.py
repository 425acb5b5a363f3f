"""Channel simulators and a load generator with ground truth.

``simulate(customers, days, seed)`` yields, in the order producers would send them, the touchpoints
of a population of customers across web, app, ads, social, e-mail, chat, call center, store and
POS, plus the fixed green-velvet-sofa story and its broken variants, plus a small share of invalid
events. Same seed, same bytes; nothing reads the clock.

SDK input form (``SimulatedEvent.payload``): a dict with every field of
:class:`schemas.models.Touchpoint` (``event_id`` UUID string, ``event_time`` aware UTC datetime at
millisecond precision, ``channel``, ``event_type``, ``identifiers``, ``source``, ``session_id``,
``conversation_id``, ``case_id``, ``context`` (only the keys that are set), ``consent``,
``attributes``), except that identifiers may have type ``email`` or ``phone`` with *raw* values
(``"Giulia.Rossi@Example.it "``, ``"333 123 4567"``), which the SDK normalises and HMAC-hashes into
``hashed_email`` / ``hashed_phone``. Italian numbers appear in national form too: the SDK's phone
normalisation must assume +39 for numbers without a country code.

Ground truth (:class:`GroundTruth`, :func:`write_ground_truth`, :func:`load_ground_truth`) says who
really is who, which journeys happened and which hand-offs broke; :func:`run_simulation` feeds a
simulation to the producers at a given rate with a progress line.
"""

from producers.simulator.events import (
    CHANNELS,
    SDK_INVALID_KINDS,
    WIRE_INVALID_KINDS,
    SimulatedEvent,
)
from producers.simulator.generator import DEFAULT_START, Simulation, SimulationConfig, simulate
from producers.simulator.pacing import ProgressBar, RunSummary, TokenBucket, run_simulation
from producers.simulator.scenarios import SCENARIO_BY_NAME, SCENARIOS, Scenario
from producers.simulator.summary import SimulationSummary, summarize
from producers.simulator.truth import (
    GroundTruth,
    HandoffTruth,
    InvalidTruth,
    JourneyTruth,
    PersonTruth,
    SharedIdentifier,
    load_ground_truth,
    write_ground_truth,
)

__all__ = [
    "CHANNELS",
    "DEFAULT_START",
    "SCENARIOS",
    "SCENARIO_BY_NAME",
    "SDK_INVALID_KINDS",
    "WIRE_INVALID_KINDS",
    "GroundTruth",
    "HandoffTruth",
    "InvalidTruth",
    "JourneyTruth",
    "PersonTruth",
    "ProgressBar",
    "RunSummary",
    "Scenario",
    "SharedIdentifier",
    "SimulatedEvent",
    "Simulation",
    "SimulationConfig",
    "SimulationSummary",
    "TokenBucket",
    "load_ground_truth",
    "run_simulation",
    "simulate",
    "summarize",
    "write_ground_truth",
]

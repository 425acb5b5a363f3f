"""The continuity API and the agent desk, on real continuity state from the simulated sofa stories.

The touches get their identifiers hashed by the SDK's own code (``hash_identifiers`` with a real
``PiiHasher``), as the producers put them on the wire; the lookup is an in-memory index over the
identifiers the real continuity state remembers, answering with the real card. Expected values
come from the scenario definitions and ground truth, and the phone's wire token from the touch that
carried it, never from the API's own answers.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import functools
import json
import logging
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import faust
import pytest
from aiohttp.test_utils import make_mocked_request

from producers.pii import PiiHasher
from producers.prepare import hash_identifiers
from producers.simulator import SCENARIO_BY_NAME, GroundTruth
from producers.simulator.desk import RESERVATION_HOLD_DAYS
from streams.journeys import journey_state
from streams.journeys.card import card
from streams.journeys.continuity import fold, new_state
from streams.journeys.continuity_state import ContinuityState
from streams.journeys.touch import Touch
from streams.journeys.web import (
    DESK_DIR,
    DESK_IDS,
    IDENTIFIER_TYPES,
    handle_continuity,
    pii_identifier_hasher,
    register_continuity_routes,
)
from tests.unit.journey_sim import simulated_touches

TOKEN = "desk-test-token-7f3a"
HASHER = PiiHasher(b"journey-web-test-key", default_country_code="39")
HASH = pii_identifier_hasher(HASHER)
NOW = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)
GIULIA_PHONE = "+39 333 123 4567"  # what the sofa chat reservation records as her contact


@functools.cache
def _simulated() -> tuple[list[Touch], GroundTruth]:
    return simulated_touches(customers=0, days=1, seed=11)


def on_the_wire(t: Touch) -> Touch:
    """The touch with its identifiers as the SDK sends them: raw e-mail/phone HMAC-hashed."""
    idents = [{"type": kind, "value": value} for kind, value in t.identifiers]
    hash_identifiers(idents, HASHER)
    return dataclasses.replace(t, identifiers=tuple((i["type"], i["value"]) for i in idents))


def story(name: str, stop_before: str | None = None) -> list[Touch]:
    """The scenario person's wire touches in arrival order, up to the first ``stop_before`` event."""
    person = SCENARIO_BY_NAME[name].person().person_id
    out: list[Touch] = []
    for t in _simulated()[0]:
        if t.person_id != person:
            continue
        if t.event_type == stop_before:
            break
        out.append(on_the_wire(t))
    return out


class StateLookup:
    """A ContinuityLookup over real folded states: identifier index -> person -> card."""

    def __init__(self, *touch_lists: list[Touch]) -> None:
        self.people: dict[str, tuple[ContinuityState, dict[str, Any] | None]] = {}
        self.calls: list[tuple[str, str]] = []
        for touches in touch_lists:
            state = new_state(touches[0].person_id)
            journeys = journey_state.PersonState(touches[0].person_id)
            journey: dict[str, Any] | None = None
            for t in touches:
                fold(state, t, NOW)
                published = journey_state.fold(journeys, t).journeys
                journey = published[-1] if published else journey
            self.people[state.person_id] = (state, journey)
        self.index = {ident: pid for pid, (st, _) in self.people.items() for ident in st.identifiers}

    async def card_for(self, identifier_type: str, value: str) -> dict[str, Any] | None:
        self.calls.append((identifier_type, value))
        person = self.index.get((identifier_type, value))
        if person is None:
            return None
        state, journey = self.people[person]
        return card(state, journey)


def ask(
    lookup: Any, kind: str, value: str, auth: str | None = f"Bearer {TOKEN}", token: str | None = TOKEN
) -> tuple[int, dict[str, Any]]:
    return asyncio.run(handle_continuity(kind, value, auth, lookup=lookup, token=token, hash_identifier=HASH))


@pytest.fixture(scope="module")
def giulia() -> list[Touch]:
    """Giulia after her chat reservation, before she comes to the store: the reservation is open."""
    return story("sofa", stop_before="store_visit")


@pytest.fixture
def lookup(giulia: list[Touch]) -> StateLookup:
    """Giulia, and Sara after the store could not find her chat reservation (before it expires)."""
    return StateLookup(giulia, story("sofa_reservation_lost", stop_before="reservation_expired"))


# -- auth ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("token", [None, ""])
@pytest.mark.parametrize("auth", [None, "Bearer ", "Bearer", f"Bearer {TOKEN}"])
def test_without_a_configured_token_the_api_is_disabled_never_open(
    lookup: StateLookup, token: str | None, auth: str | None
) -> None:
    status, body = ask(lookup, "phone", GIULIA_PHONE, auth=auth, token=token)
    assert status == 503
    assert body["error"] == "api_disabled"
    assert "OMNIJOURNEY_API_TOKEN" in body["message"]
    assert lookup.calls == []


WRONG_AUTH = ("", "Bearer", "Bearer ", "Bearer wrong", f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", TOKEN)


@pytest.mark.parametrize("auth", [None, *WRONG_AUTH, f"Basic {TOKEN}", f"Token {TOKEN}"])
def test_missing_or_wrong_bearer_is_401_before_anything_is_judged(
    lookup: StateLookup, auth: str | None
) -> None:
    for kind in ("phone", "passport"):  # an unknown type must not be revealed to a stranger either
        status, body = ask(lookup, kind, GIULIA_PHONE, auth=auth)
        assert (status, body["error"]) == (401, "unauthorized")
    assert lookup.calls == []


@pytest.mark.parametrize("auth", [f"Bearer {TOKEN}", f"bearer {TOKEN}", f"BEARER  {TOKEN} "])
def test_the_right_bearer_token_is_accepted_whatever_the_scheme_case(lookup: StateLookup, auth: str) -> None:
    status, _ = ask(lookup, "phone", GIULIA_PHONE, auth=auth)
    assert status == 200


# -- identifiers -----------------------------------------------------------------------------------


def test_unknown_identifier_type_is_400_with_the_allowed_types(lookup: StateLookup) -> None:
    status, body = ask(lookup, "passport", "X1234567")
    assert (status, body["error"]) == (400, "unknown_identifier_type")
    wanted = {"phone", "email", "loyalty_id", "customer_id", "cookie", "device", "crm_id"}
    assert wanted <= set(body["allowed"])
    assert lookup.calls == []


def test_unknown_value_is_404_after_asking_the_lookup(lookup: StateLookup) -> None:
    status, body = ask(lookup, "loyalty_id", "LOY-NOBODY")
    assert (status, body["error"]) == (404, "not_found")
    assert lookup.calls == [("loyalty_id", "LOY-NOBODY")]


@pytest.mark.parametrize("typed", [GIULIA_PHONE, "333 123 4567", "0039 333-123-4567", "+393331234567"])
def test_a_raw_phone_is_looked_up_under_the_token_the_sdk_put_on_the_wire(
    lookup: StateLookup, giulia: list[Touch], typed: str
) -> None:
    (created,) = [t for t in giulia if t.event_type == "reservation_created"]
    (wire_phone,) = [v for k, v in created.identifiers if k == "hashed_phone"]
    status, body = ask(lookup, "phone", typed)
    assert status == 200
    assert lookup.calls == [("hashed_phone", wire_phone)]
    assert body["person_id"] == SCENARIO_BY_NAME["sofa"].person().person_id


def test_a_raw_email_typed_carelessly_finds_the_customer(lookup: StateLookup, giulia: list[Touch]) -> None:
    wire = {v for t in giulia for k, v in t.identifiers if k == "hashed_email"}
    status, body = ask(lookup, "email", "  Giulia.Rossi@Example.IT ")
    assert status == 200
    assert len(wire) == 1
    assert lookup.calls == [("hashed_email", wire.pop())]
    assert body["person_id"] == SCENARIO_BY_NAME["sofa"].person().person_id


def test_given_hashes_are_normalised_and_checked(lookup: StateLookup, giulia: list[Touch]) -> None:
    (created,) = [t for t in giulia if t.event_type == "reservation_created"]
    (wire_phone,) = [v for k, v in created.identifiers if k == "hashed_phone"]
    status, _ = ask(lookup, "hashed_phone", wire_phone.upper())
    assert status == 200
    assert lookup.calls == [("hashed_phone", wire_phone)]
    status, body = ask(lookup, "hashed_phone", "333 123 4567")
    assert (status, body["error"]) == (400, "invalid_identifier")
    assert "333" not in body["message"], "raw personal data must not be echoed"
    assert len(lookup.calls) == 1


@pytest.mark.parametrize(
    ("kind", "value"), [("phone", "12ab34"), ("phone", "12"), ("email", "giulia at home")]
)
def test_invalid_raw_pii_is_400_and_never_echoed(lookup: StateLookup, kind: str, value: str) -> None:
    status, body = ask(lookup, kind, value)
    assert (status, body["error"]) == (400, "invalid_identifier")
    assert value not in json.dumps(body)
    assert lookup.calls == []


@pytest.mark.parametrize("value", ["", "L" * 513])
def test_empty_or_oversized_values_are_400(lookup: StateLookup, value: str) -> None:
    status, body = ask(lookup, "loyalty_id", value)
    assert (status, body["error"]) == (400, "invalid_identifier")
    assert lookup.calls == []


def test_a_failing_lookup_is_503_to_retry_and_the_log_has_no_personal_data(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Down:
        async def card_for(self, identifier_type: str, value: str) -> dict[str, Any] | None:
            raise ConnectionError("owner of partition 3 unreachable")

    with caplog.at_level(logging.ERROR):
        status, body = ask(Down(), "phone", GIULIA_PHONE)
    assert (status, body["error"]) == (503, "lookup_unavailable")
    assert caplog.records, "the failure is logged for operators"
    assert GIULIA_PHONE not in caplog.text
    assert HASHER.phone(GIULIA_PHONE) not in caplog.text


# -- the card --------------------------------------------------------------------------------------


def test_the_card_by_phone_shows_the_reservation_the_chat_summary_and_the_journey(
    lookup: StateLookup, giulia: list[Touch]
) -> None:
    person = SCENARIO_BY_NAME["sofa"].person()
    created = next(t for t in giulia if t.event_type == "reservation_created")
    ended = next(t for t in giulia if t.event_type == "chat_ended")
    status, body = ask(lookup, "phone", "333 123 4567")
    assert status == 200
    assert json.loads(json.dumps(body)) == body, "plain JSON, no datetimes or tuples"
    (reservation,) = body["open_intents"]["reservations"]
    assert reservation["reservation_id"] == created.reservation_id == "RES-SOFA-GIULIA"
    assert reservation["store_id"] == person.store.store_id
    hold = created.event_time + dt.timedelta(days=RESERVATION_HOLD_DAYS)
    assert dt.datetime.fromisoformat(reservation["expires_at"]) == hold
    (conversation,) = body["open_conversations"]
    assert conversation["summary"] == ended.summary
    assert conversation["channels"][0]["channel"] == "chat"
    assert body["last_touchpoints"]["chat"]["event_id"] == ended.event_id
    journey = body["journey"]
    assert journey is not None
    assert journey["status"] == "open", "no pickup yet"
    assert journey["channel_path"][-1] == "chat"
    assert dt.datetime.fromisoformat(journey["started_at"]) == min(t.event_time for t in giulia)
    assert body["alerts"] == []


def test_the_card_by_loyalty_card_shows_the_alert_for_a_reservation_the_store_cannot_find(
    lookup: StateLookup,
) -> None:
    person = SCENARIO_BY_NAME["sofa_reservation_lost"].person()
    (handoff,) = [h for h in _simulated()[1].handoffs if h.person_id == person.person_id]
    assert person.loyalty_id is not None
    status, body = ask(lookup, "loyalty_id", person.loyalty_id)
    assert status == 200
    assert body["person_id"] == person.person_id
    (alert,) = body["alerts"]
    assert alert["kind"] == "reservation_missing_at_store"
    assert (alert["reservation_id"], alert["store_id"]) == (handoff.reservation_id, handoff.store_id)
    assert alert["message"]
    (reservation,) = body["open_intents"]["reservations"]
    assert reservation["reservation_id"] == handoff.reservation_id
    assert reservation["missing_at_store"] is True


# -- served by a Faust app (its real aiohttp router; requests built in memory, no socket) ----------


@pytest.fixture
def app(lookup: StateLookup, tmp_path: Path) -> faust.App:
    app = faust.App(f"web-test-{id(lookup)}", broker="memory://", datadir=str(tmp_path), autodiscover=False)
    register_continuity_routes(app, lookup, token=TOKEN, hash_identifier=HASH)
    return app


def get(app: faust.App, path: str, headers: dict[str, str] | None = None) -> Any:
    async def run() -> Any:
        web_app = app.web.web_app  # type: ignore[attr-defined]  # the aiohttp driver's Application
        request = make_mocked_request("GET", path, headers=headers or {}, app=web_app)
        match = await web_app.router.resolve(request)
        assert match.http_exception is None, f"{path} is not routed"
        request._match_info = match
        return await match.handler(request)

    return asyncio.run(run())


def test_the_worker_route_answers_with_the_card_and_no_store(app: faust.App) -> None:
    response = get(app, "/continuity/phone/%2B39%20333%20123%204567", {"Authorization": f"Bearer {TOKEN}"})
    assert response.status == 200
    assert response.content_type == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    body = json.loads(response.body)
    assert body["open_intents"]["reservations"][0]["reservation_id"] == "RES-SOFA-GIULIA"


def test_the_worker_route_asks_for_a_bearer_token(app: faust.App) -> None:
    response = get(app, "/continuity/phone/%2B39%20333%20123%204567")
    assert response.status == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert json.loads(response.body)["error"] == "unauthorized"


@pytest.mark.parametrize(
    ("path", "file", "content_type"),
    [
        ("/desk", "desk.html", "text/html"),
        ("/desk/", "desk.html", "text/html"),
        ("/desk/desk.css", "desk.css", "text/css"),
        ("/desk/desk.js", "desk.js", "text/javascript"),
    ],
)
def test_the_desk_and_its_assets_are_served_with_their_content_types(
    app: faust.App, path: str, file: str, content_type: str
) -> None:
    response = get(app, path)
    assert response.status == 200
    assert response.content_type == content_type
    assert response.text == (DESK_DIR / file).read_text(encoding="utf-8")
    if file == "desk.html":
        assert "script-src 'self'" in response.headers["Content-Security-Policy"]


# -- the static page -------------------------------------------------------------------------------


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.label_for: list[str] = []
        self.options: list[str] = []
        self.refs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(str(a["id"]))
        if tag == "label" and a.get("for"):
            self.label_for.append(str(a["for"]))
        if tag == "option":
            self.options.append(str(a.get("value")))
        self.refs += [str(a[k]) for k in ("src", "href") if a.get(k)]


def test_the_desk_assets_exist_and_keep_the_documented_contract() -> None:
    texts = {
        name: (DESK_DIR / name).read_text(encoding="utf-8") for name in ("desk.html", "desk.css", "desk.js")
    }
    assert all(len(text) > 500 for text in texts.values())
    page = _Page()
    page.feed(texts["desk.html"])
    assert set(DESK_IDS) <= page.ids
    assert set(page.label_for) >= {"identifier-type", "identifier-value", "api-token"}
    assert set(page.label_for) <= page.ids, "every label points at a control"
    assert {"phone", "email", "loyalty_id", "customer_id", "cookie", "device", "crm_id"} <= set(page.options)
    assert set(page.options) <= set(IDENTIFIER_TYPES), "the form only offers types the API accepts"
    linked = {ref for ref in page.refs if not ref.startswith("data:")}
    assert linked == {"/desk/desk.css", "/desk/desk.js"}, "no third-party origin, no build output"
    for text in texts.values():
        assert "http://" not in text
        assert "https://" not in text
    js = texts["desk.js"]
    assert "'/continuity/'" in js
    assert "encodeURIComponent(type) + '/' + encodeURIComponent(value)" in js
    assert "Authorization: 'Bearer ' + token" in js
    assert "sessionStorage" in js
    assert "innerHTML" not in js, "card texts (typed by people) are never parsed as HTML"
    classes = (
        "intent reservation|summary|alert|conversation|reservation-id|alert-message|journey-path|touchpoint"
    )
    for cls in classes.split("|"):
        assert f"class: '{cls}'" in js, cls

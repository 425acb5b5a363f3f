"""The journey stage on the real broker: the sofa story's continuity card, live, and in the desk.

Giulia's story is produced up to the moment she walks into the store (the reservation made in
chat is open); Sara's whole story is produced (the store cannot find her reservation). Through the
producer SDK, the stitching identity stage, the journey stage and the sink, the test then reads
what the next person serving them would see: the card by the phone number a clerk types, the
agent-desk page in headless Chromium (screenshot saved under .run/artifacts), and the journeys
and alerts rows analysts get in ClickHouse.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from producers.sdk import TouchpointProducer
from producers.simulator import SCENARIO_BY_NAME, simulate
from streams.whois_command import fetch_whois, render_whois
from streams.wiring import make_codec, producer_config
from tests.integration.conftest import Isolated
from tests.integration.desk_browser import headless_page
from tests.integration.sink_process import sql

pytestmark = pytest.mark.integration

ARTIFACTS = Path(__file__).resolve().parents[2] / ".run" / "artifacts"
GIULIA_PHONE = "333 123 4567"  # as a clerk would type it; the SDK saw "+39 333 123 4567"


def sofa_events() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Giulia's payloads until she reaches the store, and Sara's whole story, in arrival order."""
    simulation = simulate(customers=0, days=1, seed=11)
    events = [e for e in simulation if e.valid]
    person_of = simulation.ground_truth.event_person()
    giulia = SCENARIO_BY_NAME["sofa"].person().person_id
    sara = SCENARIO_BY_NAME["sofa_reservation_lost"].person().person_id
    mine: dict[str, list[dict[str, Any]]] = {giulia: [], sara: []}
    stopped = False
    for event in events:
        person = person_of[event.event_id]
        if person == giulia and (stopped or event.payload["event_type"] == "store_visit"):
            stopped = True
            continue
        if person in mine:
            mine[person].append(event.payload)
    return mine[giulia], mine[sara]


def card(isolated: Isolated, kind: str, value: str) -> tuple[int, dict[str, Any]]:
    s = isolated.settings
    request = urllib.request.Request(
        f"http://{s.web_host}:{s.web_port}/continuity/{kind}/{quote(value, safe='')}",
        headers={"Authorization": f"Bearer {s.api_token.get_secret_value()}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as exc:
        return exc.code, json.load(exc)


def wait_for_card(
    isolated: Isolated, kind: str, value: str, ready: Any, timeout_s: float = 180
) -> dict[str, Any]:
    deadline, last = time.monotonic() + timeout_s, None
    while time.monotonic() < deadline:
        status, body = card(isolated, kind, value)
        last = (status, body)
        if status == 200 and ready(body):
            return body
        time.sleep(1.0)
    raise AssertionError(f"card for {kind} {value!r} never became ready; last answer {last}")


def test_the_sofa_story_reaches_the_card_the_desk_and_clickhouse(stitched: Isolated) -> None:
    giulia, sara = sofa_events()
    assert giulia
    assert sara
    chat_summaries = [
        p["context"]["summary"] for p in giulia if p["channel"] == "chat" and p["context"].get("summary")
    ]
    assert chat_summaries, "the story has a chat with a transcript summary"
    with TouchpointProducer(producer_config(stitched.settings), make_codec(stitched.settings)) as producer:
        for payload in [*giulia, *sara]:
            producer.send(payload)

    def reservation_open(body: dict[str, Any]) -> bool:
        return any(r["reservation_id"] == "RES-SOFA-GIULIA" for r in body["open_intents"]["reservations"])

    body = wait_for_card(stitched, "phone", GIULIA_PHONE, reservation_open)
    reservation = next(
        r for r in body["open_intents"]["reservations"] if r["reservation_id"] == "RES-SOFA-GIULIA"
    )
    reserved_in_chat = next(p for p in giulia if p["event_type"] == "reservation_created")
    assert reservation["store_id"] == reserved_in_chat["context"]["store_id"]
    assert reservation["status"] == "open"
    assert not reservation["missing_at_store"]
    summaries = {c["summary"] for c in body["open_conversations"] + body["recent_conversations"]}
    assert chat_summaries[-1] in summaries
    assert body["journey"] is not None
    assert body["journey"]["status"] == "open"
    assert body["alerts"] == []  # the happy story has no broken hand-off (yet)

    who = fetch_whois(stitched.settings, "phone", GIULIA_PHONE)  # what `omnijourney whois` asks
    assert who["status"] == "linked"
    assert who["person_id"] == body["person_id"]
    member_types = {m["key"].split(":", 1)[0] for m in who["members"]}
    assert {"hashed_phone", "hashed_email", "cookie"} <= member_types  # stitched across channels
    assert f"person {body['person_id']}" in render_whois(who)
    assert fetch_whois(stitched.settings, "phone", "333 000 0000")["status"] == "unknown"

    sara_loyalty = next(i["value"] for p in sara for i in p["identifiers"] if i["type"] == "loyalty_id")

    # Until the stitching merges Sara's online and in-store halves, the half that saw the
    # reservation expire may show "not picked up"; the merged card keeps only the truer alert.
    def missing_found(body: dict[str, Any]) -> bool:
        return any(a["kind"] == "reservation_missing_at_store" for a in body["alerts"])

    sara_card = wait_for_card(stitched, "loyalty_id", sara_loyalty, missing_found)
    assert {a["kind"] for a in sara_card["alerts"]} == {"reservation_missing_at_store"}
    assert sara_card["alerts"][0]["reservation_id"] == "RES-SOFA-SARA"
    assert card(stitched, "phone", "333 000 0000")[0] == 404

    desk = asyncio.run(look_up_in_desk(stitched, GIULIA_PHONE))
    assert desk["reservations"] == ["RES-SOFA-GIULIA"]
    assert chat_summaries[-1] in desk["summaries"]
    assert desk["errors"] == []

    rows = wait_for_sql(
        stitched, "SELECT count() AS n FROM v_alerts WHERE kind = 'reservation_missing_at_store'"
    )
    assert rows[0][0] == 1
    journeys = wait_for_sql(stitched, "SELECT countIf(status = 'open'), count() FROM v_journeys")
    assert journeys[0][1] >= 2
    assert journeys[0][0] >= 1


async def look_up_in_desk(isolated: Isolated, phone: str) -> dict[str, Any]:
    """Type the phone number into the agent desk like a clerk; read what the page shows."""
    s = isolated.settings
    async with headless_page(f"http://{s.web_host}:{s.web_port}/desk") as page:
        form = {
            "identifier-type": "phone",
            "identifier-value": phone,
            "api-token": s.api_token.get_secret_value(),
        }
        script = "".join(
            f"document.getElementById({json.dumps(k)}).value = {json.dumps(v)};" for k, v in form.items()
        )
        await page.evaluate(script + "document.getElementById('lookup-submit').click(); true")
        await page.wait_for("document.getElementById('status').dataset.state === 'ok'")
        shown = await page.evaluate(
            """JSON.stringify({
              reservations: [...document.querySelectorAll('.intent.reservation .reservation-id')]
                .map(e => e.textContent.trim()),
              summaries: [...document.querySelectorAll('.conversation .summary')]
                .map(e => e.textContent.trim()),
            })"""
        )
        await page.screenshot(ARTIFACTS / "agent-desk.png")
        return {**json.loads(shown), "errors": page.console_errors}


def wait_for_sql(isolated: Isolated, query: str, timeout_s: float = 120) -> list[list[Any]]:
    """Rows of ``query`` through the sink's /sql, once the sink has written something it counts."""
    deadline, last = time.monotonic() + timeout_s, None
    while time.monotonic() < deadline:
        status, body = sql(isolated, query)
        last = (status, body)
        if status == 200 and body["rows"] and all(body["rows"][0]):
            return list(body["rows"])
        time.sleep(1.0)
    raise AssertionError(f"no rows for {query!r}; last answer {last}")

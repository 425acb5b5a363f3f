"""``omnijourney whois TYPE VALUE``: ask the running worker, print what it knows of one identifier.

The worker answers ``GET /identity/{type}/{value}`` from the workers owning each key; a raw e-mail
or phone number is hashed there with the deployment's key, as the SDK hashes it.
"""

from __future__ import annotations

import datetime as dt
import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import quote

from schemas.errors import OmnijourneyError
from streams.settings import Settings
from streams.wiring import worker_url


def fetch_whois(settings: Settings, kind: str, value: str) -> dict[str, Any]:
    url = f"{worker_url(settings)}/identity/{quote(kind, safe='')}/{quote(value, safe='')}"
    request = urllib.request.Request(
        url, headers={"Authorization": f"Bearer {settings.api_token.get_secret_value()}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return dict(json.load(response))
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return dict(json.load(exc))
        raise OmnijourneyError(
            f"the worker refused the lookup: HTTP {exc.code} {exc.read()[:200]!r}"
        ) from None
    except OSError as exc:
        raise OmnijourneyError(
            f"no worker answers at {worker_url(settings)} ({exc}); is it running?"
        ) from None


def _when(ms: int | None) -> str:
    if ms is None:
        return "-"
    return (dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(milliseconds=ms)).isoformat(
        timespec="seconds"
    )


def render_whois(found: dict[str, Any]) -> str:
    if found["status"] == "unknown":
        return f"{found['key']}: unknown"
    lines = [f"{found['key']}: person {found['person_id']} ({found['status']})"]
    if found.get("over_linked"):
        lines.append(f"  stopped linking: {found['over_linked']}")
    lines.append("  identifiers (first seen, last seen):")
    lines += [f"    {m['key']}  {_when(m['first_seen'])}  {_when(m['last_seen'])}" for m in found["members"]]
    if found["merges"]:
        lines.append("  merges (merged away -> into, event, time, rule):")
        lines += [
            f"    {lo} -> {into}  {event}  {_when(t)}  {rule}" for lo, into, event, t, rule in found["merges"]
        ]
    if found["refused_links"]:
        lines.append("  links refused by limits (identifier, anchor, rule):")
        lines += [f"    {k}  {a}  {r}" for k, a, r in found["refused_links"]]
    return "\n".join(lines)


def print_whois(settings: Settings, kind: str, value: str) -> None:
    print(render_whois(fetch_whois(settings, kind, value)))

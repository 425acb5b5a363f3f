"""``omnijourney forget TYPE VALUE [--dry-run]``: erase a person everywhere, print a receipt.

Steps (each a plain function of the settings, so the integration test runs the real command):

1. the identifier as on the wire (raw e-mail and phone hashed as the SDK hashes them) and its
   state key;
2. the plan: the person's identifiers and person ids from the running worker's ``whois``, plus
   the person ids the store knows (resolved touchpoints carrying the identifier when the state
   does not know it, and every alias the sink recorded as merged into one of them);
3. ``POST /privacy/erase`` on the worker: it counts the state entries and, unless dry run,
   publishes the suppressions and erase messages (see :mod:`streams.privacy.web`);
4. ClickHouse: a dry run counts the rows; a real run waits for the sink's ``erasures`` ledger row
   (the sink deletes and cleans up), then checks that whois no longer knows any identifier and
   the continuity API finds nobody.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import quote

from producers.pii import PiiHasher
from schemas.errors import OmnijourneyError
from sinks.erasure import Subjects, conditions
from sinks.erasure import quote as sql_quote
from streams.identity.guards import key_of
from streams.journeys.web import pii_identifier_hasher
from streams.privacy.plan import ErasurePlan, aliases_sql, make_plan, store_persons_sql
from streams.privacy.receipt import Receipt
from streams.settings import Settings
from streams.whois_command import fetch_whois
from streams.wiring import identity_policy, store_query, worker_url

POLL_S = 0.5


def wire_identifier(settings: Settings, kind: str, value: str) -> tuple[str, str]:
    """``(type, value)`` as the SDK puts it on the wire, and so as every table holds it."""
    if kind in ("email", "phone"):
        hasher = PiiHasher(settings.pii_hash_key.get_secret_value().encode(), settings.phone_country_code)
        return pii_identifier_hasher(hasher)(kind, value)
    return kind, value


def _rows(settings: Settings, sql: str) -> list[list[Any]]:
    return list(store_query(settings, sql)["rows"])


def plan_erasure(settings: Settings, kind: str, value: str) -> ErasurePlan:
    kind, value = wire_identifier(settings, kind, value)
    key = key_of(kind, value, identity_policy(settings))
    whois = fetch_whois(settings, kind, value)
    found: set[str] = set()
    if whois.get("status") == "unknown":  # the state does not know it: the store may still
        found |= {str(r[0]) for r in _rows(settings, store_persons_sql([key]))}
    known = found | ({str(whois["person_id"])} if whois.get("person_id") else set())
    if known:
        for alias, survivor in _rows(settings, aliases_sql(sorted(known))):
            if survivor in known:
                found.add(str(alias))
    return make_plan(key, whois, found)


def post_erase(
    settings: Settings, plan: ErasurePlan, dry_run: bool, requested_at: dt.datetime
) -> dict[str, Any]:
    body = {
        "erasure_id": plan.erasure_id,
        "requested": plan.requested,
        "identifiers": list(plan.identifiers),
        "persons": list(plan.persons),
        "survivor": plan.survivor,
        "requested_at": int(requested_at.timestamp() * 1000),
        "dry_run": dry_run,
    }
    request = urllib.request.Request(
        f"{worker_url(settings)}/privacy/erase",
        data=json.dumps(body).encode(),
        method="POST",
        headers={
            "Authorization": f"Bearer {settings.api_token.get_secret_value()}",
            "Content-Type": "application/json",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return dict(json.load(response))
    except urllib.error.HTTPError as exc:
        raise OmnijourneyError(
            f"the worker refused the erasure: HTTP {exc.code} {exc.read()[:200]!r}"
        ) from None
    except OSError as exc:
        raise OmnijourneyError(
            f"no worker answers at {worker_url(settings)} ({exc}); is it running?"
        ) from None


def count_rows(settings: Settings, plan: ErasurePlan) -> dict[str, int]:
    """Rows per table the erasure covers, as analysts see them (what the sink counts before deleting)."""
    where = conditions(Subjects(plan.persons, plan.identifiers))
    sql = " UNION ALL ".join(
        f"SELECT {sql_quote(t)} AS t, count() AS n FROM {t} FINAL WHERE {w}" for t, w in where.items()
    )
    return {str(t): int(n) for t, n in _rows(settings, sql)}


def wait_for_store(settings: Settings, plan: ErasurePlan, timeout_s: float) -> dict[str, int] | None:
    """The rows the sink removed, from its ledger, once it applied every suppression (None: timed out)."""
    sql = f"SELECT subjects, removed FROM erasures WHERE erasure_id = {sql_quote(plan.erasure_id)}"
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            rows = _rows(settings, sql)
        except OmnijourneyError:
            rows = []  # no sink yet, or an older store without the ledger
        if sum(int(r[0]) for r in rows) >= plan.subjects:
            removed: dict[str, int] = {}
            for _, counts in rows:
                for table, n in dict(counts).items():
                    removed[str(table)] = removed.get(str(table), 0) + int(n)
            return removed
        if time.monotonic() > deadline:
            return None
        time.sleep(POLL_S)


def _get(settings: Settings, path: str) -> int:
    request = urllib.request.Request(
        f"{worker_url(settings)}{path}",
        headers={"Authorization": f"Bearer {settings.api_token.get_secret_value()}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except OSError:
        return 0


def verify(settings: Settings, plan: ErasurePlan, timeout_s: float) -> dict[str, str]:
    """Poll until whois and the continuity API know none of the identifiers (or time runs out)."""
    checks = {"whois": "/identity", "continuity": "/continuity"}
    outcome: dict[str, str] = {}
    deadline = time.monotonic() + timeout_s
    for name, prefix in checks.items():
        paths = [
            f"{prefix}/{quote(t, safe='')}/{quote(v, safe='')}"
            for t, _, v in (k.partition(":") for k in plan.identifiers)
        ]
        while True:
            known = [p for p in paths if _get(settings, p) != 404]
            if not known or time.monotonic() > deadline:
                break
            time.sleep(POLL_S)
        total = len(paths)
        outcome[name] = f"{total - len(known)}/{total} identifiers not found" + (
            "" if not known else " (TIMED OUT)"
        )
    return outcome


def forget(
    settings: Settings, kind: str, value: str, *, dry_run: bool = False, wait_s: float = 180.0
) -> Receipt:
    """Run the erasure (or its dry run) and return its receipt."""
    plan = plan_erasure(settings, kind, value)
    requested_at = dt.datetime.now(dt.UTC)
    answer = post_erase(settings, plan, dry_run, requested_at)
    plan = ErasurePlan(
        plan.erasure_id, plan.requested, tuple(answer["identifiers"]), tuple(answer["persons"]), plan.survivor
    )
    receipt = Receipt(
        erasure_id=plan.erasure_id,
        dry_run=dry_run,
        requested=plan.requested,
        identifiers=list(plan.identifiers),
        persons=list(plan.persons),
        survivor=plan.survivor,
        state=dict(answer["state"]),
        rows={},
        suppressions=plan.subjects,
        suppression_topic=settings.topics.suppressions,
        published=dict(answer["published"]),
    )
    if dry_run:
        receipt.rows = count_rows(settings, plan)
        return receipt
    removed = wait_for_store(settings, plan, wait_s)
    receipt.store_applied = removed is not None
    receipt.rows = removed or {}
    receipt.verified = verify(settings, plan, wait_s)
    return receipt

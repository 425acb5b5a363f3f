"""The receipt ``omnijourney forget`` prints: what was (or, in a dry run, would be) removed.

It never holds raw personal data: identifiers appear as on the wire (e-mail and phone as the
SDK's HMAC hashes), persons by their pseudonymous ids.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Receipt:
    erasure_id: str
    dry_run: bool
    requested: str  # identifier key asked for
    identifiers: list[str]
    persons: list[str]
    survivor: str | None
    state: dict[str, int]  # state table -> entries holding the person
    rows: dict[str, int]  # ClickHouse table -> rows (FINAL) of the person
    suppressions: int  # suppression records (one per identifier and person id)
    suppression_topic: str
    published: dict[str, int] = field(default_factory=dict)
    store_applied: bool = False  # the sink's ledger shows the erasure applied
    verified: dict[str, str] = field(default_factory=dict)  # check -> outcome

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)


def _table(items: dict[str, Any], indent: str = "  ") -> list[str]:
    if not items:
        return [f"{indent}(none)"]
    width = max(len(k) for k in items)
    return [f"{indent}{k.ljust(width)}  {v}" for k, v in sorted(items.items())]


def render(receipt: Receipt) -> str:
    verb = "would remove" if receipt.dry_run else "removed"
    head = "DRY RUN, nothing changed" if receipt.dry_run else "done"
    lines = [f"erasure {receipt.erasure_id} ({head})", f"requested: {receipt.requested}"]
    lines.append(f"identifiers ({len(receipt.identifiers)}, as on the wire):")
    lines += [f"  {k}" for k in receipt.identifiers]
    lines.append(f"persons ({len(receipt.persons)}):")
    lines += [
        f"  {p}  {'survivor' if p == receipt.survivor else 'merged away / resolved before'}"
        for p in receipt.persons
    ]
    lines.append(f"state entries {verb}:")
    lines += _table(receipt.state)
    lines.append(f"ClickHouse rows {verb} (as analysts see them):")
    lines += _table(receipt.rows)
    if receipt.rows:
        lines.append(f"  total  {sum(receipt.rows.values())}")
    written = "would be written" if receipt.dry_run else "written"
    lines.append(f"suppression records {written}: {receipt.suppressions} on {receipt.suppression_topic}")
    if not receipt.dry_run:
        if receipt.published:
            lines.append("messages published:")
            lines += _table(receipt.published)
        state = "applied (lightweight DELETE, APPLY DELETED MASK, OPTIMIZE FINAL)"
        lines.append(
            f"store: {state if receipt.store_applied else 'PENDING: the sink applies it when it runs'}"
        )
        if receipt.verified:
            lines.append("verified:")
            lines += _table(receipt.verified)
    return "\n".join(lines)

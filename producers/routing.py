"""Where a touchpoint goes: its topic (one per channel) and its key (its strongest identifier).

The key decides the partition, and so which events of one customer stay in order. The strongest
identifier a channel has is the one least likely to change between that customer's events: an
account id beats an email, which beats a device or a cookie that are replaced or shared.
"""

from __future__ import annotations

from collections.abc import Mapping

from schemas.models import Channel, IdentifierType

# Lower is stronger; the first of equals wins. Raw ``email``/``phone`` never reach the key: they
# are hashed first (see ``producers.prepare.hash_identifiers``, which picks the key as it hashes).
KEY_PRIORITY: Mapping[str, int] = {
    IdentifierType.CUSTOMER_ID.value: 0,
    IdentifierType.CRM_ID.value: 1,
    IdentifierType.LOYALTY_ID.value: 2,
    IdentifierType.HASHED_EMAIL.value: 3,
    IdentifierType.HASHED_PHONE.value: 4,
    IdentifierType.DEVICE.value: 5,
    IdentifierType.COOKIE.value: 6,
    IdentifierType.AD_ID.value: 7,
    IdentifierType.OTHER.value: 8,
}


def topic_for(prefix: str, channel: str) -> str:
    """``touchpoints.web`` for the web channel under the default prefix."""
    return f"{prefix}.{channel}"


def channel_topics(prefix: str) -> dict[str, str]:
    """Topic of every channel, by channel value, computed once per producer."""
    return {channel.value: topic_for(prefix, channel.value) for channel in Channel}

"""Which worker's web server owns a key: the one consuming the key's partition of a topic.

Used by the routed lookups (continuity cards, whois), which answer locally when this worker owns
the key and ask the owner otherwise.
"""

from __future__ import annotations

import faust
from yarl import URL


def owner_of(app: faust.App, topic: str, key: str) -> URL | None:
    """The owner's web URL from Faust's assignment metadata (None: not known yet)."""
    partition = app.producer.key_partition(topic, key.encode()).partition
    for host, topics in app.router.external_topics_metadata().items():
        if partition in topics.get(topic, ()):
            return URL(host)
    return None


def is_local(app: faust.App, owner: URL | None) -> bool:
    return owner is None or owner == URL(str(app.conf.canonical_url))

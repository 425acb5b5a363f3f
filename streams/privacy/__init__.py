"""GDPR erasure (``omnijourney forget``): plan, worker endpoint, stage hooks, receipt.

The sink's half (screening, ClickHouse deletes, the ``erasures`` ledger) lives in ``sinks/``
(``suppressions.py``, ``erasure.py``, ``privacy.py``), because the sink never imports ``streams``.
"""

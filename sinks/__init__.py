"""ClickHouse sink: unified touchpoints, journeys and identities for analysts.

Depends on ``schemas`` only, so it can run and be tested without Faust.
"""

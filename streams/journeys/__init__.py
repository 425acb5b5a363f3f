"""Journey stage: sessions, journeys, continuity cards and broken hand-off alerts, keyed by person_id.

The logic modules here are plain Python over :class:`streams.journeys.touch.Touch` values so unit
tests drive them without a broker; the Faust agent only decodes, calls them and publishes.
"""

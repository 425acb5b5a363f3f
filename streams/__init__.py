"""Faust stream processors and the ``omnijourney`` command line: the composition root.

Builds the one :class:`streams.settings.Settings` object at start and hands plain config objects to
``producers`` and ``sinks``, which never import this package.
"""

"""The continuity API and the agent-desk page, declared on the worker's Faust web server.

Routes (all GET; Faust adds HEAD):

- ``/continuity/{identifier_type}/{value}``: the continuity card as JSON (see
  :mod:`streams.journeys.card`), or ``{"error": code, "message": sentence}`` with 400 (unknown
  identifier type, invalid value), 401 (missing or wrong ``Authorization: Bearer <token>``),
  404 (nobody holds the identifier), 503 (API disabled: no token configured; or the owning
  worker did not answer). ``identifier_type`` is any wire type (``loyalty_id``, ``customer_id``,
  ``cookie``, ``device``, ``crm_id``, ``ad_id``, ``hashed_email``, ``hashed_phone``, ``other``) or
  the raw ``email`` / ``phone``, hashed here exactly as the SDK hashes them. ``value`` is one
  percent-encoded path segment (``%2B39%20333...`` for ``+39 333...``; ``%2F`` for a slash).
  Answers are ``Cache-Control: no-store``: they hold personal data.
- ``/desk`` (and ``/desk/``): the agent-desk page; ``/desk/desk.css``, ``/desk/desk.js``: its
  assets (``text/css``, ``text/javascript``). No build step, no third-party origin: the page's
  Content-Security-Policy only allows this worker.

The request handling is :func:`~streams.journeys.web_api.handle_continuity`; the view here only
copies the request in and the answer out, so the unit tests cover the logic without a server.

Agent-desk DOM contract (stable; browser tests assert on it; ``>`` means "contains")::

    form#lookup-form             select#identifier-type (option values = API types),
                                 input#identifier-value, input#api-token, button#lookup-submit
    #status                      role=status; data-state = idle | loading | ok | error,
                                 data-http-status = the last answer's HTTP status
    #card                        hidden until a card is shown; data-person-id = person_id
      #card-person               h2 #person-id, #as-of (time), ul#identifiers > li.identifier
      #alerts                    .alert[data-kind][data-alert-id] > .alert-kind, .alert-message,
                                 .alert-time; .empty when there are none
      #intents                   .intent.reservation[data-reservation-id] > .reservation-id,
                                 .reservation-store, .reservation-expires (time), .reservation-products,
                                 .reservation-missing (only when missing at the store);
                                 .intent.cart, .intent.return
      #conversations             .conversation[data-conversation-id] > .conversation-status,
                                 ol.channels > li.channel-leg[data-channel], .summary (latest
                                 transcript summary), ol.summaries > li
      #journey                   .journey-status, .journey-stage, ol.journey-path > li.path-step;
                                 .empty when there is no current journey
      #last-touchpoints          tr.touchpoint[data-channel] > .touchpoint-channel, .touchpoint-type,
                                 .touchpoint-time
      #recent-conversations      closed conversations, same markup as #conversations
      #consent                   .consent[data-purpose][data-granted="true"|"false"]

    Empty sections show one ``.empty`` paragraph; ``#alerts`` and ``#intents`` get the class
    ``has-items`` when they have entries (``#intents`` also ``has-reservation``).

The token the clerk types is kept in ``sessionStorage`` (key ``omnijourney.desk.token``): it
survives reloads of the tab, not the closing of the browser.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

import faust
from faust.web import Request, Response, View

from streams.journeys.web_api import (
    IDENTIFIER_TYPES,
    ContinuityLookup,
    IdentifierHasher,
    handle_continuity,
    pii_identifier_hasher,
)

__all__ = [
    "API_PATH",
    "DESK_DIR",
    "DESK_IDS",
    "IDENTIFIER_TYPES",
    "ContinuityLookup",
    "DeskAsset",
    "IdentifierHasher",
    "desk_assets",
    "handle_continuity",
    "pii_identifier_hasher",
    "register_continuity_routes",
]

API_PATH: Final = "/continuity/{identifier_type}/{value}"
#: Element ids of the desk page that browser tests may rely on (see the DOM contract above).
DESK_IDS: Final = (
    *("lookup-form", "identifier-type", "identifier-value", "api-token", "lookup-submit", "status"),
    *("card", "card-person", "person-id", "as-of", "identifiers", "alerts", "intents", "conversations"),
    *("journey", "last-touchpoints", "recent-conversations", "consent"),
)
DESK_DIR: Final = Path(__file__).resolve().parent / "desk"
_ASSETS: Final = (
    ("/desk", "desk.html", "text/html"),
    ("/desk/desk.css", "desk.css", "text/css"),
    ("/desk/desk.js", "desk.js", "text/javascript"),
)
# Only this worker: no inline script or style, no other origin, not framed by anyone.
_CSP: Final = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


@dataclass(frozen=True, slots=True)
class DeskAsset:
    path: str  # URL path
    content_type: str
    text: str


def desk_assets(directory: Path = DESK_DIR) -> list[DeskAsset]:
    """The desk's files, read once: served from memory, so a later change of working directory
    or a deleted checkout cannot break a running worker's page. Raises if one is missing."""
    return [
        DeskAsset(path, ctype, (directory / name).read_text(encoding="utf-8"))
        for path, name, ctype in _ASSETS
    ]


def register_continuity_routes(
    app: faust.App,
    lookup: ContinuityLookup,
    *,
    token: str | None,
    hash_identifier: IdentifierHasher,
) -> None:
    """Declare the continuity API and the agent desk on ``app``'s web server (see the module doc).

    ``token`` None or empty disables the API (503), it never opens it. ``hash_identifier`` maps a
    raw ``email``/``phone`` to its wire identifier, e.g. :func:`pii_identifier_hasher` of the
    producers' :class:`~producers.pii.PiiHasher`.
    """

    @app.page(API_PATH, name="continuity")
    async def continuity(web: View, request: Request, identifier_type: str, value: str) -> Response:
        status, body = await handle_continuity(
            identifier_type,
            value,
            request.headers.get("Authorization"),
            lookup=lookup,
            token=token,
            hash_identifier=hash_identifier,
        )
        headers = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
        if status == 401:
            headers["WWW-Authenticate"] = 'Bearer realm="omnijourney"'
        return web.json(body, status=status, headers=headers)

    for asset in desk_assets():
        _serve(app, asset)
        if asset.path == "/desk":
            _serve(app, asset, "/desk/")


def _serve(app: faust.App, asset: DeskAsset, path: str | None = None) -> None:
    url = path or asset.path
    headers = {
        "Cache-Control": "no-cache",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }
    if asset.content_type == "text/html":
        headers["Content-Security-Policy"] = _CSP

    async def desk_file(web: View, request: Request) -> Response:
        return web.text(asset.text, content_type=asset.content_type, headers=dict(headers))

    desk_file.__name__ = "desk" + "".join(c if c.isalnum() else "_" for c in url)
    app.page(url, name=f"desk:{url}")(desk_file)

/* Agent desk: look a customer up by any identifier and show the continuity card.
 *
 * Plain browser JavaScript, no build step, no libraries. Calls
 *   GET /continuity/{identifier_type}/{value}   with   Authorization: Bearer <token>
 * and renders the JSON card (shape: streams/journeys/card.py). Every text from the card is set
 * with textContent, never parsed as HTML: transcript summaries are typed by people.
 * The DOM ids/classes are a contract for browser tests (streams/journeys/web.py docstring).
 */
(function () {
  'use strict';

  const TOKEN_KEY = 'omnijourney.desk.token';
  const API_PATH = '/continuity/';

  const CHANNELS = {
    web: 'Web', app: 'App', ads: 'Ads', social: 'Social', email: 'E-mail', chat: 'Chat',
    call_center: 'Call centre', store: 'Store', pos: 'Till (POS)', other: 'Other'
  };
  const ALERT_TITLES = {
    reservation_not_picked_up: 'Reservation not picked up',
    repeat_contact_other_channel: 'Repeat contact about an open case',
    campaign_landing_not_purchasable: 'Campaign landed where nothing can be bought',
    reservation_missing_at_store: 'Reservation missing at the store',
    chat_cannot_see_stock: 'Chat could not see store stock',
    other: 'Alert'
  };
  const HINTS = {
    phone: ['tel', 'Phone as the customer says it, e.g. 333 123 4567 or +39 333 123 4567.'],
    email: ['email', 'The e-mail address; case and spaces do not matter.'],
    loyalty_id: ['text', 'Scan or type the loyalty card number, e.g. LOY-00003001.'],
    hashed_phone: ['text', '64 hex digits, as stored by the pipeline.'],
    hashed_email: ['text', '64 hex digits, as stored by the pipeline.']
  };

  const $ = (sel) => document.querySelector(sel);

  /** An element with attributes/properties and children (strings become text nodes). */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === 'class') node.className = value;
      else if (key === 'data') Object.entries(value).forEach(([k, v]) => { node.dataset[k] = String(v); });
      else node.setAttribute(key, value === true ? '' : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function toDate(value) {
    if (value === null || value === undefined || value === '') return null;
    const d = typeof value === 'number' ? new Date(value) : new Date(String(value));
    return Number.isNaN(d.getTime()) ? null : d;
  }

  const absolute = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
  const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });

  function relativeTo(d) {
    const seconds = (d.getTime() - Date.now()) / 1000;
    const units = [['day', 86400], ['hour', 3600], ['minute', 60]];
    for (const [unit, size] of units) {
      if (Math.abs(seconds) >= size) return relative.format(Math.round(seconds / size), unit);
    }
    return relative.format(0, 'minute');
  }

  // Deadlines read "(in 3 days)" only while the card is live (its latest event within a day of this
  // device's clock): on a replay of old events the wall clock would contradict the card's "open".
  let liveCard = false;

  /** A <time> element; withRelative adds "(in 3 days)" for deadlines on a live card. */
  function time(value, cls, withRelative) {
    const d = toDate(value);
    if (!d) return el('span', { class: cls }, '—');
    const text = absolute.format(d) + (withRelative && liveCard ? ' (' + relativeTo(d) + ')' : '');
    return el('time', { class: cls, datetime: d.toISOString() }, text);
  }

  const channelName = (c) => CHANNELS[c] || c || '—';

  function facts(pairs) {
    const dl = el('dl', { class: 'facts' });
    for (const [label, value] of pairs) {
      if (value === null || value === undefined || value === '' ||
          (Array.isArray(value) && value.length === 0)) continue;
      dl.append(el('dt', {}, label), el('dd', {}, Array.isArray(value) ? value.join(', ') : value));
    }
    return dl;
  }

  function fill(sectionId, items, emptyText) {
    const list = $('#' + sectionId + ' .list');
    list.replaceChildren(...(items.length ? items : [el('p', { class: 'empty' }, emptyText)]));
    $('#' + sectionId).classList.toggle('has-items', items.length > 0);
  }

  // -- the card's parts ---------------------------------------------------------------------------

  function renderAlert(a) {
    return el('article', { class: 'alert', role: 'alert', data: { kind: a.kind, alertId: a.alert_id } },
      el('h3', { class: 'alert-kind' }, ALERT_TITLES[a.kind] || a.kind),
      el('p', { class: 'alert-message' }, a.message),
      el('p', { class: 'alert-time' }, 'At ', time(a.event_time), ' · ', channelName(a.channel),
        a.previous_channel ? ' after ' + channelName(a.previous_channel) : ''),
      facts([['Store', a.store_id], ['Reservation', a.reservation_id], ['Case', a.case_id],
        ['Campaign', a.campaign_id], ['Page', a.url]]));
  }

  function renderReservation(r) {
    return el('article', { class: 'intent reservation', data: { reservationId: r.reservation_id } },
      el('h3', {}, 'Reservation ', el('span', { class: 'reservation-id' }, r.reservation_id)),
      el('dl', { class: 'facts' },
        el('dt', {}, 'Pick up at'), el('dd', { class: 'reservation-store' }, r.store_id || '—'),
        el('dt', {}, 'Held until'), el('dd', {}, time(r.expires_at, 'reservation-expires', true)),
        el('dt', {}, 'Products'), el('dd', { class: 'reservation-products' }, (r.product_ids || []).join(', ') || '—'),
        el('dt', {}, 'Made via'), el('dd', {}, channelName(r.channel), ' on ', time(r.created_at))),
      r.missing_at_store
        ? el('p', { class: 'reservation-missing' }, 'The store could not find this reservation.')
        : null);
  }

  function renderCart(c) {
    const amount = c.amount_cents ? (c.amount_cents / 100).toFixed(2) + ' ' + (c.currency || '') : null;
    return el('article', { class: 'intent cart' },
      el('h3', {}, 'Cart ', el('span', { class: 'badge' }, c.status)),
      facts([['Channel', channelName(c.channel)], ['Products', c.product_ids], ['Value', amount]]),
      el('p', { class: 'muted' }, 'Updated ', time(c.updated_at)));
  }

  function renderReturn(r) {
    return el('article', { class: 'intent return' },
      el('h3', {}, 'Return of order ', r.order_id),
      facts([['Requested via', channelName(r.channel)], ['Store', r.store_id]]),
      el('p', { class: 'muted' }, 'Requested ', time(r.requested_at)));
  }

  function renderConversation(c) {
    const legs = (c.channels || []).map((leg) =>
      el('li', { class: 'channel-leg', data: { channel: leg.channel } },
        channelName(leg.channel), leg.contact ? ' (' + leg.contact + ')' : '', ' · ', time(leg.first_at)));
    const older = (c.summaries || []).slice(0, -1).map((s) =>
      el('li', {}, channelName(s.channel), ', ', time(s.at), ': ', s.text));
    return el('article', { class: 'conversation', data: { conversationId: c.conversation_id } },
      el('h3', {}, 'Conversation ',
        el('span', { class: 'badge conversation-status ' + c.status }, c.status)),
      el('ol', { class: 'channels', 'aria-label': 'Channel history, oldest first' }, legs),
      c.summary ? el('p', { class: 'summary' }, c.summary)
        : el('p', { class: 'empty' }, 'No transcript summary yet.'),
      older.length ? el('details', {}, el('summary', {}, 'Earlier summaries'),
        el('ol', { class: 'summaries' }, older)) : null,
      facts([['Cases', c.case_ids], ['Resolved', c.resolved_case_ids], ['Reservations', c.reservation_ids],
        ['Store', c.store_id], ['Agents', c.agent_ids], ['Products', c.product_ids]]),
      el('p', { class: 'muted' }, 'Started ', time(c.started_at), ' · last contact ', time(c.last_at)));
  }

  function renderJourney(j) {
    if (!j) return [];
    return [el('article', { class: 'journey', data: { journeyId: j.journey_id || '' } },
      el('p', {}, 'Status ', el('span', { class: 'badge journey-status' }, j.status || '—'),
        ' · stage ', el('span', { class: 'badge journey-stage' }, j.stage || '—')),
      el('ol', { class: 'journey-path', 'aria-label': 'Channel path' },
        (j.channel_path || []).map((c) => el('li', { class: 'path-step' }, channelName(c)))),
      facts([['Touchpoints', j.touch_count], ['Channel switches', j.channel_switches],
        ['First channel', channelName(j.first_touch_channel)], ['Last channel', channelName(j.last_touch_channel)]]),
      el('p', { class: 'muted' }, 'Since ', time(j.started_at), ' · last ', time(j.updated_at)))];
  }

  function renderTouchpoints(last) {
    const rows = Object.entries(last || {}).map(([channel, t]) =>
      el('tr', { class: 'touchpoint', data: { channel } },
        el('td', { class: 'touchpoint-channel' }, channelName(channel)),
        el('td', { class: 'touchpoint-type' }, (t.event_type || '').replaceAll('_', ' ')),
        el('td', {}, time(t.at, 'touchpoint-time')),
        el('td', {}, [t.store_id, t.reservation_id, t.case_id, t.campaign_id].filter(Boolean).join(' · '))));
    if (!rows.length) return [];
    return [el('table', { class: 'touchpoints' },
      el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'Channel'), el('th', { scope: 'col' }, 'What'),
        el('th', { scope: 'col' }, 'When'), el('th', { scope: 'col' }, 'Details'))),
      el('tbody', {}, rows))];
  }

  function shortValue(type, value) {
    return type.startsWith('hashed_') && value.length > 16 ? value.slice(0, 12) + '…' : value;
  }

  function render(card) {
    const root = $('#card');
    root.dataset.personId = card.person_id;
    const asOf = toDate(card.as_of);
    liveCard = asOf !== null && Math.abs(Date.now() - asOf.getTime()) < 86400 * 1000;
    $('#person-id').textContent = 'Customer ' + card.person_id;
    $('#as-of').replaceWith(Object.assign(time(card.as_of), { id: 'as-of' }));
    $('#identifiers').replaceChildren(...(card.identifiers || []).map((i) =>
      el('li', { class: 'identifier', data: { type: i.type }, title: i.value },
        i.type.replaceAll('_', ' '), ': ', shortValue(i.type, i.value))));

    fill('alerts', (card.alerts || []).map(renderAlert), 'No alerts.');
    const intents = card.open_intents || {};
    const reservations = (intents.reservations || []).map(renderReservation);
    fill('intents', [...reservations, ...(intents.carts || []).map(renderCart),
      ...(intents.returns || []).map(renderReturn)], 'No open reservations, carts or returns.');
    $('#intents').classList.toggle('has-reservation', reservations.length > 0);
    fill('conversations', (card.open_conversations || []).map(renderConversation), 'No open conversations.');
    fill('journey', renderJourney(card.journey), 'No journey in progress.');
    fill('last-touchpoints', renderTouchpoints(card.last_touchpoints), 'No touchpoints yet.');
    fill('recent-conversations', (card.recent_conversations || []).map(renderConversation),
      'No recently closed conversations.');
    fill('consent', Object.entries(card.consent || {}).map(([purpose, c]) =>
      el('p', { class: 'consent', data: { purpose, granted: c.granted } },
        purpose.replaceAll('_', ' '), ': ', c.granted ? 'granted' : 'refused', ' on ', time(c.at))),
    'No consent recorded.');
    root.hidden = false;
  }

  // -- lookup ----------------------------------------------------------------------------------------

  function setStatus(state, text, httpStatus) {
    const status = $('#status');
    status.dataset.state = state;
    if (httpStatus === undefined) delete status.dataset.httpStatus;
    else status.dataset.httpStatus = String(httpStatus);
    status.textContent = text;
  }

  const MESSAGES = {
    401: 'Access token missing or wrong: check the token field.',
    404: 'No customer is known under this identifier.',
    503: 'The service is not available right now.'
  };

  async function lookup(type, value, token) {
    const url = API_PATH + encodeURIComponent(type) + '/' + encodeURIComponent(value);
    const response = await fetch(url, {
      method: 'GET',
      headers: { Authorization: 'Bearer ' + token, Accept: 'application/json' },
      cache: 'no-store',
      credentials: 'omit'
    });
    let body = null;
    try { body = await response.json(); } catch (e) { body = null; }
    return { status: response.status, ok: response.ok, body };
  }

  async function onSubmit(event) {
    event.preventDefault();
    const type = $('#identifier-type').value;
    const value = $('#identifier-value').value.trim();
    const token = $('#api-token').value.trim();
    $('#card').hidden = true; // never leave the previous customer's card on screen
    if (!value) { setStatus('error', 'Enter a value to look up.'); $('#identifier-value').focus(); return; }
    if (!token) { setStatus('error', 'Enter the access token.'); $('#api-token').focus(); return; }
    try { sessionStorage.setItem(TOKEN_KEY, token); } catch (e) { /* private mode: keep going */ }
    const button = $('#lookup-submit');
    button.disabled = true;
    setStatus('loading', 'Looking up…');
    try {
      const res = await lookup(type, value, token);
      if (res.ok && res.body) {
        render(res.body);
        setStatus('ok', 'Card of customer ' + res.body.person_id + '.', res.status);
      } else {
        const message = (res.body && res.body.message) || MESSAGES[res.status] || 'Lookup failed.';
        setStatus('error', message + ' (HTTP ' + res.status + ')', res.status);
      }
    } catch (e) {
      setStatus('error', 'The worker did not answer: check the network and try again.');
    } finally {
      button.disabled = false;
    }
  }

  function onTypeChange() {
    const [mode, hint] = HINTS[$('#identifier-type').value] || ['text', 'The identifier exactly as stored.'];
    const input = $('#identifier-value');
    input.inputMode = mode === 'tel' ? 'tel' : mode === 'email' ? 'email' : 'text';
    $('#identifier-hint').textContent = hint;
  }

  function init() {
    try { $('#api-token').value = sessionStorage.getItem(TOKEN_KEY) || ''; } catch (e) { /* no storage */ }
    $('#identifier-type').addEventListener('change', onTypeChange);
    $('#lookup-form').addEventListener('submit', onSubmit);
    onTypeChange();
    $('#identifier-value').focus();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
}());

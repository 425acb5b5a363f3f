"""Log lines never carry raw e-mail addresses or phone numbers, and everything else stays readable."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from mode.utils.logging import setup_logging

from streams.logging_setup import (
    EMAIL_MASK,
    PHONE_MASK,
    configure_logging,
    faust_logging_config,
    redact,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mail mario.rossi+promo@example.co.uk now", "mail [email] now"),
        ("email='anna@example.it'", "email='[email]'"),
        ("Josée <josée@exämple.fr>", "Josée <[email]>"),
        ("+39 333 123 4567", "[phone]"),
        ("phone=+393331234567,", "phone=[phone],"),
        ("(555) 123-4567", "[phone]"),
        ("call 333-123-4567.", "call [phone]."),
        ("3331234567 called", "[phone] called"),
        ("0039 333 1234567", "[phone]"),
        ("333.123.4567", "[phone]"),
        ("invalid phone 333 123 4567: too short", "invalid phone [phone]: too short"),
        ("call 333 1234567 444 5556666", "call [phone]"),
        ("{'type': 'phone', 'value': '+44 20 7946 0958'}", "{'type': 'phone', 'value': '[phone]'}"),
    ],
)
def test_pii_is_masked(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "[2026-11-23 16:42:08,281] [3016] [INFO] streams.app: ready",
        "2026-11-23T16:42:08.281+00:00",
        "broker 192.168.100.200:9092 and 127.0.0.1:19092",
        "event 12345678-1234-5678-1234-567812345678",
        "event 6f1d7a52-3c8e-4e0b-9a8f-6b1f0d3c2a91",
        "key email:5d41402abc4b2a76b9719d911017c592",
        "t.touchpoints.web[3]@123456789",
        "offset 123456789 partition 7",
        "event_time 1732371728281",
        "faust-streaming 0.15.3",
        "took 1.2345678901 s",
        "user@localhost",
        "wrote 50000 rows in 12 batches",
    ],
)
def test_other_values_are_left_alone(text: str) -> None:
    assert redact(text) == text


local_parts = st.from_regex(r"[a-z0-9][a-z0-9._+-]{0,20}", fullmatch=True)


@given(email=st.emails(), local=local_parts)
def test_no_generated_address_survives(email: str, local: str) -> None:
    # Hypothesis' addresses use the whole RFC alphabet; the common shape is forced in too.
    for address in (email, f"{local}@{email.rsplit('@', 1)[1]}"):
        if any(c in address.split("@")[0] for c in "='`"):
            continue  # kept as key=value delimiters and quotes (see logging_setup._EMAIL)
        masked = redact(f"customer {address} wrote")
        assert address not in masked
        assert "@" not in masked
        assert masked.startswith("customer ")
        assert masked.endswith(" wrote")


@given(
    digits=st.text(alphabet="0123456789", min_size=10, max_size=12),
    separators=st.lists(st.sampled_from(["", " ", "-", "."]), min_size=12, max_size=12),
    international=st.booleans(),
)
def test_generated_phone_numbers_are_masked(digits: str, separators: list[str], international: bool) -> None:
    number = "".join(d + s for d, s in zip(digits, separators, strict=False)).rstrip(" -.")
    if international:
        number = "+" + number
    if not international:
        # Kept by design, as they read as something else: a decimal number, an IPv4 address, a date.
        assume(not re.fullmatch(r"\d+\.\d+|\d{1,3}(\.\d{1,3}){3}", number))
        assume(not re.search(r"(19|20)\d\d([./-])\d\d?\2\d|\d([./-])\d\d?\3(19|20)\d\d", number))
    assert redact(f"tel {number} ok") == f"tel {PHONE_MASK} ok"


@pytest.fixture
def root_logging() -> Iterator[None]:
    """Tests that configure the root logger put pytest's handlers back afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


def fail_with(message: str) -> None:
    raise ValueError(message)


@pytest.mark.usefixtures("root_logging")
def test_text_lines_mask_arguments_and_tracebacks() -> None:
    out = io.StringIO()
    configure_logging("text", stream=out)
    log = logging.getLogger("omnijourney.test.text")
    log.info("rejected %s from %s", "anna@example.it", "+39 333 123 4567")
    try:
        fail_with("bad identifier mario@example.com")
    except ValueError:
        log.exception("while reading offset %d", 42)
    text = out.getvalue()
    assert "anna@example.it" not in text
    assert "333 123 4567" not in text
    assert "mario@example.com" not in text
    assert f"rejected {EMAIL_MASK} from {PHONE_MASK}" in text
    assert "while reading offset 42" in text
    assert f"ValueError: bad identifier {EMAIL_MASK}" in text


@pytest.mark.usefixtures("root_logging")
def test_json_lines_are_one_object_per_record_with_masked_fields() -> None:
    out = io.StringIO()
    configure_logging("json", level="WARNING", stream=out)
    log = logging.getLogger("omnijourney.test.json")
    log.info("below the level: not written")
    log.warning("dead letter for %s", "anna@example.it", extra={"customer": "3331234567", "partition": 3})
    try:
        fail_with("contact +39 333 123 4567")
    except ValueError:
        log.error("stage failed", exc_info=True)
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert first["message"] == f"dead letter for {EMAIL_MASK}"
    assert first["level"] == "WARNING"
    assert first["logger"] == "omnijourney.test.json"
    assert first["customer"] == PHONE_MASK
    assert first["partition"] == 3
    assert first["time"].endswith("+00:00")
    assert "333 123 4567" not in second["exception"]
    assert second["exception"].rstrip().endswith(f"ValueError: contact {PHONE_MASK}")


@pytest.mark.usefixtures("root_logging")
def test_the_faust_worker_config_keeps_the_level_and_uses_our_handler(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # What the Faust worker does with the app's logging_config when it starts (`-l warning`).
    setup_logging(loglevel="warning", logging_config=faust_logging_config("json"))
    log = logging.getLogger("omnijourney.test.faust")
    log.info("not at warning level")
    log.warning("customer %s", "mario@example.com")
    lines = capsys.readouterr().err.splitlines()
    assert [json.loads(line)["message"] for line in lines] == [f"customer {EMAIL_MASK}"]

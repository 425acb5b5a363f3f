"""How people and systems really type e-mail addresses and phone numbers.

The same address reaches the producers in different shapes (a capitalised name in a chat form, a
trailing space pasted into a checkout, a national phone number read out to a call-center agent).
The SDK must normalise before hashing or one person splits into several; these variants are what
makes that step observable in the benchmark and in ground truth scoring.

Canonical forms, used in ground truth: e-mail lower-cased and stripped; phone in E.164
(``+39`` followed by the national number, no separators). Only case and whitespace vary in e-mails;
provider-specific rules (dots or ``+tags`` in Gmail) are deliberately not exercised because they
are not a universal normalisation.
"""

from __future__ import annotations

from random import Random


def email_variant(canonical: str, rng: Random) -> str:
    """One raw spelling of ``canonical`` (about half the time the canonical form itself)."""
    roll = rng.random()
    if roll < 0.5:
        return canonical
    local, _, domain = canonical.partition("@")
    if roll < 0.65:
        return f"{_title(local)}@{_title(domain)}"
    if roll < 0.75:
        return canonical.upper()
    if roll < 0.85:
        return f"{_title(local)}@{domain} "
    if roll < 0.93:
        return f" {canonical}"
    return f"{canonical}\t"


def _title(text: str) -> str:
    """Capitalise each dot-separated part: ``giulia.rossi`` -> ``Giulia.Rossi``."""
    return ".".join(part[:1].upper() + part[1:] for part in text.split("."))


def phone_variant(e164: str, rng: Random) -> str:
    """One raw spelling of an Italian mobile number given in E.164 (``+39`` + 10 digits)."""
    national = e164[3:]
    a, b, c = national[:3], national[3:6], national[6:]
    roll = rng.random()
    if roll < 0.25:
        return f"+39 {a} {b} {c}"
    if roll < 0.40:
        return e164
    if roll < 0.55:
        return f"0039 {a} {b}{c}"
    if roll < 0.70:
        return f"{a} {b} {c}"  # national format, as Italians say it: the SDK must assume +39
    if roll < 0.80:
        return f"{a}-{b}-{c}"
    if roll < 0.90:
        return f"(+39) {a}.{b}.{c}"
    return f" +39{national} "

"""CRC-64-AVRO, the fingerprint Avro's single-object encoding puts in every message header.

Implemented from the Avro specification ("Schema Fingerprints") so the wire format does not hinge
on a library's choice of byte order: the header carries the 64-bit value little-endian.
"""

from __future__ import annotations

EMPTY = 0xC15D213AA4D7A795


def _table() -> tuple[int, ...]:
    rows = []
    for i in range(256):
        fp = i
        for _ in range(8):
            fp = (fp >> 1) ^ (EMPTY & -(fp & 1))
        rows.append(fp)
    return tuple(rows)


_TABLE = _table()


def crc64_avro(data: bytes) -> int:
    """The Rabin fingerprint of ``data`` (a schema's Parsing Canonical Form, UTF-8)."""
    fp = EMPTY
    for byte in data:
        fp = (fp >> 8) ^ _TABLE[(fp ^ byte) & 0xFF]
    return fp


def fingerprint_bytes(canonical_form: str) -> bytes:
    """The eight header bytes of single-object encoding for a schema's canonical form."""
    return crc64_avro(canonical_form.encode("utf-8")).to_bytes(8, "little")

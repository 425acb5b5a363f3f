"""Log lines for operators: text or JSON lines, with e-mail addresses and phone numbers masked.

Producers hash PII before it leaves the channel app, yet raw values still reach a log line now
and then: an exception quoting the input it rejected, a payload printed while debugging, a
library's own message. Logs are kept longer and read more widely than the pipeline's data, so
every line is redacted on its way out, whatever logger wrote it:

- :class:`RedactFilter` rewrites a record's message (after %-formatting) on the handler, which is
  where filters see records propagated from every logger;
- both formatters redact their whole output again, which also covers tracebacks and ``extra``
  fields.

The phone rule is a heuristic that prefers masking too much over leaking (see :func:`redact`).

Workers: Faust sets logging up itself when the worker starts, so the app is built with
:func:`faust_logging_config` as its ``logging_config``. Other commands (the sink) call
:func:`configure_logging`.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import sys
from typing import IO, Any, Literal

LogFormat = Literal["json", "text"]

EMAIL_MASK = "[email]"
PHONE_MASK = "[phone]"
TEXT_FORMAT = "[%(asctime)s] [%(process)d] [%(levelname)s] %(name)s: %(message)s"

# Local part without "=", quotes or backticks, so "email='a@b.it'" keeps its "email='".
_EMAIL = re.compile(r"[\w.!#$%&*+/?^{|}~-]+@[^\W_](?:[\w-]*[^\W_])?(?:\.[^\W_](?:[\w-]*[^\W_])?)+")
# Candidates: the longest run of digits with spaces, dots, dashes or parentheses between them
# (atomic, so no shorter piece of a longer token is tried), not glued to a word, a path, a
# version, a time ("16:42") or another number; judged by _phone_like.
_CANDIDATE = re.compile(r"(?<![\w:/.+-])(?>\+?\(?\d[\d ().-]*\d\)?)(?![\w/@-])")
_IPV4 = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")
_DECIMAL = re.compile(r"\d+\.\d+")  # a float, not a phone with one dot
_DAY, _MONTH, _YEAR = r"(?:0?[1-9]|[12]\d|3[01])", r"(?:0?[1-9]|1[0-2])", r"(?:19|20)\d\d"
_DATE = re.compile(  # 2026-11-23, 23.11.2026, 11/23/2026: one separator, repeated
    rf"(?<!\d)(?:{_YEAR}([./-]){_MONTH}\1{_DAY}|{_DAY}([./-]){_MONTH}\2{_YEAR}|{_MONTH}([./-]){_DAY}\3{_YEAR})(?!\d)"
)


def _digits(text: str) -> int:
    return sum(c.isdigit() for c in text)


def _phone_like(text: str) -> bool:
    """International (+...) 8-15 digits; grouped 9-15; a bare run 10-12 (not offsets, epoch ms)."""
    digits = _digits(text)
    if text.startswith("+"):
        return 8 <= digits <= 15
    if _IPV4.fullmatch(text) or _DATE.search(text) or _DECIMAL.fullmatch(text):
        return False
    if text.isdigit():
        return 10 <= digits <= 12
    return 9 <= digits <= 15


def _contains_phone(text: str) -> bool:
    """The candidate, or a run of its whitespace-separated pieces, looks like a phone number.

    A candidate may join a phone to its neighbours ("call 333 1234567 444 5556666", a date
    before it): then the whole candidate is masked, so no part of either number is left.
    """
    if _digits(text) < 8:  # the shortest number masked: "+" and 8 digits
        return False
    if _phone_like(text):
        return True
    words = text.split()
    for i in range(len(words)):
        for j in range(i + 1, len(words) + 1):
            run = " ".join(words[i:j])
            if _digits(run) > 15:
                break
            if _phone_like(run):
                return True
    return False


def redact(text: str) -> str:
    """``text`` with e-mail addresses and phone-number-looking strings masked.

    Phones: a ``+`` followed by 8-15 digits (spaces, dots, dashes, parentheses allowed between);
    9-15 digits in groups ("333 123 4567", "(555) 123-4567"); 10-12 digits in one run. Left
    alone: dates and times, IPv4 addresses, host:port, UUIDs and hashes, offsets below 10^9 and
    epoch milliseconds (13 digits).
    """
    if "@" in text:
        text = _EMAIL.sub(EMAIL_MASK, text)
    return _CANDIDATE.sub(lambda m: PHONE_MASK if _contains_phone(m.group(0)) else m.group(0), text)


class RedactFilter(logging.Filter):
    """Masks PII in a record's message (arguments merged in) before any handler formats it."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # bad arguments: leave it to the handler, which reports logging errors
            return True
        masked = redact(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


class TextFormatter(logging.Formatter):
    """One line per record (tracebacks follow it), redacted as a whole."""

    def __init__(self, fmt: str = TEXT_FORMAT) -> None:
        super().__init__(fmt)

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


_RECORD_FIELDS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC), level, logger, message, process, exception, extras."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
            "process": record.process,
        }
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        if record.stack_info:
            entry["stack"] = redact(self.formatStack(record.stack_info))
        for key, value in vars(record).items():
            if key not in _RECORD_FIELDS and not key.startswith("_") and key not in entry:
                entry[key] = _redact_value(value)
        return json.dumps(entry, ensure_ascii=False, default=str)


def _redact_value(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, bool | int | float) or value is None:
        return value
    return redact(str(value))


def make_formatter(fmt: LogFormat) -> logging.Formatter:
    return JsonFormatter() if fmt == "json" else TextFormatter()


def configure_logging(
    fmt: LogFormat = "text", level: int | str = logging.INFO, stream: IO[str] | None = None
) -> logging.Handler:
    """Replace the root logger's handlers with one redacting handler on ``stream`` (stderr)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(make_formatter(fmt))
    handler.addFilter(RedactFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    return handler


def faust_logging_config(fmt: LogFormat) -> dict[str, Any]:
    """``logging_config`` for ``faust.App``: the worker's own setup, our handler in its place.

    ``merge`` keeps what Faust derives from the command line (the root level from ``-l``) and
    replaces its ``default`` handler (colour text on stderr) with ours. A ``--logfile`` is then
    ignored: our services write stderr to their log files instead (streams.supervise).
    """
    formatter = f"{__name__}.JsonFormatter" if fmt == "json" else f"{__name__}.TextFormatter"
    return {
        "merge": True,
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"omnijourney": {"()": formatter}},
        "filters": {"redact": {"()": f"{__name__}.RedactFilter"}},
        "handlers": {
            "default": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "omnijourney",
                "filters": ["redact"],
            }
        },
    }

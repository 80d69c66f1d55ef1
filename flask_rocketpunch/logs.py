"""Keep codes and tokens out of server access logs.

Werkzeug's development server logs each request line, and the callback's line
carries the authorization code and the login's state in its query string.
:class:`RedactFilter` rewrites such values before the record is written.
"""

from __future__ import annotations

import logging
import re

_SECRET_PARAMS = re.compile(
    r"(?P<key>(?:^|[?&;\s\"'])(?:code|access_token|refresh_token|id_token|"
    r"code_verifier|client_secret|token|state)=)[^&\s\"';]*",
    re.IGNORECASE,
)


def redact(text: str) -> str:
    """Replace the values of secret query parameters in ``text``."""
    return _SECRET_PARAMS.sub(r"\g<key>[redacted]", text)


class RedactFilter(logging.Filter):
    """A logging filter that redacts secret query parameters in records."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.args = tuple(
                redact(a) if isinstance(a, str) else a
                for a in (
                    record.args if isinstance(record.args, tuple) else (record.args,)
                )
            )
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        return True


def install_redaction(logger_name: str = "werkzeug") -> None:
    """Add :class:`RedactFilter` to ``logger_name`` once."""
    target = logging.getLogger(logger_name)
    if not any(isinstance(f, RedactFilter) for f in target.filters):
        target.addFilter(RedactFilter())


def neutral(value: object, limit: int = 200) -> str:
    """``value`` made safe for a log line: control characters (a newline
    would forge a record) and other non-printable ones escaped, and cut to
    ``limit`` characters. For anything that came from a request or a
    provider."""
    text = str(value)[:limit]
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)

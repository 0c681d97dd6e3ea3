"""Bounds on input text checked before any pattern runs, and the e-mail check.

A regular expression costs time that grows with its input, sometimes faster than linearly;
every text field is held to a length first, so no pattern ever sees more than its field
allows. The e-mail pattern itself is linear: its domain labels exclude the dot that
separates them, so there is one way to split an address and nothing to backtrack over.
"""

from __future__ import annotations

import re
from typing import Any

MAX_EMAIL = 254  # RFC 5321's limit on a forward path
MAX_PASSWORD = 1000  # hashing costs the same, but no megabyte "passwords"
MAX_NAME = 200  # display and enterprise names
EMAIL = re.compile(r"^[^@\s]+@[^@\s.]+(?:\.[^@\s.]+)+$")


def too_long(value: Any, limit: int) -> bool:
    """Whether `value` (any type, as given) is text longer than `limit` characters."""
    return isinstance(value, str) and len(value) > limit


def is_email(value: Any) -> bool:
    """An address of the form local@domain.tld, at most MAX_EMAIL characters."""
    if not isinstance(value, str) or len(value) > MAX_EMAIL:
        return False
    return EMAIL.match(value.strip()) is not None

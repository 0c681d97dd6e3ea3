"""Shared by the reliability tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from argon2 import PasswordHasher

from portal.access import accounts


@pytest.fixture(autouse=True)
def cheap_password_hashing() -> Iterator[None]:
    """Argon2id with the smallest cost: these tests are about faults and hostile input, not
    about hashing, and the real cost (~0.4 s a hash here) made their accounts the slowest
    part of the suite. Still Argon2id, still verified."""
    real = accounts._hasher, accounts._DUMMY_HASH
    cheap = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    accounts._hasher, accounts._DUMMY_HASH = cheap, cheap.hash("not-a-password-of-anyone")
    yield
    accounts._hasher, accounts._DUMMY_HASH = real

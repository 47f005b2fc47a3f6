"""Fixtures for the HTTP service tests (tests/http/test_http_*.py).

House rules: servers listen on 127.0.0.1 port 0 only (`aocu.testing.open_test_client`); the port
is `aocu.testing.FakeComputeUnitApi`, steered through its attributes and checked through what it
recorded (``calls``), never mocks; anything timed is held by a ``gate`` event or runs on trio's
``autojump_clock``, so no test waits for real longer than a few tens of milliseconds. (This
folder is not a package: a package named ``http`` would shadow the standard library's.)
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from aocu.testing import FakeComputeUnitApi, open_fake_api


@pytest.fixture
async def fake() -> AsyncIterator[FakeComputeUnitApi]:
    async with open_fake_api(address="test-cu-address") as api:
        yield api

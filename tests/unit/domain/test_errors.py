"""aocu.errors: the tree and its HTTP statuses (kept here with the domain that raises them)."""

from __future__ import annotations

import aocu.errors as errors
from aocu.errors import AocuError


def test_every_error_has_its_status() -> None:
    expected = {
        "AocuError": 500,
        "ProcessNotFoundError": 404,
        "ProcessDeniedError": 403,
        "InvalidProcessError": 500,
        "InvalidRequestError": 400,
        "InvalidMessageError": 500,
        "ModuleError": 500,
        "InvalidModuleError": 422,
        "ModuleLimitError": 413,
        "UpstreamError": 500,
        "UpstreamTimeoutError": 504,
        "HashChainMismatchError": 422,
        "TooEarlyError": 425,
        "BusyError": 503,
        "RateLimitedError": 429,
        "StoreError": 500,
    }
    assert sorted(errors.__all__) == sorted(expected)
    for name, status in expected.items():
        cls = getattr(errors, name)
        assert issubclass(cls, AocuError)
        assert cls.http_status == status, name


def test_tree_shape() -> None:
    assert issubclass(errors.InvalidModuleError, errors.ModuleError)
    assert issubclass(errors.ModuleLimitError, errors.ModuleError)
    assert issubclass(errors.HashChainMismatchError, errors.UpstreamError)
    assert issubclass(errors.UpstreamTimeoutError, errors.UpstreamError)


def test_message_and_status_override() -> None:
    err = errors.UpstreamError("An error occurred", http_status=404)
    assert str(err) == err.message == "An error occurred"
    assert err.http_status == 404
    assert errors.UpstreamError("x").http_status == 500

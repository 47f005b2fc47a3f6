"""The public surface of aocu.clients: a complete, sorted ``__all__`` and the error tree.

Like httpx's tests/test_exported_members.py (style.md §2.1): nothing public is missing from
``__all__``, nothing private leaks, and the errors hang under the project's ``AocuError``.
"""

from __future__ import annotations

import inspect

import aocu.clients as clients
from aocu import errors


def test_all_is_sorted_and_complete() -> None:
    assert clients.__all__ == sorted(clients.__all__)
    public = {name for name in dir(clients) if not name.startswith("_")}
    modules = {"base", "config"}  # submodules imported as a side effect
    assert public - modules == set(clients.__all__)


def test_every_export_comes_from_this_package() -> None:
    for name in clients.__all__:
        obj = getattr(clients, name)
        if isinstance(obj, type) or inspect.isfunction(obj):  # not the LocationKind alias
            # Tag is the project's one tag type (aocu.model), shared with the domain and stores.
            assert obj.__module__.startswith("aocu.clients") or name == "Tag", name


def test_upstream_errors_are_aocu_errors() -> None:
    assert issubclass(clients.UpstreamError, errors.UpstreamError)
    assert issubclass(clients.UpstreamTimeoutError, errors.UpstreamTimeoutError)
    for name in clients.__all__:
        obj = getattr(clients, name)
        if isinstance(obj, type) and issubclass(obj, Exception) and name != "ClientsConfigError":
            assert issubclass(obj, clients.UpstreamError), name
    # Upstream failures answer 500 like the reference's; our own deadline 504.
    assert clients.NotFoundError("x", upstream="su").http_status == 500
    assert clients.UpstreamTimeoutError("x", upstream="su").http_status == 504


def test_reference_text() -> None:
    err = clients.TransactionNotFoundError(
        "Process p was not found on gateway", upstream="gateway", method="POST", url="http://gw/graphql"
    )
    assert str(err) == "gateway POST http://gw/graphql: Process p was not found on gateway"
    assert err.reference_text == "TransactionNotFound: Process p was not found on gateway"
    status = clients.UpstreamStatusError("HTTP 400: {}", upstream="scheduler", status=400, body="{}")
    assert status.reference_text == "400: {}"
    assert status.with_attempts(6).message.endswith("(after 6 attempts)")

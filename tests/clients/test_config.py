"""ClientsConfig.from_env (aocu/clients/config.py): the reference's URL variables and derivations.

reference-cu.md §4: GATEWAY_URL defaults to https://arweave.net and feeds ARWEAVE_URL and
GRAPHQL_URL (``joinUrl(GATEWAY_URL, '/graphql')``); CHECKPOINT_GRAPHQL_URL defaults to
GRAPHQL_URL; GRAPHQL_URLS is split on ',' with a two-gateway default; LOAD_MESSAGES_PAGE_SIZE is
an int (``parseInt`` after dropping '_'), 0 meaning 1000.
"""

from __future__ import annotations

import pytest

from aocu.clients import ClientsConfig, ClientsConfigError
from aocu.clients.config import DEFAULT_GRAPHQL_URLS, join_url


def test_defaults_match_the_reference() -> None:
    c = ClientsConfig.from_env({})
    assert (c.gateway_url, c.arweave_url, c.graphql_url, c.checkpoint_graphql_url) == (
        "https://arweave.net",
        "https://arweave.net",
        "https://arweave.net/graphql",
        "https://arweave.net/graphql",
    )
    assert c.graphql_urls == ("https://arweave.net/graphql", "https://arweave-search.goldsky.com/graphql")
    assert c.su_router_url is None
    assert c.load_messages_page_size == 1000
    assert c == ClientsConfig()  # the dataclass defaults are the same values


def test_gateway_url_feeds_the_others() -> None:
    c = ClientsConfig.from_env({"GATEWAY_URL": "http://127.0.0.1:4000"})
    assert (c.arweave_url, c.graphql_url, c.checkpoint_graphql_url) == (
        "http://127.0.0.1:4000",
        "http://127.0.0.1:4000/graphql",
        "http://127.0.0.1:4000/graphql",
    )
    assert c.graphql_urls == DEFAULT_GRAPHQL_URLS  # GRAPHQL_URLS does not derive from GATEWAY_URL


def test_explicit_urls_win() -> None:
    c = ClientsConfig.from_env(
        {
            "GATEWAY_URL": "http://gw",
            "ARWEAVE_URL": "http://ar",
            "GRAPHQL_URL": "http://gql/graphql",
        }
    )
    assert (c.arweave_url, c.graphql_url, c.checkpoint_graphql_url) == (
        "http://ar",
        "http://gql/graphql",
        "http://gql/graphql",
    )
    c = ClientsConfig.from_env({"CHECKPOINT_GRAPHQL_URL": "http://ckpt/graphql"})
    assert (c.graphql_url, c.checkpoint_graphql_url) == ("https://arweave.net/graphql", "http://ckpt/graphql")


def test_empty_values_count_as_unset() -> None:
    assert ClientsConfig.from_env({"GATEWAY_URL": "", "ARWEAVE_URL": ""}).arweave_url == "https://arweave.net"


def test_graphql_urls_are_split_on_commas() -> None:
    c = ClientsConfig.from_env({"GRAPHQL_URLS": "http://a/graphql, http://b/graphql"})
    assert c.graphql_urls == ("http://a/graphql", "http://b/graphql")  # `new URL` drops the space
    with pytest.raises(ClientsConfigError, match="GRAPHQL_URLS: '' is not an http"):
        ClientsConfig.from_env({"GRAPHQL_URLS": ""})
    with pytest.raises(ClientsConfigError, match="GRAPHQL_URLS"):
        ClientsConfig.from_env({"GRAPHQL_URLS": "http://a/graphql,"})


@pytest.mark.parametrize(
    "name", ["GATEWAY_URL", "ARWEAVE_URL", "GRAPHQL_URL", "CHECKPOINT_GRAPHQL_URL", "AOCU_SU_ROUTER_URL"]
)
def test_urls_are_validated(name: str) -> None:
    with pytest.raises(ClientsConfigError, match=f"{name}: 'not a url'"):
        ClientsConfig.from_env({name: "not a url"})


def test_join_url_appends_like_the_reference() -> None:
    assert join_url("https://arweave.net", "/graphql") == "https://arweave.net/graphql"
    assert join_url("https://arweave.net/", "/raw/abc") == "https://arweave.net/raw/abc"
    assert join_url("https://gw.test?foo=bar", "/raw/abc") == "https://gw.test/raw/abc?foo=bar"
    # joinUrl adds no slash between a base path and the new part (utils.js): kept as is.
    assert join_url("https://gw.test/base", "/graphql") == "https://gw.test/basegraphql"
    assert join_url("https://gw.test/base/", "graphql") == "https://gw.test/base/graphql"


@pytest.mark.parametrize(("raw", "size"), [("500", 500), ("1_000", 1000), ("10s", 10), ("0", 1000)])
def test_page_size_parses_like_the_reference(raw: str, size: int) -> None:
    assert ClientsConfig.from_env({"LOAD_MESSAGES_PAGE_SIZE": raw}).load_messages_page_size == size


@pytest.mark.parametrize("raw", ["abc", "-1"])
def test_bad_page_sizes_are_refused(raw: str) -> None:
    with pytest.raises(ClientsConfigError, match="LOAD_MESSAGES_PAGE_SIZE"):
        ClientsConfig.from_env({"LOAD_MESSAGES_PAGE_SIZE": raw})


def test_aocu_settings() -> None:
    c = ClientsConfig.from_env(
        {
            "AOCU_SU_ROUTER_URL": "http://router.test",
            "AOCU_UPSTREAM_OPERATION_TIMEOUT_S": "30",
            "AOCU_UPSTREAM_DOWNLOAD_MAX_BYTES": "1024",
            "AOCU_REQUIRE_CONTIGUOUS_NONCES": "false",
            "AOCU_UPSTREAM_CONNECT_TIMEOUT_S": "2.5",
        }
    )
    assert c.su_router_url == "http://router.test"
    assert (c.operation_timeout_s, c.connect_timeout_s, c.download_max_bytes) == (30.0, 2.5, 1024)
    assert c.require_contiguous_nonces is False
    with pytest.raises(ClientsConfigError, match="AOCU_UPSTREAM_READ_TIMEOUT_S"):
        ClientsConfig.from_env({"AOCU_UPSTREAM_READ_TIMEOUT_S": "0"})
    with pytest.raises(ClientsConfigError, match="AOCU_REQUIRE_CONTIGUOUS_NONCES"):
        ClientsConfig.from_env({"AOCU_REQUIRE_CONTIGUOUS_NONCES": "maybe"})


def test_config_is_frozen() -> None:
    c = ClientsConfig()
    with pytest.raises(AttributeError):
        c.gateway_url = "x"  # type: ignore[misc]
    assert c.replace(blocks_page_size=17).blocks_page_size == 17

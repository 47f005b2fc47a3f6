"""aocu.testing: fakes and helpers shared by tests and tools (like ``trio.testing``).

`FakeComputeUnitApi` implements the HTTP port over dicts (open it with `open_fake_api` so its
evaluations run in their own nursery, as the pipeline's do); `open_test_server` and
`serve_in_thread` serve it on loopback; `test_wallet_jwk` makes a wallet with a stable address;
`wait_until` polls a condition; `open_pipeline_cu` is a CU without its HTTP layer (real clients,
stores and pipeline) pointed at a devnet; `FakeItemSigner`/`FakeItemVerifier` sign and verify checkpoints
without RSA.
Nothing here is used by the running CU.
"""

from ._checkpoints import FakeItemSigner as FakeItemSigner
from ._checkpoints import FakeItemVerifier as FakeItemVerifier
from ._fake_api import CachedResult as CachedResult
from ._fake_api import FakeComputeUnitApi as FakeComputeUnitApi
from ._fake_api import open_fake_api as open_fake_api
from ._pipeline import open_pipeline_cu as open_pipeline_cu
from ._server import open_test_client as open_test_client
from ._server import open_test_server as open_test_server
from ._server import serve_in_thread as serve_in_thread
from ._waiting import wait_until as wait_until
from ._wallet import test_wallet_jwk as test_wallet_jwk

__all__ = [
    "CachedResult",
    "FakeComputeUnitApi",
    "FakeItemSigner",
    "FakeItemVerifier",
    "open_fake_api",
    "open_pipeline_cu",
    "open_test_client",
    "open_test_server",
    "serve_in_thread",
    "test_wallet_jwk",
    "wait_until",
]

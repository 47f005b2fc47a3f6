"""loader/test/crash.test.js: 10,000 inserts on the gen 2 AOS module, then read them back."""

from __future__ import annotations

from .conftest import AOS, F2


def test_try_to_reproduce_error(load):
    inst = load(AOS, F2, compute_limit=9_000_000_000_000).instantiate()
    res = inst.handle(
        {"Owner": "tom", "Target": "FOO", "Tags": [{"name": "Action", "value": "Eval"}],
         "Module": "1234", "Block-Height": "1234", "Id": "1234",
         "Data": "\nData = {}\nfor i = 1, 10000 do\n  table.insert(Data, \"Hello\")\nend\n        "},
        {"Process": {"Owner": "tom", "Id": "ctr-id-456", "Tags": [{"name": "Module", "value": "1234"}],
                     "Module": "1234", "Block-Height": "1234"}},
    )
    assert not res.get("Error")
    nxt = inst.handle(
        {"Owner": "tom", "Target": "FOO", "Tags": [{"name": "Action", "value": "Eval"}], "Data": "#Data"},
        {"Process": {"Id": "ctr-id-456", "Tags": []}},
    )
    assert nxt["Output"]["data"]["output"] == 10000

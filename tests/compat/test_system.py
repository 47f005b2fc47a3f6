"""loader/test/system.test.js: os.execute must not reach a shell."""

from __future__ import annotations

import pytest

from .conftest import AOS, E4, F2, F4, F64, W64, get_env, get_msg


def test_evaluate_system_message_gen2(load):
    res = load(AOS, F2).instantiate().handle(
        {"Id": "1", "Owner": "tom", "Target": "FOO", "Tags": [{"name": "Action", "value": "Eval"}],
         "Data": 'os.execute("echo beep > foo.txt")', "Module": "foo", "Block-Height": "1000",
         "Timestamp": 1700000000000},
        {"Process": {"Id": "ctr-id-456", "Tags": []}},
    )
    assert res["Error"] == "Function not implemented"
    assert res.get("Output") is None


GEN4 = [pytest.param(E4, F4, id="emscripten4"), pytest.param(W64, F64, id="wasm64")]


@pytest.mark.parametrize(("path", "fmt"), GEN4)
def test_system_is_unsupported_on_gen4(load, path, fmt, tmp_path):
    # Under Node the gen 3/4 glue really runs the command (child_process.spawnSync, shell: true).
    # aocu deliberately does not: system() fails like an unsupported call (the glue's non-Node
    # branch, ENOSYS), so os.execute returns nil, "Function not implemented".
    target = tmp_path / "aocu-system-probe.txt"
    res = load(path, fmt).instantiate().handle(
        get_msg(f'local ok, err = os.execute("echo beep > {target}") '
                'return tostring(ok) .. "|" .. tostring(err)'),
        get_env())
    assert not target.exists()
    assert res["Output"]["data"] == "nil|Function not implemented"

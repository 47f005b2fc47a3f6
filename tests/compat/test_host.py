"""loader/test/host.test.js (run there through @permaweb/loco): gen 4 exposes no environment."""

from __future__ import annotations

import pytest

from .conftest import AOS, E4, F2, F4, F64, W64, get_env, get_msg

GEN4 = [pytest.param(E4, F4, id="emscripten4"), pytest.param(W64, F64, id="wasm64")]


@pytest.mark.parametrize(("path", "fmt"), GEN4)
def test_getenv_should_return_nil(load, path, fmt):
    res = load(path, fmt).instantiate().handle(
        get_msg('if not os.getenv("PATH") then print([[2]]) else print([[1]]) end'), get_env())
    assert res["Output"]["data"] == "2"


def test_gen2_environment_is_the_glue_default(load):
    # gen 1/2 glue: USER/LOGNAME/PATH/PWD/HOME/LANG and `_` = thisProgram. Under Node that is
    # process.argv[1]; aocu's documented choice is Emscripten's default './this.program'.
    res = load(AOS, F2).instantiate().handle(
        get_msg("return tostring(os.getenv('PATH')) .. '|' .. tostring(os.getenv('HOME')) .. '|' "
                ".. tostring(os.getenv('_'))"), get_env())
    assert res["Output"]["data"]["output"] == "/|/home/web_user|./this.program"

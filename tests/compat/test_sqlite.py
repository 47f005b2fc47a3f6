"""loader/test/sqlite.test.js (gen 2 AOS with lsqlite3, not metered)."""

from __future__ import annotations

from .conftest import F2, SQLITE

ENV = {"Process": {"Id": "AOS", "Owner": "FOOBAR", "Tags": [{"name": "Name", "value": "Thomas"}]}}


def _msg(cmd: str) -> dict:
    return {"Target": "AOS", "Owner": "FOOBAR", "Block-Height": "1000", "Id": "1234xyxfoo",
            "Module": "WOOPAWOOPA", "Tags": [{"name": "Action", "value": "Eval"}], "Data": cmd}


def test_create_sqlite_db_run_insert_and_select(load):
    inst = load(SQLITE, F2).instantiate()
    run1 = """
  local sqlite3 = require("lsqlite3")

  db = sqlite3.open_memory()

  db:exec[[
    CREATE TABLE test (id INTEGER PRIMARY KEY, content);
    INSERT INTO test VALUES (NULL, 'Hello Lua');
    INSERT INTO test VALUES (NULL, 'Hello Sqlite3');
    INSERT INTO test VALUES (NULL, 'Hello ao!!!');
  ]]
  return "ok"
  """
    r1 = inst.handle(_msg(run1), ENV)
    assert r1["Output"]["data"]["output"] == "ok"
    run2 = """
  local s = ""

  for row in db:nrows("SELECT * FROM test") do
    s = s .. row.id .. ": " .. row.content .. "\\n"
  end

  return s
  """
    r2 = inst.handle(_msg(run2), ENV)
    assert r2["Output"]["data"]["output"] == "1: Hello Lua\n2: Hello Sqlite3\n3: Hello ao!!!\n"

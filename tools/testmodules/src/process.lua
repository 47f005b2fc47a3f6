-- process.lua - the aocu test process run by lua_process.wasm.
-- The C wrapper (lua_main.c) calls the global handle(msgJSON, envJSON) and
-- returns its string result to the loader.  The "Action" tag selects a
-- handler; see README.md.
-- Copyright the aocu authors; MIT licence.

local json = require("json")

State = State or { count = 0, evals = 0, kept = {} }

local function tag(msg, name)
  for _, t in ipairs(msg.Tags or {}) do
    if t.name == name then return t.value end
  end
  return msg[name]
end

local function fmt_value(v)
  if type(v) == "table" then
    local ok, s = pcall(json.encode, v)
    if ok then return s end
  end
  return tostring(v)
end

local handlers = {}

function handlers.Echo(msg)
  return { Output = msg.Data }
end

function handlers.Count()
  return { Output = "count=" .. State.count }
end

function handlers.Eval(msg)
  State.evals = State.evals + 1
  local printed = {}
  local env = setmetatable({
    print = function(...)
      local parts = table.pack(...)
      for i = 1, parts.n do parts[i] = tostring(parts[i]) end
      printed[#printed + 1] = table.concat(parts, "\t")
    end,
  }, { __index = _G, __newindex = _G })
  local fn, err = load(msg.Data or "", "=eval", "t", env)
  if not fn then
    return { Output = "", Error = "syntax: " .. err }
  end
  local ok, res = pcall(fn)
  local out = table.concat(printed, "\n")
  if not ok then
    return { Output = out, Error = fmt_value(res) }
  end
  if res ~= nil then
    out = (#out > 0 and out .. "\n" or "") .. fmt_value(res)
  end
  return { Output = out }
end

function handlers.Time()
  local fixed = 1709210096
  local t = {
    time = os.time(),
    clock = string.format("%.3f", os.clock()),
    utc = os.date("!%Y-%m-%d %H:%M:%S", fixed),
    local_c = os.date("%c", fixed),
    epoch = os.date("%Y-%m-%d %H:%M:%S %Z", 0),
    star = os.date("!*t", 1000000000),
    mktime = os.time({ year = 2024, month = 2, day = 29, hour = 12, min = 34, sec = 56 }),
    difftime = os.difftime(fixed, 0),
    now_year = os.date("!%Y"),
  }
  return { Output = json.encode(t) }
end

function handlers.Env()
  local names = { "PATH", "HOME", "USER", "LOGNAME", "PWD", "LANG", "_", "TZ" }
  local t = json.object()
  for _, n in ipairs(names) do t[n] = os.getenv(n) or "<nil>" end
  return { Output = json.encode(t) }
end

function handlers.Exec()
  local a, b, c = os.execute("echo hi > /tmp/lua_exec_marker")
  return { Output = string.format("execute: %s %s %s", tostring(a), tostring(b), tostring(c)) }
end

function handlers.ExecProbe()
  -- os.execute() with no command asks whether a shell exists
  return { Output = "shell: " .. tostring(os.execute()) }
end

function handlers.Files()
  local r = {}
  local f, err = io.open("/tmp/lua_a.txt", "w")
  r[#r + 1] = "open-w " .. tostring(f ~= nil) .. " " .. tostring(err)
  if f then
    f:write("line one\n", "line two\n", 42, "\n")
    f:close()
  end
  f = io.open("/tmp/lua_a.txt", "r")
  if f then
    local lines = {}
    for l in f:lines() do lines[#lines + 1] = l end
    f:seek("set", 5)
    r[#r + 1] = "read " .. table.concat(lines, "|") .. " / " .. tostring(f:read("l"))
    r[#r + 1] = "size " .. tostring(f:seek("end"))
    f:close()
  end
  r[#r + 1] = "rename " .. tostring(os.rename("/tmp/lua_a.txt", "/tmp/lua_b.txt"))
  r[#r + 1] = "reopen-old " .. tostring(io.open("/tmp/lua_a.txt") == nil)
  r[#r + 1] = "remove " .. tostring(os.remove("/tmp/lua_b.txt"))
  local ok, msg = os.remove("/tmp/lua_b.txt")
  r[#r + 1] = "remove-again " .. tostring(ok) .. " " .. tostring(msg)
  local _, missing = io.open("/no/such/file")
  r[#r + 1] = "missing " .. tostring(missing)
  local tmp = os.tmpname()
  r[#r + 1] = "tmpname " .. tostring(type(tmp) == "string" and tmp:sub(1, 5))
  local pok, perr = pcall(io.popen, "ls")
  r[#r + 1] = "popen " .. tostring(pok) .. " " .. tostring(perr)
  io.write("lua stdout line\n")
  io.stdout:flush()
  io.stderr:write("lua stderr line\n")
  return { Output = table.concat(r, "\n") }
end

function handlers.Random()
  math.randomseed(42)
  local a, b, c = math.random(1, 100), math.random(1, 100), math.random(1, 100)
  return { Output = string.format("%d %d %d %.6f", a, b, c, math.random()) }
end

function handlers.Error()
  error("boom from lua")
end

function handlers.ErrorTable()
  error({ code = 123, message = "lua table error" })
end

function handlers.Pcall()
  local r = {}
  local ok, e = pcall(error, "caught")
  r[#r + 1] = tostring(ok) .. " " .. tostring(e)
  ok, e = pcall(function() local x = nil; return x.field end)
  r[#r + 1] = tostring(ok) .. " " .. tostring(e)
  ok, e = xpcall(function() error("deep", 2) end, function(m) return "handled: " .. tostring(m) end)
  r[#r + 1] = tostring(ok) .. " " .. tostring(e)
  ok, e = pcall(error, { code = 7 })
  r[#r + 1] = tostring(ok) .. " " .. type(e) .. " " .. tostring(e.code)
  local depth = 0
  local function rec() depth = depth + 1; return rec() + 1 end
  ok, e = pcall(rec)
  r[#r + 1] = "overflow " .. tostring(ok) .. " " .. tostring(e):gsub("^.-: ", "") .. " " .. tostring(depth > 100)
  local co = coroutine.wrap(function(a)
    local b = coroutine.yield(a + 1)
    error("in coroutine " .. b)
  end)
  local first = co(1)
  ok, e = pcall(co, 5)
  r[#r + 1] = "coroutine " .. first .. " " .. tostring(ok) .. " " .. tostring(e)
  return { Output = table.concat(r, "\n") }
end

function handlers.Numbers()
  local r = {
    tostring(0.1), tostring(1 / 3), tostring(1 / 0), tostring(-1 / 0),
    tostring(0 / 0), tostring(-(0 / 0)), tostring(math.maxinteger), tostring(math.mininteger),
    tostring(2 ^ 63), tostring(math.pi), tostring(-0.0), tostring(1e300 * 10),
    string.format("%5.2f|%g|%e|%x|%q|%a", 3.14159, 1e20, 12345.678, 255, "a\nb", 1.0),
    tostring(7 // 2), tostring(7 % -3), tostring(7.0 // 2), tostring(math.tointeger(3.0)),
    tostring(math.floor(-3.5)), tostring(2 ^ 53 + 1), utf8.char(233, 8364, 128512),
    tostring(tonumber("0x10")), tostring(tonumber("1e2")), tostring(#"héllo"),
  }
  return { Output = table.concat(r, " ") }
end

function handlers.Big(msg)
  local mib = tonumber(tag(msg, "Size") or "8")
  return { Output = string.rep("x", mib * 1024 * 1024) }
end

function handlers.Loop()
  while true do end
end

function handlers.Bomb()
  local t = {}
  local ok, err = pcall(function()
    while true do
      t[#t + 1] = string.rep("y", 1024 * 1024 - 64) .. #t
    end
  end)
  local n = #t
  t = nil
  collectgarbage()
  return { Output = string.format("bomb: %d MiB then %s: %s", n, tostring(ok), tostring(err)) }
end

function handlers.Keep(msg)
  local mib = tonumber(tag(msg, "Size") or "1")
  State.kept[#State.kept + 1] = string.rep("k", mib * 1024 * 1024 - 16) .. #State.kept
  return { Output = "kept " .. #State.kept }
end

function handlers.Exit()
  os.exit(3)
end

function handlers.Messages(msg, env)
  return {
    Output = json.object({ data = "sent", prompt = "> ", n = 1.5 }),
    Messages = {
      { Target = msg.From, Data = "pong", Tags = { { name = "Action", value = "Pong" } } },
    },
    Spawns = { { Data = "child", Tags = { { name = "Type", value = "Process" } } } },
    Assignments = { { Processes = { "p1", "p2" }, Message = "m1" } },
    Patches = { json.object({ device = "patch@1.0", cache = json.object({ k = env.Process.Id }) }) },
  }
end

function handlers.Stats()
  return {
    Output = string.format("count=%d evals=%d kept=%d gc=%d", State.count, State.evals, #State.kept,
      math.floor(collectgarbage("count"))),
  }
end

function handlers.Weave()
  if not weavedrive_open then
    return { Output = "weavedrive: not in this format" }
  end
  local ok, r = pcall(weavedrive_open, "/data/lua_missing")
  return { Output = "weavedrive_open -> " .. tostring(ok) .. " " .. tostring(r) }
end

function handlers.Unicode(msg)
  return { Output = "héllo € 😀 " .. tostring(msg.Data) .. " bad:\255:end" }
end

local process = {}

function process.handle(msg, env)
  State.count = State.count + 1
  local action = tag(msg, "Action") or "Echo"
  local h = handlers[action]
  if not h then
    return { Output = "", Error = "unknown action: " .. tostring(action) }
  end
  local res = h(msg, env)
  res.Messages = res.Messages or {}
  res.Spawns = res.Spawns or {}
  res.Assignments = res.Assignments or {}
  return res
end

--- Entry point called from C with the message and environment as JSON.
function handle(msgJSON, envJSON)
  local ok, res = pcall(function()
    return process.handle(json.decode(msgJSON), json.decode(envJSON))
  end)
  local out = json.encode({ ok = ok, response = res })
  collectgarbage()
  return out
end

-- Crash-safe files: writer processes save (grilly.save and opt:save) in a
-- loop and are killed with SIGKILL at random moments. The file under its
-- real name is then always one complete version, byte for byte, and loads;
-- damaged files are rejected with a message. Temporary files of killed
-- writers are removed by a later save once they are a minute old
-- (docs/file-format.md). GRILLY_CRASH_KILLS sets the number of kills
-- (default 30).
local ffi = require "ffi"
local grilly = require "grilly"
local child = require "child_process"
local scratch = require "scratch_files"
local versions = require "save_versions"

ffi.cdef [[ int grilly_spec_usleep(unsigned int usec) __asm__("usleep"); ]]

local KILLS = tonumber(os.getenv("GRILLY_CRASH_KILLS") or "") or 30

local WRITER = [[
  local versions = require "save_versions"
  local tensors, optimizers = {}, {}
  for k = 0, versions.COUNT - 1 do
    tensors[k], optimizers[k] = versions.tensors(k), versions.optimizer(k)
  end
  io.open("ready", "w"):close()
  local k = %d
  while true do
    k = (k + 1) %% versions.COUNT
    grilly.save("t.grl", tensors[k])
    optimizers[k]:save("o.grl")
  end
]]

local function sh(cmd)
  local pipe = assert(io.popen(cmd))
  local out = pipe:read("*a")
  pipe:close()
  return out
end

local function exists(path)
  local f = io.open(path, "rb")
  if f then f:close() end
  return f ~= nil
end

-- Whether process pid has ended (it may remain as a zombie until reaped).
local function ended(pid)
  local f = io.open("/proc/" .. pid .. "/stat", "r")
  if not f then return true end
  local stat = f:read("*a")
  f:close()
  return stat:match("^%d+ %b() (%a)") == "Z"
end

local function wait_for(cond, what)
  for _ = 1, 20000 do
    if cond() then return end
    ffi.C.grilly_spec_usleep(1000)
  end
  error("timed out waiting for " .. what)
end

describe("files of writers killed with SIGKILL", function()
  local dir, refs

  setup(function()
    dir = scratch.path("-crash")
    assert(os.execute("mkdir " .. child.quote(dir)) == 0)
    -- The reference bytes of every version, and the old version in place.
    refs = { t = {}, o = {} }
    for k = 0, versions.COUNT - 1 do
      grilly.save(dir .. "/ref.grl", versions.tensors(k))
      refs.t[scratch.read(dir .. "/ref.grl")] = k
      versions.optimizer(k):save(dir .. "/ref.grl")
      refs.o[scratch.read(dir .. "/ref.grl")] = k
    end
    os.remove(dir .. "/ref.grl")
    grilly.save(dir .. "/t.grl", versions.tensors(0))
    versions.optimizer(0):save(dir .. "/o.grl")
  end)

  teardown(function()
    os.execute("rm -rf " .. child.quote(dir))
  end)

  -- The version in the file under name, checked to load.
  local function version_of(name)
    local path = dir .. "/" .. name
    local k = refs[name:sub(1, 1)][scratch.read(path)]
    assert(k, name .. " is not a complete version of itself")
    if name == "t.grl" then
      local t = grilly.load(path, { device = "cpu" })
      assert.equal(k + 0.5, t.w[64][1024])
    else
      local opt = grilly.optim.load(path, versions.params())
      assert.equal(k + 1, opt.step_count)
    end
    return k
  end

  local function temporaries()
    local list = {}
    for name in sh("ls -A " .. child.quote(dir)):gmatch("[^\n]+") do
      if name:match("%.tmp%-") then list[#list + 1] = name end
    end
    return list
  end

  it(("always leave a complete old or new file under the real name (%d kills)"):format(KILLS), function()
    math.randomseed(83)
    local seen, left = { t = {}, o = {} }, 0
    for kill = 1, KILLS do
      os.remove(dir .. "/ready")
      local start = kill % versions.COUNT
      local pid = sh("cd " .. child.quote(dir) .. " && GRILLY_DEVICE=cpu exec " ..
                     child.command(WRITER:format(start)) .. " >/dev/null 2>&1 & echo $!"):match("%d+")
      wait_for(function() return exists(dir .. "/ready") end, "the writer to start")
      ffi.C.grilly_spec_usleep(math.random(0, 60000))
      os.execute("kill -KILL " .. pid)
      wait_for(function() return ended(pid) end, "the writer to end")
      seen.t[version_of("t.grl")] = true
      seen.o[version_of("o.grl")] = true
      left = math.max(left, #temporaries())
    end
    -- Kills landed inside saves (they left temporary files) and between them
    -- (more than one version was seen).
    assert.is_true(left > 0, "no kill interrupted a save")
    assert.is_true(next(seen.t, next(seen.t)) ~= nil and next(seen.o, next(seen.o)) ~= nil,
      "every kill found the same version")
    for _, name in ipairs(temporaries()) do
      assert.matches("^[to]%.grl%.tmp%-%d+%-%d+$", name)
    end
  end)

  it("leaves temporary files that a later save removes once they are a minute old", function()
    local stale = temporaries()
    if #stale == 0 then
      -- as a killed writer leaves one
      scratch.write(dir .. "/t.grl.tmp-999999-0", "partial")
      stale = { "t.grl.tmp-999999-0" }
    end
    -- A young one may belong to a writer that is just starting: it stays.
    grilly.save(dir .. "/t.grl", versions.tensors(1))
    versions.optimizer(1):save(dir .. "/o.grl")
    assert.are.same(stale, temporaries())
    for _, name in ipairs(stale) do os.execute("touch -d '2 minutes ago' " .. child.quote(dir .. "/" .. name)) end
    grilly.save(dir .. "/t.grl", versions.tensors(2))
    versions.optimizer(2):save(dir .. "/o.grl")
    assert.are.same({}, temporaries())
    assert.equal(2, version_of("t.grl"))
    assert.equal(2, version_of("o.grl"))
  end)

  it("keeps the temporary file of a live writer, however old", function()
    for _, old in ipairs(temporaries()) do os.remove(dir .. "/" .. old) end
    local name = "o.grl.tmp-1-0"
    local path = dir .. "/" .. name
    scratch.write(path, "in progress")
    os.execute("touch -d '2 minutes ago' " .. child.quote(path))
    -- A live writer holds a lock on its temporary file while it writes.
    local holder = io.popen("flock " .. child.quote(path) .. " sleep 5", "r")
    wait_for(function() return sh("flock -n " .. child.quote(path) .. " true && echo free") == "" end,
             "the lock to be taken")
    versions.optimizer(0):save(dir .. "/o.grl")
    assert.are.same({ name }, temporaries())
    holder:close()
    os.remove(path)
  end)
end)

describe("a damaged optimizer file", function()
  local path = scratch.path(".grl")
  local small

  setup(function()
    local p = { grilly.randn(3, { device = "cpu" }) }
    local opt = grilly.optim.AutoHypergradientAdamW(p, { track_surprise = true, warmup_steps = 0 })
    for _ = 1, 3 do opt:step { [p[1]] = grilly.randn(3, { device = "cpu" }) } end
    opt:save(path)
    small = scratch.read(path)
  end)

  teardown(function() os.remove(path) end)

  local function load_error()
    local ok, err = pcall(grilly.optim.load, path, { grilly.zeros(3, { device = "cpu" }) })
    assert.is_false(ok, "a damaged file loaded")
    return err
  end

  it("is rejected as truncated at every length", function()
    for n = 0, #small - 1 do
      scratch.write(path, small:sub(1, n))
      local err = load_error()
      if n == 0 then assert.matches("^load: '.-' is not a grilly file %(it is empty%)$", err)
      else assert.matches("^load: '.-' is truncated %(", err) end
    end
  end)

  it("is rejected as corrupted for every single flipped bit", function()
    for i = 1, #small do
      for b = 0, 7 do
        scratch.write(path, small:sub(1, i - 1) .. string.char(bit.bxor(small:byte(i), 2 ^ b)) .. small:sub(i + 1))
        local err = load_error()
        if i <= 8 then assert.matches("^load: '.-' is not a grilly file$", err)
        else assert.matches("^load: '.-' is corrupted %(", err) end
      end
    end
  end)
end)

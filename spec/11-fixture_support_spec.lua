-- The spec-support JSON decoder and the fixture driver that optimizer specs rely on.
local json = require "json"
local fixtures = require "fixtures"

describe("spec support: json.decode", function()
  it("decodes scalars, numbers with exponents and nested containers", function()
    assert.same({ a = { 1, -2.5, 3e2, -1E-2, 0 }, b = true, c = false },
      json.decode(' { "a" : [1, -2.5, 3e2, -1E-2, 0], "b": true, "c": false } '))
    assert.equal(0.1, json.decode("0.1"))
    assert.equal(1e-300, json.decode("1e-300"))
    assert.same({}, json.decode("[]"))
    assert.same({ x = {} }, json.decode('{"x": {}}'))
  end)

  it("keeps nulls as a sentinel so arrays keep their positions", function()
    local a = json.decode("[1, null, 3]")
    assert.equal(3, #a)
    assert.equal(json.null, a[2])
  end)

  it("decodes string escapes, including \\u and surrogate pairs, to UTF-8", function()
    assert.equal('q"b\\s/\b\f\n\r\t', json.decode([["q\"b\\s\/\b\f\n\r\t"]]))
    assert.equal("\xC3\xA9", json.decode([["\u00e9"]]))
    assert.equal("\xE2\x82\xAC", json.decode([["\u20AC"]]))
    assert.equal("\xF0\x9F\x98\x80", json.decode([["\ud83d\ude00"]]))
    assert.equal("A", json.decode([["\u0041"]]))
  end)

  it("rejects malformed input with the position", function()
    local bad = {
      { "", "unexpected end of input" }, { "01", "bad number" }, { "1.", "bad number" },
      { "-", "bad number" }, { "1e", "bad number" }, { ".5", "unexpected character" },
      { "[1,]", "unexpected character" }, { "[1 2]", "expected ',' or ']'" },
      { '{"a":1,}', "expected a string key" }, { '{"a" 1}', "expected ':'" },
      { "{1:2}", "expected a string key" }, { '"abc', "unterminated string" },
      { '"\\x"', "bad escape" }, { '"\\u12"', "bad \\u escape" },
      { '"\\ud800"', "unpaired surrogate" }, { '"\\udc00"', "unpaired surrogate" },
      { '"a\nb"', "control character" }, { "nul", "unexpected character" },
      { "[1] 2", "trailing characters" }, { "[", "unexpected end of input" },
    }
    for _, case in ipairs(bad) do
      local ok, err = pcall(json.decode, case[1])
      assert.is_false(ok, case[1])
      assert.truthy(err:find(case[2], 1, true), case[1] .. " gave: " .. tostring(err))
      assert.truthy(err:find("at byte %d+"), err)
    end
    assert.error_matches(function() json.decode(5) end, "string expected, got number")
  end)
end)

describe("spec support: fixtures", function()
  it("rounds to float32", function()
    assert.equal(1, fixtures.f32(1))
    assert.equal(0.100000001490116119384765625, fixtures.f32(0.1))
    assert.equal(16777216, fixtures.f32(16777217))
  end)

  it("loads both fixture files and annotates their runs", function()
    local v3 = fixtures.load("grilly-v3-quadratic.json")
    local v2 = fixtures.load("grilly-v2-quadratic.json")
    assert.same({ "adamw", "adamw_amsgrad", "auto_default", "auto_mom_surprise",
                  "hyper_bh1e-3_log", "hyper_bh1e-4" }, fixtures.run_names(v3))
    assert.equal(200, #v3.runs.adamw.steps)
    assert.equal("a_quadratic", v3.runs.adamw.scenario)
    assert.is_nil(v3.runs.auto_default.options.variant)
    assert.equal("grilly-v2", v2.runs.auto_default.options.variant)
    assert.is_nil(v2.runs.adamw.options.variant)            -- only AutoHypergradientAdamW has variants
    assert.same({ lr = 0.01, adapt_momentum = true, track_surprise = true },
                v3.runs.auto_mom_surprise.options)
  end)

  it("names both places it looked when the fixtures are missing", function()
    local real_getenv, real_open = os.getenv, io.open
    os.getenv = function(k) if k == "GRILLY_FIXTURES" then return "/nonexistent/dir" end return real_getenv(k) end
    io.open = function(path, mode)
      if path:find("fixtures/", 1, true) then return nil end
      return real_open(path, mode)
    end
    local ok, err = pcall(fixtures.dir)
    os.getenv, io.open = real_getenv, real_open
    assert.is_false(ok)
    assert.truthy(err:find("/nonexistent/dir", 1, true), err)
    assert.truthy(err:find("../shared/fixtures", 1, true), err)
  end)

  it("prefers GRILLY_FIXTURES when it holds the fixtures", function()
    local real_getenv = os.getenv
    local here = fixtures.dir()
    os.getenv = function(k) if k == "GRILLY_FIXTURES" then return here end return real_getenv(k) end
    local got = fixtures.dir()
    os.getenv = real_getenv
    assert.equal(here, got)
  end)

  -- An adapter that replays the fixture's own records: the driver must accept it, and must
  -- report every perturbation of it.
  local function echo_make(run, perturb)
    return function(class_name, options, x0)
      assert.equal(run.optimizer, class_name)
      local k, x = 0, x0
      return {
        step = function(g)
          k = k + 1
          x = run.steps[k].x
        end,
        params = function() return x end,
        record = function()
          local rec = {}
          for field, v in pairs(run.steps[k]) do rec[field] = v end
          if perturb then perturb(rec, k) end
          return rec
        end,
      }
    end
  end

  it("accepts a run that reproduces the records and reports the tolerance used", function()
    local run = fixtures.load("grilly-v3-quadratic.json").runs.auto_mom_surprise
    local mismatches, worst = fixtures.replay(run, echo_make(run))
    assert.same({}, mismatches)
    assert.is_true(worst.ratio < 0.5)   -- loss_before is recomputed from float32 records
  end)

  it("reports numbers beyond 1e-4 relative + 5e-5 absolute and any flag difference", function()
    local run = fixtures.load("grilly-v3-quadratic.json").runs.auto_mom_surprise
    local mismatches = fixtures.replay(run, echo_make(run, function(rec, k)
      if k == 20 then rec.lr = rec.lr * (1 + 1e-4) + 6e-5 end
      if k == 30 then rec.surprise_updated = not rec.surprise_updated end
      if k == 40 then rec.G_lr = nil end
      if k == 50 then rec.s_bar = rec.s_bar * (1 + 0.9e-4) + 4e-5 end   -- inside: accepted
    end))
    assert.equal(3, #mismatches, fixtures.describe(mismatches, 10))
    local seen = {}
    for _, m in ipairs(mismatches) do seen[m.field .. "@" .. m.step] = m end
    assert.truthy(seen["lr@20"])
    assert.truthy(seen["surprise_updated@30"])
    assert.is_nil(seen["G_lr@40"].got)
    assert.truthy(fixtures.describe(mismatches, 1):find("3 mismatches\n  step", 1, true))
  end)

  it("checks the parameters and the final history lengths", function()
    local run = fixtures.load("grilly-v3-quadratic.json").runs["hyper_bh1e-4"]
    local make = echo_make(run)
    local mismatches = fixtures.replay(run, function(...)
      local adapter = make(...)
      local params = adapter.params
      adapter.params = function()
        local x = params()
        return { x[1], x[2], x[3] + 1e-3, unpack(x, 4) }
      end
      adapter.history_lengths = function() return { lr_history = 199 } end
      return adapter
    end)
    local fields = {}
    for _, m in ipairs(mismatches) do fields[m.field] = true end
    assert.truthy(fields["x[3]"])
    assert.truthy(fields["lr_history_len"])
  end)
end)

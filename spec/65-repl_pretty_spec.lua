-- How the REPL shows values.
local grilly = require "grilly"
local pretty = require "grilly.repl.pretty"

describe("grilly.repl.pretty", function()
  it("writes tables as constructors, array part first, then sorted keys", function()
    assert.equal('{1, 2, 3, ["a b"] = true, ["end"] = 1, x = "y"}',
                 pretty.format({ 1, 2, 3, x = "y", ["a b"] = true, ["end"] = 1 }))
    assert.equal("{}", pretty.format({}))
    assert.equal("{[0.5] = 1, [10] = 2}", pretty.format({ [10] = 2, [0.5] = 1 }))
  end)

  it("limits depth and marks cycles", function()
    assert.equal("{a = {b = {c = {d = {...}}}}}", pretty.format({ a = { b = { c = { d = { e = 1 } } } } }))
    local t = {}
    t.self = t
    assert.equal("{self = <cycle>}", pretty.format(t))
    local shared = { 1 }
    assert.equal("{{1}, {1}}", pretty.format({ shared, shared }))
  end)

  it("wraps a long table over lines, several short items to a line", function()
    local items = {}
    for i = 1, 30 do items[i] = i * 1000 end
    local text = pretty.format({ values = items })
    local lines = {}
    for l in text:gmatch("[^\n]+") do lines[#lines + 1] = l end
    assert.equal("{", lines[1])
    assert.equal("  values = {", lines[2])
    assert.equal("}", lines[#lines])
    for i = 2, #lines do assert.is_true(#lines[i] <= 78, lines[i]) end
    -- every number is there, in order
    local seen = {}
    for n in text:gmatch("%d+") do seen[#seen + 1] = tonumber(n) end
    assert.same(items, seen)
  end)

  it("shows a top-level string as it is and quotes nested ones", function()
    assert.equal("two\nlines", pretty.format("two\nlines"))
    assert.equal('{"two\\nlines", "q\\"uote"}', pretty.format({ "two\nlines", 'q"uote' }))
  end)

  it("writes numbers compactly and exactly", function()
    assert.equal("{42, 0.1, 1e-08, nan, inf, -inf}", pretty.format({ 42, 0.1, 1e-8, 0 / 0, math.huge, -math.huge }))
  end)

  it("uses __tostring where a table has one", function()
    local obj = setmetatable({}, { __tostring = function() return "<thing>" end })
    assert.equal("{<thing>}", pretty.format({ obj }))
    assert.equal("<thing>", pretty.format(obj))
  end)

  it("shows a tensor as its header and an aligned grid", function()
    assert.equal("grilly.Tensor(2x3, float32, cpu)\n  1 2 3\n  4 5 6",
                 pretty.format(grilly.tensor({ { 1, 2, 3 }, { 4, 5, 6 } }, { device = "cpu" })))
    assert.equal("grilly.Tensor(3, float32, cpu)\n    1.5  0.25 -1000",
                 pretty.format(grilly.tensor({ 1.5, 0.25, -1000 }, { device = "cpu" })))
    local slices = pretty.format(grilly.zeros(2, 1, 2, { device = "cpu" }))
    assert.truthy(slices:find("  [1,:,:]\n  0 0\n  [2,:,:]\n  0 0", 1, true))
  end)

  it("elides the middle of a large tensor and skips the values of a huge one", function()
    local t = grilly.zeros(40, 40, { device = "cpu" })
    local lines = {}
    for l in pretty.format(t):gmatch("[^\n]+") do lines[#lines + 1] = l end
    assert.equal(1 + 13, #lines)   -- header, 12 rows and the "..." row
    assert.truthy(lines[8]:find("...", 1, true))
    assert.equal("grilly.Tensor(200x100, float32, cpu)\n  (20000 elements; t:totable() reads them)",
                 pretty.format(grilly.zeros(200, 100, { device = "cpu" })))
  end)

  it("lists an optimizer's fields with their values", function()
    local p = grilly.zeros(2)
    local opt = grilly.optim.AutoHypergradientAdamW({ p }, { hyper_lr = 0.02, track_surprise = true })
    local text = pretty.format(opt)
    assert.equal(tostring(opt), text:match("^[^\n]+"))
    assert.truthy(text:find("\n  hyper_lr +%= 0%.02\n"))
    assert.truthy(text:find("\n  lr_history +%= {0%.001}\n"))
    assert.truthy(text:find("\n  track_surprise +%= true\n"))
    for _, name in ipairs(getmetatable(opt).__fields) do
      assert.truthy(text:find("\n  " .. name .. " +%= "), name)
    end
  end)

  it("summarises long histories", function()
    local obj = newproxy(true)
    local mt = getmetatable(obj)
    mt.__fields = { "h" }
    mt.__index = function() return { 1, 2, 3, 4, 5, 6 } end
    mt.__tostring = function() return "stand-in" end
    assert.equal("stand-in\n  h = {6 values: 1, 2, ... 6}", pretty.format(obj))
  end)
end)

-- grilly.plot.term: braille text plots.
local scratch = require "scratch_files"
local plot = require "grilly.plot"

local read = scratch.read

-- The plot rows of a rendering: the text after each axis character.
local function body_rows(text)
  local rows = {}
  for line in text:gmatch("[^\n]+") do
    local body = line:match("┤(.*)$") or line:match("│(.*)$")
    if body then rows[#rows + 1] = body end
  end
  return rows
end

describe("grilly.plot.term", function()
  it("puts the dots of a two-point line where Bresenham puts them", function()
    -- cols = 2, rows = 1: a 4x4 dot grid. y = 0 maps to dot row 3 and y = 1
    -- to row 0 (5 % padding), x = 1 and 2 to dot columns 0 and 3, so the line
    -- covers (0,3) (1,2) | (2,1) (3,0): bits 0x40+0x20 and 0x02+0x08.
    local text = plot.term({ 0, 1 }, { cols = 2, rows = 1 })
    assert.same({ "⡠⠊" }, body_rows(text))
  end)

  it("breaks the line at a non-finite value", function()
    -- Same grid over x = 1..3: only the end points remain, (0,3) and (3,0).
    local text = plot.term({ 0, 0 / 0, 1 }, { cols = 2, rows = 1 })
    assert.same({ "⡀⠈" }, body_rows(text))
  end)

  it("labels an axis whose values lie closer together than their magnitude can resolve", function()
    -- 2^53 and 2^53 + 2 are neighbouring doubles: tick counting by k = k + 1
    -- stalls there, which used to loop without end.
    local text = plot.term({ 2 ^ 53 + 2, 2 ^ 53 }, { cols = 8, rows = 2 })
    assert.equal(2, #body_rows(text))
    assert.matches("9%.00719925474099e15 ┤", text)
  end)

  it("draws a flat series along one dot row", function()
    local text = plot.term({ 5, 5, 5, 5 }, { cols = 4, rows = 2 })
    local rows = body_rows(text)
    -- A constant lies in the middle of its padded range: dot row 3 or 4 of 8.
    local filled = 0
    for _, r in ipairs(rows) do if r:find("[^ ]") then filled = filled + 1 end end
    assert.equal(1, filled)
  end)

  it("matches the stored rendering of two known series", function()
    local ys = {}
    for i = 0, 40 do ys[#ys + 1] = math.sin(i / 40 * 2 * math.pi) end
    local text = plot.term({ { y = ys, name = "sin" },
                             { y = { 1, 0.5, 0, -0.5, -1 }, x = { 0, 10, 20, 30, 40 }, name = "ramp" } },
                           { title = "sine and ramp", cols = 40, rows = 8, xlabel = "step", ylabel = "value" })
    assert.equal(read("spec/fixtures/plot_term_sine.txt"), text)
  end)

  it("shows the title, axis labels, ticks and legend", function()
    local text = plot.term({ { y = { 0, 10 }, x = { 0, 100 }, name = "train" },
                             { y = { 10, 0 }, x = { 0, 100 }, name = "val" } },
                           { title = "losses", xlabel = "step", ylabel = "loss" })
    assert.truthy(text:find("losses", 1, true))
    assert.truthy(text:find("loss\n", 1, true))
    assert.truthy(text:find("\n%s+step\n"))
    for _, tick in ipairs({ " 0 ┤", "10 ┤", " 20 ", " 60 ", " 100" }) do
      assert.truthy(text:find(tick, 1, true), tick)
    end
    assert.truthy(text:find("⠒⠒ train   ⠒⠒ val", 1, true))
  end)

  it("uses decade ticks on a log axis", function()
    local text = plot.term({ 1e-4, 1e-3, 1e-2, 1e-1 }, { log_y = true, ylabel = "lr" })
    assert.truthy(text:find("lr (log)", 1, true))
    for _, tick in ipairs({ "1e-4 ┤", "0.001 ┤", "0.01 ┤", "0.1 ┤" }) do
      assert.truthy(text:find(tick, 1, true), tick)
    end
    -- Evenly spaced decades make a straight line on a log axis: halfway up
    -- (10^-2.5) it is halfway across, about column 30 of 60. On a linear axis
    -- that height would be reached only near column 45.
    local rows = body_rows(text)
    assert.equal(10, #rows)
    for _, r in ipairs({ 5, 6 }) do
      local first = rows[r]:find("[^ ]") - 1
      assert.is_true(first > 22 and first < 38, "row " .. r .. " starts at column " .. first)
    end
  end)

  it("colours each series with ANSI codes only when asked", function()
    local plain = plot.term({ { y = { 1, 2 } }, { y = { 2, 1 } } })
    assert.is_nil(plain:find("\27[", 1, true))
    local coloured = plot.term({ { y = { 1, 2 } }, { y = { 2, 1 } } }, { color = true })
    assert.truthy(coloured:find("\27[34m", 1, true))
    assert.truthy(coloured:find("\27[31m", 1, true))
  end)

  it("rejects what is not a series", function()
    assert.error_matches(function() plot.term("x") end, "bad argument #1 .*series")
    assert.error_matches(function() plot.term({ { 1, 2 }, { x = { 1 }, y = { 1, 2 } } }) end,
                         "series 2 has 1 x values for 2 y values")
    assert.error_matches(function() plot.term({ { 1 }, true }) end, "series 2 must be an array of numbers")
    assert.error_matches(function() plot.term({ 1 }, 5) end, "options must be a table")
    assert.error_matches(function() plot.term({}) end, "no series to plot")
  end)
end)

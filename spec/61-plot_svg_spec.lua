-- grilly.plot SVG output: well-formed XML, one path per series, labels.
local scratch = require "scratch_files"
local plot = require "grilly.plot"
local xml = require "xml_check"

local read, tmp = scratch.read, scratch.path

local function series_paths(root)
  local out = {}
  for _, p in ipairs(xml.find_all(root, "path")) do
    if p.attrs.class == "series" then out[#out + 1] = p end
  end
  return out
end

local function texts(root)
  local out = {}
  for _, t in ipairs(xml.find_all(root, "text")) do out[#out + 1] = t.text or "" end
  return "|" .. table.concat(out, "|") .. "|"
end

-- An optimizer stand-in with the documented history fields.
local function optimizer()
  local opt = { step_count = 30, lr_history = { 1e-3 }, beta1_history = { 0.9 },
                surprise_history = {}, s_bar_history = {}, trauma_threshold = 0.5 }
  local lr, sbar = 1e-3, 0
  for s = 11, 30 do
    lr = lr * 1.1
    opt.lr_history[#opt.lr_history + 1] = lr
    local S = math.tanh(1 / (s - 9))
    sbar = 0.1 * S + 0.9 * sbar
    opt.surprise_history[#opt.surprise_history + 1] = S
    opt.s_bar_history[#opt.s_bar_history + 1] = sbar
  end
  return opt
end

describe("grilly.plot SVG output", function()
  it("writes well-formed XML with one path per series and a legend entry each", function()
    local file = tmp(".svg")
    local path = plot.lines{ { 1, 4, 9, 16 }, { y = { 2, 3, 5, 8 }, name = "fib" },
                             { y = { 3, 3, 3, 3 }, name = "flat" },
                             file = file, title = "three", xlabel = "n", ylabel = "value" }
    assert.equal(file, path)
    local root, err = xml.parse(read(file))
    os.remove(file)
    assert.is_truthy(root, err)
    assert.equal("svg", root.name)
    assert.equal("http://www.w3.org/2000/svg", root.attrs.xmlns)
    local paths = series_paths(root)
    assert.equal(3, #paths)
    assert.same({ "series 1", "fib", "flat" },
                { paths[1].attrs["data-name"], paths[2].attrs["data-name"], paths[3].attrs["data-name"] })
    local all = texts(root)
    for _, s in ipairs({ "three", "|n|", "|value|", "|series 1|", "|fib|", "|flat|" }) do
      assert.truthy(all:find(s, 1, true), s)
    end
  end)

  it("places the points where the axes put them", function()
    -- No title: the panel spans y 12..212 and x 80..776. y runs from -0.5 to
    -- 10.5 (5 % padding), so y = 0 is at 212 - 200 * 0.5 / 11 = 202.91 and
    -- y = 10 at 212 - 200 * 10.5 / 11 = 21.09.
    local file = tmp(".svg")
    plot.lines{ { x = { 0, 1 }, y = { 0, 10 } }, file = file }
    local root = assert(xml.parse(read(file)))
    os.remove(file)
    assert.equal("M80.00 202.91 L776.00 21.09", series_paths(root)[1].attrs.d)
  end)

  it("starts a new subpath after a gap", function()
    local file = tmp(".svg")
    plot.lines{ { 1, 2, 0 / 0, 3, 4 }, file = file }
    local root = assert(xml.parse(read(file)))
    os.remove(file)
    local d = series_paths(root)[1].attrs.d
    local _, moves = d:gsub("M", "")
    local _, lines = d:gsub("L", "")
    assert.equal(2, moves)
    assert.equal(2, lines)
  end)

  it("escapes text so that any title stays well-formed", function()
    local file = tmp(".svg")
    plot.lines{ { y = { 1, 2 }, name = "a<b & \"c\"" }, file = file, title = "x < y & 'z'" }
    local root, err = xml.parse(read(file))
    os.remove(file)
    assert.is_truthy(root, err)
    assert.equal("a&lt;b &amp; &quot;c&quot;", series_paths(root)[1].attrs["data-name"])
  end)

  it("draws one panel per history series, with lr on a log axis", function()
    local file = tmp(".svg")
    assert.equal(file, plot.history(optimizer(), { "lr", "beta1", "surprise", "s_bar", "gain" },
                                    { file = file, title = "run" }))
    local root = assert(xml.parse(read(file)))
    os.remove(file)
    local panels = 0
    for _, g in ipairs(xml.find_all(root, "g")) do
      if g.attrs.class == "panel" then panels = panels + 1 end
    end
    assert.equal(5, panels)
    assert.equal(5, #series_paths(root))
    local all = texts(root)
    assert.truthy(all:find("|lr (log)|", 1, true))
    assert.truthy(all:find("|beta1|", 1, true))
    assert.truthy(all:find("|step|", 1, true))
    assert.truthy(all:find("|0.001|", 1, true))
  end)

  it("writes a no-data panel for an empty history", function()
    local file = tmp(".svg")
    local opt = { step_count = 5, lr_history = { 0.01 }, surprise_history = {} }
    assert.equal(file, plot.history(opt, { "lr", "surprise" }, { file = file }))
    local root = assert(xml.parse(read(file)))
    os.remove(file)
    assert.truthy(texts(root):find("|no data|", 1, true))
    assert.equal(2, #series_paths(root))
  end)

  it("rejects a file name without .png or .svg and reports an unwritable path", function()
    assert.error_matches(function() plot.lines{ { 1, 2 }, file = "x.jpg" } end,
                         "option 'file' must end in %.png or %.svg, got 'x.jpg'")
    assert.error_matches(function() plot.lines{ { 1, 2 }, file = 3 } end,
                         "option 'file' must be a string")
    local ok, err = plot.lines{ { 1, 2 }, file = "/nonexistent-dir/x.svg" }
    assert.is_nil(ok)
    assert.matches("cannot write /nonexistent%-dir/x.svg", err)
  end)
end)

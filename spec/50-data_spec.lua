-- grilly.data: IDX and CSV readers against files written here, seeded
-- permutations, the minibatch loader, splits, scaling, synthetic sets and
-- Fashion-MNIST when its Debian package is installed.
local grilly = require "grilly"
local ref = require "tensor_ref"

local data = grilly.data

local function write(path, bytes)
  local f = assert(io.open(path, "wb"))
  f:write(bytes)
  f:close()
end

local function be32(v)
  return string.char(math.floor(v / 16777216) % 256, math.floor(v / 65536) % 256, math.floor(v / 256) % 256, v % 256)
end

-- An IDX file of type code `code` with the given dims and encoded elements.
local function idx_bytes(code, dims, body)
  local parts = { string.char(0, 0, code, #dims) }
  for _, d in ipairs(dims) do parts[#parts + 1] = be32(d) end
  parts[#parts + 1] = body
  return table.concat(parts)
end

local function sorted(t)
  local c = {}
  for i, v in ipairs(t) do c[i] = v end
  table.sort(c)
  return c
end

local function range(n)
  local r = {}
  for i = 1, n do r[i] = i end
  return r
end

describe("grilly.data", function()
  local dir = os.tmpname()
  os.remove(dir)
  assert(os.execute("mkdir -p " .. dir) == 0 or true)
  teardown(function() os.execute("rm -rf " .. dir) end)

  describe("read_idx", function()
    it("reads u8, i8, i16, i32, f32 and f64 files of any rank", function()
      write(dir .. "/u8", idx_bytes(0x08, { 2, 3 }, string.char(0, 1, 2, 127, 128, 255)))
      ref.assert_tensor(data.read_idx(dir .. "/u8", { device = "cpu" }), { 0, 1, 2, 127, 128, 255 }, { 2, 3 }, "cpu")
      write(dir .. "/i8", idx_bytes(0x09, { 3 }, string.char(0, 127, 200)))
      ref.assert_tensor(data.read_idx(dir .. "/i8", { device = "cpu" }), { 0, 127, -56 }, { 3 }, "cpu")
      write(dir .. "/i16", idx_bytes(0x0B, { 2 }, string.char(1, 2, 255, 254)))
      ref.assert_tensor(data.read_idx(dir .. "/i16", { device = "cpu" }), { 258, -2 }, { 2 }, "cpu")
      write(dir .. "/i32", idx_bytes(0x0C, { 1, 1, 2 }, string.char(0, 1, 0, 0, 255, 255, 255, 255)))
      ref.assert_tensor(data.read_idx(dir .. "/i32", { device = "cpu" }), { 65536, -1 }, { 1, 1, 2 }, "cpu")
      -- 1.5f is 0x3FC00000; 0.25 as a double is 0x3FD0000000000000.
      write(dir .. "/f32", idx_bytes(0x0D, { 1 }, string.char(0x3F, 0xC0, 0, 0)))
      ref.assert_tensor(data.read_idx(dir .. "/f32", { device = "cpu" }), { 1.5 }, { 1 }, "cpu")
      write(dir .. "/f64", idx_bytes(0x0E, { 1 }, string.char(0x3F, 0xD0, 0, 0, 0, 0, 0, 0)))
      ref.assert_tensor(data.read_idx(dir .. "/f64", { device = "cpu" }), { 0.25 }, { 1 }, "cpu")
    end)

    it("reads gzip-compressed files", function()
      write(dir .. "/z", idx_bytes(0x08, { 4 }, string.char(9, 8, 7, 6)))
      os.execute("gzip -f " .. dir .. "/z")
      ref.assert_tensor(data.read_idx(dir .. "/z.gz", { device = "cpu" }), { 9, 8, 7, 6 }, { 4 }, "cpu")
    end)

    it("returns nil and a message for missing, foreign, truncated or overlong files", function()
      local t, err = data.read_idx(dir .. "/absent")
      assert.is_nil(t)
      assert.matches("cannot open .*absent: No such file", err)
      write(dir .. "/bad", "\1\2\3\4\5")
      t, err = data.read_idx(dir .. "/bad")
      assert.is_nil(t)
      assert.matches("not an IDX file %(magic 01 02 03 04%)", err)
      write(dir .. "/short", idx_bytes(0x08, { 5 }, string.char(1, 2)))
      t, err = data.read_idx(dir .. "/short")
      assert.is_nil(t)
      assert.matches("file ends inside the data", err)
      write(dir .. "/long", idx_bytes(0x08, { 1 }, string.char(1, 2)))
      t, err = data.read_idx(dir .. "/long")
      assert.is_nil(t)
      assert.matches("more data than the header's 1 elements", err)
    end)

    it("reads a header claiming 2^40 elements as truncated, without allocating what it claims", function()
      -- 2^40 float64s: 8 TiB of data and 4 TiB of floats, in a 28-byte file
      write(dir .. "/huge", idx_bytes(0x0E, { 2 ^ 20, 2 ^ 20 }, string.char(1, 2, 3, 4, 5, 6, 7, 8)))
      local t, err = data.read_idx(dir .. "/huge")
      assert.is_nil(t)
      assert.matches("file ends inside the data", err)
    end)
  end)

  describe("read_csv", function()
    it("reads numbers, a header line and other delimiters", function()
      write(dir .. "/a.csv", "x,y,label\n1,2.5,3\r\n-4,5e-1,6\n\n")
      local t, names = data.read_csv(dir .. "/a.csv", { header = true, device = "cpu" })
      ref.assert_tensor(t, { 1, 2.5, 3, -4, 0.5, 6 }, { 2, 3 }, "cpu")
      assert.are.same({ "x", "y", "label" }, names)
      write(dir .. "/b.tsv", "1\t2\n3\t4\n")
      ref.assert_tensor(data.read_csv(dir .. "/b.tsv", { delimiter = "\t", device = "cpu" }), { 1, 2, 3, 4 }, { 2, 2 },
                        "cpu")
    end)

    it("reports ragged rows, non-numbers and bad delimiters", function()
      write(dir .. "/r.csv", "1,2\n3\n")
      local t, err = data.read_csv(dir .. "/r.csv")
      assert.is_nil(t)
      assert.matches("line 2 has 1 fields, expected 2", err)
      write(dir .. "/n.csv", "1,two\n")
      t, err = data.read_csv(dir .. "/n.csv")
      assert.is_nil(t)
      assert.matches("line 1, field 2: 'two' is not a number", err)
      assert.has_error(function() data.read_csv(dir .. "/n.csv", { delimiter = "e" }) end)
      assert.is_nil(data.read_csv(dir .. "/none.csv"))
    end)
  end)

  describe("loader", function()
    -- x holds each row's index in both columns, y the index, so that
    -- batches show which rows they took.
    local n = 23
    local xs = {}
    for i = 1, n do xs[i] = { i, i } end
    local x, y = grilly.tensor(xs, { device = "cpu" }), grilly.arange(1, n + 1, { device = "cpu" })

    local function epoch_rows(loader)
      local rows, sizes = {}, {}
      for xb, yb in loader:batches() do
        local fx, fy = ref.read(xb), ref.read(yb)
        sizes[#sizes + 1] = #fy
        for i, v in ipairs(fy) do
          assert.are.equal(v, fx[2 * i - 1])
          rows[#rows + 1] = v
        end
      end
      return rows, sizes
    end

    it("covers every row once per epoch, shuffled, with a short last batch", function()
      local l = data.loader(x, y, { batch_size = 5, seed = 3 })
      assert.are.equal(5, l:size())
      local rows, sizes = epoch_rows(l)
      assert.are.same({ 5, 5, 5, 5, 3 }, sizes)
      assert.are.same(range(n), sorted(rows))
      assert.are_not.same(range(n), rows)
      assert.is_nil(l:next())
      l:reset()
      local rows2 = epoch_rows(l)
      assert.are.same(range(n), sorted(rows2))
      assert.are_not.same(rows, rows2)
      -- The same seed gives the same epochs.
      assert.are.same(rows, epoch_rows(data.loader(x, y, { batch_size = 5, seed = 3 })))
    end)

    it("keeps the order without shuffling, drops the last batch on request and normalises", function()
      local rows, sizes = epoch_rows(data.loader(x, y, { batch_size = 10, shuffle = false }))
      assert.are.same(range(n), rows)
      assert.are.same({ 10, 10, 3 }, sizes)
      local l = data.loader(x, y, { batch_size = 10, drop_last = true })
      assert.are.equal(2, l:size())
      local _, s2 = epoch_rows(l)
      assert.are.same({ 10, 10 }, s2)
      local xb = data.loader(x, { batch_size = 2, shuffle = false, normalize = { mean = 1, std = 2 } }):next()
      ref.assert_tensor(xb, { 0, 0, 0.5, 0.5 }, { 2, 2 }, "cpu")
    end)

    it("checks its arguments", function()
      assert.has_error(function() data.loader(x, grilly.zeros(3), {}) end,
                       "loader: y must be a tensor with as many rows as x (x is 23x2, y is 3)")
      assert.has_error(function() data.loader(x, y, { batch_size = 0 }) end,
                       "loader: option 'batch_size' must be an integer >= 1, got 0")
    end)
  end)

  it("permutation gives every index once, fixed by seed and stream", function()
    local p = ref.read(data.permutation(10, 1))
    assert.are.same(range(10), sorted(p))
    local again = ref.read(data.permutation(10, 1))
    assert.are.same(p, again)
    assert.are_not.same(p, ref.read(data.permutation(10, 1, 1)))
    assert.are_not.same(p, ref.read(data.permutation(10, 2)))
  end)

  it("split divides the rows into disjoint seeded parts", function()
    local x = grilly.arange(1, 21, { device = "cpu" }):view(20, 1)
    local y = grilly.arange(1, 21, { device = "cpu" })
    local tx, ty, vx, vy = data.split(x, y, { val_fraction = 0.25, seed = 5 })
    assert.are.same({ 15, 1 }, tx:size())
    assert.are.same({ 5 }, vy:size())
    assert.are.same(ref.read(tx), ref.read(ty))
    assert.are.same(ref.read(vx), ref.read(vy))
    local all = ref.read(ty)
    for _, v in ipairs(ref.read(vy)) do all[#all + 1] = v end
    assert.are.same(range(20), sorted(all))
    local _, _, _, vy2 = data.split(x, y, { val_size = 5, seed = 5 })
    assert.are.same(ref.read(vy), ref.read(vy2))
    assert.has_error(function() data.split(x, y, { val_size = 21 }) end, "split: val_size 21 exceeds the 20 rows")
  end)

  it("stats and normalize standardise globally or per feature", function()
    local x = grilly.tensor({ { 1, 10 }, { 3, 10 }, { 5, 10 } }, { device = "cpu" })
    local mean, std = data.stats(x)
    assert.is_true(math.abs(mean - 39 / 6) < 1e-6)
    local var = 0
    for _, v in ipairs({ 1, 10, 3, 10, 5, 10 }) do var = var + (v - 39 / 6) ^ 2 end
    assert.is_true(math.abs(std - math.sqrt(var / 6)) < 1e-5)
    local m, s = data.stats(x, { per_feature = true })
    ref.assert_tensor(m, { 3, 10 }, { 1, 2 }, "cpu", 1e-6)
    ref.assert_tensor(s, { math.sqrt(8 / 3), 1e-6 }, { 1, 2 }, "cpu", 1e-6)
    ref.assert_tensor(data.normalize(x, m, s), { -math.sqrt(1.5), 0, 0, 0, math.sqrt(1.5), 0 }, { 3, 2 }, "cpu", 1e-5,
                      1e-6)
  end)

  it("spirals and blobs are seeded, labelled 1..classes and shaped as asked", function()
    local x, y = data.spirals { classes = 4, per_class = 25, noise = 0.1, seed = 2, device = "cpu" }
    assert.are.same({ 100, 2 }, x:size())
    assert.are.equal(1, y:min())
    assert.are.equal(4, y:max())
    assert.is_true(x:abs():max() < 1)
    assert.are.same(ref.read(x), ref.read((data.spirals { classes = 4, per_class = 25, noise = 0.1, seed = 2 })))
    assert.are_not.same(ref.read(x), ref.read((data.spirals { classes = 4, per_class = 25, noise = 0.1, seed = 3 })))
    -- Point k of arm c lies at radius k / per_class.
    local fx = ref.read(x)
    assert.is_true(math.abs(math.sqrt(fx[2 * 30 - 1] ^ 2 + fx[2 * 30] ^ 2) - 4 / 25) < 1e-6)
    local bx, by = data.blobs { classes = 3, per_class = 50, dim = 5, spread = 0, seed = 1, device = "cpu" }
    assert.are.same({ 150, 5 }, bx:size())
    -- With no spread every point of a class sits on its centre.
    local rows = ref.read(bx)
    for i = 2, 50 do assert.are.equal(rows[1], rows[(i - 1) * 5 + 1]) end
    assert.are_not.equal(rows[1], rows[50 * 5 + 1])
    assert.are.same({ 1, 2, 3 }, { by[1], by[51], by[150] })
    assert.has_error(function() data.blobs { classes = 0 } end)
  end)

  describe("fashion_mnist", function()
    it("says which package to install when the files are missing", function()
      local set, err = data.fashion_mnist { dir = dir .. "/nowhere" }
      assert.is_nil(set)
      assert.matches("apt%-get install dataset%-fashion%-mnist", err)
    end)

    local installed = io.open(data.fashion_mnist_dir .. "/t10k-labels-idx1-ubyte.gz", "rb")
    if installed then installed:close() end
    local check = installed and it or pending
    check("loads the Debian package's 60000 + 10000 images scaled to [0, 1], labels 1 to 10", function()
      local set = assert(data.fashion_mnist { device = "cpu", test_size = 100 })
      assert.are.same({ 60000, 784 }, set.train.x:size())
      assert.are.same({ 100, 784 }, set.test.x:size())
      assert.are.equal(0, set.train.x:min())
      assert.are.equal(1, set.train.x:max())
      -- 6000 images of each class: labels 1..10 sum to 6000 * 55.
      assert.are.equal(330000, set.train.y:sum())
      assert.are.equal("Ankle boot", set.classes[set.train.y[1]])
    end)
  end)
end)

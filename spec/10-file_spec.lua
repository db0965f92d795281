-- grilly.save / grilly.load and the C file API (include/gr_file.h): round trips,
-- the byte layout of docs/file-format.md, and clean failure on missing,
-- damaged, hostile and unwritable files.
local grilly = require "grilly"
local B = require "grilly_file_bytes"
local ffi = require "ffi"
local lfs = require "lfs"
local bit = require "bit"

ffi.cdef [[
typedef struct gr_file_writer gr_file_writer;
typedef struct gr_file_reader gr_file_reader;
typedef struct gr_file_record {
  const char *name; int type; int ndim; int64_t shape[8]; int64_t count;
} gr_file_record;
const char *gr_last_error(void);
int gr_file_writer_open(const char *path, gr_file_writer **out);
int gr_file_write_f64(gr_file_writer *w, const char *name, const double *data, int64_t n);
int gr_file_write_i64(gr_file_writer *w, const char *name, const int64_t *data, int64_t n);
int gr_file_write_string(gr_file_writer *w, const char *name, const char *data, size_t len);
int gr_file_writer_commit(gr_file_writer *w);
void gr_file_writer_abort(gr_file_writer *w);
int gr_file_reader_open(const char *path, gr_file_reader **out);
size_t gr_file_reader_count(const gr_file_reader *r);
const gr_file_record *gr_file_reader_record(const gr_file_reader *r, size_t i);
const gr_file_record *gr_file_reader_find(const gr_file_reader *r, const char *name);
int gr_file_read_f64(gr_file_reader *r, const char *name, double *dst, int64_t n);
int gr_file_read_i64(gr_file_reader *r, const char *name, int64_t *dst, int64_t n);
int gr_file_read_string(gr_file_reader *r, const char *name, char *dst, size_t len);
void gr_file_reader_close(gr_file_reader *r);
struct grilly_spec_rlimit { uint64_t cur, max; };
int getrlimit(int resource, struct grilly_spec_rlimit *rl);
int setrlimit(int resource, const struct grilly_spec_rlimit *rl);
void *signal(int sig, void *handler);
]]
local C = ffi.load(package.searchpath("grilly.core", package.cpath))

local GR = { OK = 0, EINVAL = 1, ESHAPE = 2, EIO = 5 }
local TYPE = { f32 = 1, f64 = 2, i64 = 3, bytes = 4 }

-- A fresh directory per test, removed afterwards with everything in it.
local dir
local function listing(d)
  local names = {}
  for name in lfs.dir(d or dir) do
    if name ~= "." and name ~= ".." then names[#names + 1] = name end
  end
  table.sort(names)
  return names
end

local function remove_tree(d)
  for _, name in ipairs(listing(d)) do
    local p = d .. "/" .. name
    if lfs.symlinkattributes(p, "mode") == "directory" then remove_tree(p) else os.remove(p) end
  end
  lfs.rmdir(d)
end

before_each(function()
  dir = os.tmpname()
  os.remove(dir)
  assert(lfs.mkdir(dir))
end)

after_each(function() remove_tree(dir) end)

local function path(name) return dir .. "/" .. name end

local function load_error(p)
  local ok, err = pcall(grilly.load, p)
  assert.is_false(ok, "loading " .. p .. " should fail")
  return err
end

-- Bytes of a tensor as the file stores them: what loading then saving gives.
local function saved_bytes(value)
  local p = path("probe.grl")
  grilly.save(p, value)
  local s = B.read(p)
  os.remove(p)
  return s
end

-- A small file holding every record type, built by the reference writer.
local function small_file()
  return B.file {
    B.record("f32", "w", {2, 2}, B.f32s {1, -2, 0.5, 3}),
    B.record("f32", "s", {}, B.f32s {7}),
    B.record("f64", "h", {2}, B.f64s {0.25, -1e300}),
    B.record("i64", "n", {1}, B.u64(5)),
    B.record("bytes", "note", {2}, "ok"),
  }
end

describe("grilly.save / grilly.load round trips", function()
  it("keeps shape and values of 0-d, empty, 1-element and 8-dim tensors", function()
    local cases = {
      grilly.tensor(3.5),
      grilly.zeros(0),
      grilly.zeros(2, 0, 3),
      grilly.tensor {-1.25},
      grilly.full({1, 2, 1, 2, 1, 2, 1, 2}, 0.75),
    }
    for i, t in ipairs(cases) do
      local p = path("t" .. i .. ".grl")
      grilly.save(p, t)
      local u = grilly.load(p)
      assert.is_true(grilly.is_tensor(u))
      assert.same(t:size(), u:size())
      assert.same(t:totable(), u:totable())
    end
    assert.equal(3.5, grilly.load(path("t1.grl")):item())
  end)

  it("keeps random values exactly", function()
    math.randomseed(7)
    local values = {}
    for i = 1, 3000 do values[i] = (math.random() - 0.5) * 10 ^ math.random(-30, 30) end
    local t = grilly.tensor(values)
    grilly.save(path("r.grl"), t)
    assert.same(t:totable(), grilly.load(path("r.grl")):totable())
  end)

  it("keeps every bit of NaN payloads, infinities, -0 and subnormals", function()
    local patterns = {
      {bits = 0x7fc00000}, {bits = 0xffc00000}, {bits = 0x7fc12345}, {bits = 0x7f800001},  -- NaNs, one signalling
      {bits = 0x7f800000}, {bits = 0xff800000}, {bits = 0x80000000}, {bits = 0x00000001},
      {bits = 0x807fffff}, {bits = 0x3f800000},
    }
    -- random bit patterns too: every float32 value, NaN or not
    math.randomseed(11)
    for _ = 1, 500 do patterns[#patterns + 1] = {bits = math.random(0, 2^32 - 1)} end
    local file = B.file { B.record("f32", "", {#patterns}, B.f32s(patterns)) }
    B.write(path("bits.grl"), file)
    local t = grilly.load(path("bits.grl"))
    assert.equal(file, saved_bytes(t))
    local v = t:totable()
    assert.is_true(v[1] ~= v[1])
    assert.equal(math.huge, v[5])
    assert.equal(-math.huge, v[6])
    assert.equal(-math.huge, 1 / v[7])
  end)

  it("writes exactly the documented bytes for a tensor", function()
    local expected = B.file { B.record("f32", "", {2, 3}, B.f32s {1, 2, 3, 4, 5, 6}) }
    assert.equal(expected, saved_bytes(grilly.tensor {{1, 2, 3}, {4, 5, 6}}))
  end)

  it("round trips tables of tensors: string keys, arrays and nesting", function()
    local value = {
      w = grilly.tensor {{1, 2}, {3, 4}},
      b = grilly.tensor {0.5},
      layers = { {weight = grilly.ones(2)}, {weight = grilly.zeros(3)} },
      grilly.tensor(9),
      grilly.tensor {8, 7},
    }
    grilly.save(path("m.grl"), value)
    local v = grilly.load(path("m.grl"))
    assert.same({{1, 2}, {3, 4}}, v.w:totable())
    assert.same({0.5}, v.b:totable())
    assert.same({1, 1}, v.layers[1].weight:totable())
    assert.same({0, 0, 0}, v.layers[2].weight:totable())
    assert.equal(9, v[1]:item())
    assert.same({8, 7}, v[2]:totable())
    assert.same({1, 2, "b", "layers", "w"}, (function()
      local keys = {}
      for k in pairs(v) do keys[#keys + 1] = k end
      table.sort(keys, function(a, b)
        if type(a) ~= type(b) then return type(a) == "number" end
        return a < b
      end)
      return keys
    end)())
  end)

  it("names records by key path, escaping '%', '.', NUL and a leading digit", function()
    local t = grilly.tensor {1}
    local value = { [3] = t, ["%"] = t, ["1x"] = t, ["a.b"] = t, ["n\0l"] = t, sub = { [2] = t } }
    local rec = function(name) return B.record("f32", name, {1}, B.f32s {1}) end
    -- integers ascending first, then string keys in byte order
    local expected = B.file { rec("3"), rec("%25"), rec("%31x"), rec("a%2Eb"), rec("n%00l"), rec("sub.2") }
    assert.equal(expected, saved_bytes(value))
    grilly.save(path("k.grl"), value)
    local v = grilly.load(path("k.grl"))
    for _, k in ipairs {3, "%", "1x", "a.b", "n\0l"} do assert.is_true(grilly.is_tensor(v[k]), tostring(k)) end
    assert.is_true(grilly.is_tensor(v.sub[2]))
  end)

  it("saves a table with many records and an empty table", function()
    local value = {}
    for i = 1, 2000 do value["p" .. i] = grilly.full({i % 5}, i) end
    grilly.save(path("many.grl"), value)
    local v = grilly.load(path("many.grl"))
    for i = 1, 2000 do
      assert.same(value["p" .. i]:size(), v["p" .. i]:size())
      if i % 5 > 0 then assert.equal(i, v["p" .. i]:totable()[1]) end
    end
    grilly.save(path("empty.grl"), {})
    assert.same({}, grilly.load(path("empty.grl")))
  end)

  it("saves a table that holds the same tensor or subtable twice", function()
    local t = grilly.tensor {4}
    local shared = {x = t}
    grilly.save(path("dag.grl"), {a = shared, b = shared, c = t})
    local v = grilly.load(path("dag.grl"))
    assert.same({4}, v.a.x:totable())
    assert.same({4}, v.b.x:totable())
    assert.same({4}, v.c:totable())
  end)

  it("loads onto the device named in the options", function()
    grilly.save(path("d.grl"), {grilly.tensor {1}})
    assert.equal("cpu", grilly.load(path("d.grl"), {device = "cpu"})[1].device)
    assert.error_matches(function() grilly.load(path("d.grl"), {device = "nope"}) end, "unknown device 'nope'")
  end)

  it("replaces an existing file and writes through a symlink to its target", function()
    grilly.save(path("x.grl"), grilly.tensor {1})
    grilly.save(path("x.grl"), grilly.tensor {2, 3})
    assert.same({2, 3}, grilly.load(path("x.grl")):totable())
    assert(lfs.link("x.grl", path("link.grl"), true))
    grilly.save(path("link.grl"), grilly.tensor {4})
    assert.equal("link", lfs.symlinkattributes(path("link.grl"), "mode"))
    assert.same({4}, grilly.load(path("x.grl")):totable())
    assert.same({"link.grl", "x.grl"}, listing())
    -- a link to a file that does not exist yet creates that file
    assert(lfs.link("sub/target.grl", path("dangling.grl"), true))
    assert(lfs.mkdir(path("sub")))
    grilly.save(path("dangling.grl"), grilly.tensor {5})
    assert.same({"target.grl"}, listing(path("sub")))
    assert.same({5}, grilly.load(path("dangling.grl")):totable())
  end)

  it("round trips deeply nested tables", function()
    local v = grilly.tensor {6}
    for _ = 1, 1000 do v = {v} end
    grilly.save(path("deep.grl"), v)
    local x = grilly.load(path("deep.grl"))
    for _ = 1, 1000 do x = x[1] end
    assert.same({6}, x:totable())
  end)
end)

describe("grilly.load of files holding other record types", function()
  it("reads float64 and int64 arrays as tables and byte strings as strings", function()
    B.write(path("s.grl"), small_file())
    local v = grilly.load(path("s.grl"))
    assert.same({{1, -2}, {0.5, 3}}, v.w:totable())
    assert.equal(7, v.s:item())
    assert.same({0.25, -1e300}, v.h)
    assert.same({5}, v.n)
    assert.equal("ok", v.note)
  end)

  it("builds nested tables from dotted names such as state.3.m", function()
    B.write(path("o.grl"), B.file {
      B.record("f32", "state.3.m", {1}, B.f32s {1}),
      B.record("f32", "state.3.v", {1}, B.f32s {2}),
      B.record("f64", "lr_history", {3}, B.f64s {0.1, 0.2, 0.3}),
    })
    local v = grilly.load(path("o.grl"))
    assert.equal(1, v.state[3].m:item())
    assert.equal(2, v.state[3].v:item())
    assert.same({0.1, 0.2, 0.3}, v.lr_history)
  end)

  it("rejects names that cannot form one table", function()
    B.write(path("c.grl"), B.file {
      B.record("f32", "a", {1}, B.f32s {1}),
      B.record("f32", "a.b", {1}, B.f32s {2}),
    })
    assert.error_matches(function() grilly.load(path("c.grl")) end,
      "cannot be loaded as one value %(record 'a.b' clashes with an earlier record%)")
    B.write(path("c2.grl"), B.file {
      B.record("f32", "a.b", {1}, B.f32s {1}),
      B.record("f32", "a", {1}, B.f32s {2}),
    })
    assert.error_matches(function() grilly.load(path("c2.grl")) end, "record 'a' clashes")
  end)
end)

describe("grilly.save errors", function()
  it("rejects values that are not tensors, naming the key", function()
    local t = grilly.tensor {1}
    assert.error_matches(function() grilly.save(path("e.grl"), 5) end,
      "bad argument #2 to 'save' %(grilly.Tensor or table of tensors expected, got number%)")
    assert.error_matches(function() grilly.save(path("e.grl"), {w = t, layers = {t, "x"}}) end,
      "value at 'layers.2' must be a grilly.Tensor or a table, got string")
    assert.error_matches(function() grilly.save(path("e.grl"), {a = {b = true}}) end,
      "value at 'a.b' must be a grilly.Tensor or a table, got boolean")
    assert.error_matches(function() grilly.save(nil, t) end, "bad argument #1 to 'save'")
    assert.error_matches(function() grilly.save("", t) end, "grilly.save: a file name is needed")
    assert.error_matches(function() grilly.save(path("a\0b"), t) end,
      "bad argument #1 to 'save' %(file name contains a NUL byte%)")
    assert.same({}, listing())
  end)

  it("rejects keys that have no record name", function()
    local t = grilly.tensor {1}
    assert.error_matches(function() grilly.save(path("e.grl"), {[true] = t}) end,
      "a boolean key in the top%-level table cannot be saved")
    assert.error_matches(function() grilly.save(path("e.grl"), {a = {[1.5] = t}}) end,
      "key 1.5 in the table at 'a' is not a positive integer")
    assert.error_matches(function() grilly.save(path("e.grl"), {[0] = t}) end, "key 0 in the top%-level table")
    assert.error_matches(function() grilly.save(path("e.grl"), {[""] = t}) end,
      "the empty string key in the top%-level table cannot be saved")
    assert.error_matches(function() grilly.save(path("e.grl"), {[string.rep("k", 5000)] = t}) end,
      "makes a record name longer than 4096 bytes")
    local deep = t
    for _ = 1, 3000 do deep = {deep} end
    local ok, err = pcall(grilly.save, path("e.grl"), deep)
    assert.is_false(ok)
    assert.matches("a key in the table at '1%.1%.1[.1]*%.%.%.' makes a record name longer than 4096 bytes", err)
    assert.is_true(#err < 300)
    assert.same({}, listing())
  end)

  it("rejects cycles and freed tensors", function()
    local cyc = {w = grilly.tensor {1}}
    cyc.sub = {cyc}
    assert.error_matches(function() grilly.save(path("e.grl"), cyc) end,
      "value at 'sub.1' is a table that contains itself %(a cycle%)")
    local dead = grilly.tensor {1}
    dead:free()
    assert.error_matches(function() grilly.save(path("e.grl"), {d = dead}) end, "use of freed grilly.Tensor at 'd'")
    assert.error_matches(function() grilly.save(path("e.grl"), dead) end, "use of freed grilly.Tensor")
    assert.same({}, listing())
  end)

  it("reports unwritable locations and leaves nothing behind", function()
    local t = grilly.tensor {1}
    assert.error_matches(function() grilly.save(dir, t) end,
      "grilly.save: cannot open '" .. dir:gsub("%p", "%%%0") .. "' for writing: Is a directory")
    assert.error_matches(function() grilly.save(path("no/such/dir/x.grl"), t) end,
      "cannot open '.-no/such/dir/x.grl' for writing: No such file or directory")
    B.write(path("plain"), "x")
    assert.error_matches(function() grilly.save(path("plain/x.grl"), t) end, "for writing: Not a directory")
    assert.error_matches(function() grilly.save("/sys/grilly-spec.grl", t) end,
      "grilly.save: cannot open '/sys/grilly%-spec.grl' for writing: ")
    assert.error_matches(function() grilly.save("/dev/null", t) end, "for writing: not a regular file")
    assert.same({"plain"}, listing())
  end)

  it("keeps the previous file intact when a save fails part-way", function()
    grilly.save(path("keep.grl"), grilly.tensor {1, 2, 3})
    local before = B.read(path("keep.grl"))
    -- A file-size limit makes the write fail once the temporary file passes 4 KiB.
    local RLIMIT_FSIZE, SIGXFSZ = 1, 25
    local old = ffi.new("struct grilly_spec_rlimit")
    assert.equal(0, ffi.C.getrlimit(RLIMIT_FSIZE, old))
    local old_handler = ffi.C.signal(SIGXFSZ, ffi.cast("void *", 1))   -- SIG_IGN: fail with EFBIG instead
    local lim = ffi.new("struct grilly_spec_rlimit", 4096, old.max)
    assert.equal(0, ffi.C.setrlimit(RLIMIT_FSIZE, lim))
    local ok, err = pcall(grilly.save, path("keep.grl"), {big = grilly.zeros(100000)})
    ffi.C.setrlimit(RLIMIT_FSIZE, old)
    ffi.C.signal(SIGXFSZ, old_handler)
    assert.is_false(ok)
    assert.matches("grilly.save: cannot write '.-keep.grl': File too large", err)
    assert.equal(before, B.read(path("keep.grl")))
    assert.same({"keep.grl"}, listing())
    -- a value error also leaves the file alone
    assert.has_error(function() grilly.save(path("keep.grl"), {grilly.tensor {1}, 2}) end)
    assert.equal(before, B.read(path("keep.grl")))
  end)
end)

describe("grilly.load errors", function()
  it("reports missing files, directories and other non-files", function()
    assert.error_matches(function() grilly.load(path("missing.grl")) end,
      "grilly.load: cannot open '.-missing.grl' for reading: No such file or directory")
    assert.error_matches(function() grilly.load(dir) end, "grilly.load: cannot open '.-' for reading: Is a directory")
    assert.error_matches(function() grilly.load("/dev/null") end, "cannot open '/dev/null' for reading: not a regular file")
    assert.error_matches(function() grilly.load() end, "bad argument #1 to 'load'")
    assert.error_matches(function() grilly.load("") end, "grilly.load: a file name is needed")
    assert.error_matches(function() grilly.load("x\0y") end, "bad argument #1 to 'load' %(file name contains a NUL byte%)")
  end)

  it("tells an empty or foreign file from a grilly file", function()
    B.write(path("empty"), "")
    assert.error_matches(function() grilly.load(path("empty")) end, "'.-empty' is not a grilly file %(it is empty%)")
    B.write(path("text"), "hello, this is text\n")
    assert.error_matches(function() grilly.load(path("text")) end, "'.-text' is not a grilly file$")
  end)

  it("rejects the file cut at every length as truncated", function()
    local file = small_file()
    for n = 1, #file - 1 do
      B.write(path("cut.grl"), file:sub(1, n))
      local err = load_error(path("cut.grl"))
      assert.matches("grilly.load: '.-cut.grl' is truncated %(", err)
    end
    B.write(path("cut.grl"), file:sub(1, 16 + 12 + 16 + 1 + 6))
    assert.error_matches(function() grilly.load(path("cut.grl")) end,
      "is truncated %(expected 16 bytes of record 'w', 6 left%)")
    B.write(path("cut.grl"), file:sub(1, 10))
    assert.error_matches(function() grilly.load(path("cut.grl")) end,
      "is truncated %(expected 16 bytes of the header, 10 left%)")
    B.write(path("cut.grl"), file:sub(1, -29))
    assert.error_matches(function() grilly.load(path("cut.grl")) end,
      "is truncated %(it ends after record 'note', without the end marker%)")
    B.write(path("cut.grl"), file:sub(1, -2))
    assert.error_matches(function() grilly.load(path("cut.grl")) end,
      "is truncated %(expected 28 bytes of the end marker, 27 left%)")
  end)

  it("rejects every single flipped bit", function()
    local file = small_file()
    for i = 1, #file do
      for b = 0, 7 do
        local byte = string.char(bit.bxor(file:byte(i), 2 ^ b))
        B.write(path("flip.grl"), file:sub(1, i - 1) .. byte .. file:sub(i + 1))
        local err = load_error(path("flip.grl"))
        if i <= 8 then
          assert.matches("'.-flip.grl' is not a grilly file", err)
        else
          assert.matches("'.-flip.grl' is corrupted %(", err)
        end
      end
    end
    B.write(path("flip.grl"), file:sub(1, 40) .. "X" .. file:sub(42))
    assert.error_matches(function() grilly.load(path("flip.grl")) end, "is corrupted %(checksum mismatch%)")
  end)

  it("fails cleanly on any byte changed under a matching checksum", function()
    local file = small_file()
    for i = 9, #file - 4 do
      for _, x in ipairs {0x01, 0x80, 0xff} do
        local bad = B.fix_crc(file:sub(1, i - 1) .. string.char(bit.bxor(file:byte(i), x)) .. file:sub(i + 1))
        B.write(path("h.grl"), bad)
        local ok, err = pcall(grilly.load, path("h.grl"))
        if not ok then assert.matches("^grilly.load: '.-h.grl' ", err) end
      end
    end
  end)

  it("rejects huge claimed sizes without allocating them", function()
    local cases = {
      { B.record("f32", "w", {2^40}, B.f32s {1, 2}),
        "is corrupted %(record 'w' needs 4398046511104 bytes, 8 left before the end marker%)" },
      { B.record("f32", "w", {B.u64(0x40000000, 0), 8}, ""),
        "record 'w' needs 18446744073709551615 bytes, 0 left" },
      { B.record("f64", "h", {B.u64(0x20000000, 0)}, B.f64s {1}),
        "record 'h' needs 18446744073709551615 bytes, 8 left" },
      { B.record("bytes", "s", {2^50}, "abc"), "record 's' needs 1125899906842624 bytes, 3 left" },
      { B.record("f32", "w", {1}, B.f32s {1}, {name_len = 0xffffffff}),
        "record #1 has a name of 4294967295 bytes, at most 4096 are allowed" },
      { B.record("f32", "w", {1, 1, 1, 1, 1, 1, 1, 1, 1}, B.f32s {1}), "record #1, a float32 tensor, has 9 dimensions" },
      { B.record("f64", "h", {1, 1}, B.f64s {1}), "record #1, a float64 array, has 2 dimensions" },
      { B.record("f32", "w", {B.u64(0xffffffff, 0xffffffff)}, ""), "record 'w' has a negative size" },
      { B.record("f32", "w", {2^41, 0}, ""), "record 'w' has an invalid shape %(tensor too large" },
      { B.record("XXXX", "w", {1}, ""), "unknown record type 0x58585858 at offset 16" },
      { B.record("f32", "a\0b", {1}, B.f32s {1}), "the name of record #1 holds a NUL byte" },
    }
    for _, case in ipairs(cases) do
      B.write(path("huge.grl"), B.file { case[1] })
      local err = load_error(path("huge.grl"))
      assert.matches(case[2], err)
    end
  end)

  it("rejects inconsistent files whose checksum matches", function()
    local w = B.record("f32", "w", {1}, B.f32s {1})
    local cases = {
      { B.file { w, w }, "record name 'w' appears twice" },
      { B.file({ w }, {count = 2}), "the end marker counts 2 records, the file holds 1" },
      { B.file({ w }, {version = 0}), "is corrupted %(format version 0 with reserved field 0x00000000%)" },
      { B.file({ w }, {reserved = 5}), "is corrupted %(format version 1 with reserved field 0x00000005%)" },
      { small_file() .. "junk", "is corrupted %(4 unexpected bytes after the end marker%)" },
      { (function()
          local head = B.header() .. w
          local inner = head .. B.end_marker(head, 1)
          return inner .. B.end_marker(inner, 1)
        end)(), "is corrupted %(end marker at offset 41, before the end of the file%)" },
    }
    for _, case in ipairs(cases) do
      B.write(path("bad.grl"), case[1])
      assert.matches(case[2], load_error(path("bad.grl")))
    end
  end)

  it("asks for a newer grilly for a newer format version", function()
    B.write(path("v2.grl"), B.file({ B.record("f32", "w", {1}, B.f32s {1}) }, {version = 2}))
    assert.error_matches(function() grilly.load(path("v2.grl")) end,
      "was written by a newer grilly %(file format version 2; this grilly reads versions up to 1%): upgrade grilly")
  end)
end)

describe("the C file API", function()
  local function check(status) assert(status == GR.OK, ffi.string(C.gr_last_error())) end
  local function last_error() return ffi.string(C.gr_last_error()) end

  local function open_writer(p)
    local w = ffi.new("gr_file_writer *[1]")
    check(C.gr_file_writer_open(p, w))
    return w[0]
  end

  local function open_reader(p)
    local r = ffi.new("gr_file_reader *[1]")
    check(C.gr_file_reader_open(p, r))
    return r[0]
  end

  it("writes float64, int64 and string records that read back exactly", function()
    local w = open_writer(path("c.grl"))
    check(C.gr_file_write_f64(w, "h", ffi.new("double[4]", {1.5, -0.0, 1e300, 0 / 0}), 4))
    local ints = ffi.new("int64_t[3]", {-1, 0, 0})
    ints[1] = 4611686018427387904LL
    ints[2] = -ints[1]
    check(C.gr_file_write_i64(w, "state.3.n", ints, 3))
    check(C.gr_file_write_string(w, "note", "h\195\169\0x", 5))
    check(C.gr_file_write_f64(w, "empty", nil, 0))
    check(C.gr_file_writer_commit(w))

    assert.equal(B.file {
      B.record("f64", "h", {4}, B.f64s {1.5, -0.0, 1e300, 0 / 0}),
      B.record("i64", "state.3.n", {3}, B.u64(0xffffffff, 0xffffffff) .. B.u64(2^62) .. B.u64(0xc0000000, 0)),
      B.record("bytes", "note", {5}, "h\195\169\0x"),
      B.record("f64", "empty", {0}, ""),
    }, B.read(path("c.grl")))

    local r = open_reader(path("c.grl"))
    assert.equal(4, tonumber(C.gr_file_reader_count(r)))
    local names, types = {}, {}
    for i = 0, 3 do
      local rec = C.gr_file_reader_record(r, i)
      names[#names + 1] = ffi.string(rec.name)
      types[#types + 1] = rec.type
    end
    assert.same({"h", "state.3.n", "note", "empty"}, names)
    assert.same({TYPE.f64, TYPE.i64, TYPE.bytes, TYPE.f64}, types)
    assert.is_true(C.gr_file_reader_record(r, 4) == nil)
    local rec = C.gr_file_reader_find(r, "state.3.n")
    assert.equal(3, tonumber(rec.count))
    assert.equal(1, rec.ndim)
    assert.is_true(C.gr_file_reader_find(r, "nope") == nil)

    local d = ffi.new("double[4]")
    check(C.gr_file_read_f64(r, "h", d, 4))
    assert.equal(1.5, d[0])
    assert.equal(-math.huge, 1 / d[1])
    assert.equal(1e300, d[2])
    assert.is_true(d[3] ~= d[3])
    local n = ffi.new("int64_t[3]")
    check(C.gr_file_read_i64(r, "state.3.n", n, 3))
    assert.is_true(n[0] == -1 and n[1] == ints[1] and n[2] == ints[2])
    local s = ffi.new("char[5]")
    check(C.gr_file_read_string(r, "note", s, 5))
    assert.equal("h\195\169\0x", ffi.string(s, 5))

    assert.equal(GR.EINVAL, C.gr_file_read_f64(r, "note", d, 5))
    assert.matches("record 'note' of '.-c.grl' is a byte string, not a float64 array", last_error())
    assert.equal(GR.EINVAL, C.gr_file_read_f64(r, "missing", d, 1))
    assert.matches("'.-c.grl' has no record 'missing'", last_error())
    assert.equal(GR.ESHAPE, C.gr_file_read_f64(r, "h", d, 3))
    assert.matches("record 'h' of '.-c.grl' holds 4 elements, not 3", last_error())
    C.gr_file_reader_close(r)

    local v = grilly.load(path("c.grl"))
    assert.equal("h\195\169\0x", v.note)
    assert.same({-1, 2^62, -2^62}, v.state[3].n)
    assert.same({}, v.empty)
  end)

  it("refuses bad names and counts without spoiling the writer", function()
    local w = open_writer(path("n.grl"))
    check(C.gr_file_write_f64(w, "a", ffi.new("double[1]", 1), 1))
    assert.equal(GR.EINVAL, C.gr_file_write_f64(w, "a", ffi.new("double[1]", 2), 1))
    assert.matches("record name 'a' is used twice in '.-n.grl'", last_error())
    assert.equal(GR.EINVAL, C.gr_file_write_string(w, string.rep("n", 4097), "x", 1))
    assert.matches("is too long %(4097 bytes, at most 4096%)", last_error())
    assert.equal(GR.EINVAL, C.gr_file_write_i64(w, "c", nil, -1))
    assert.matches("element count of record 'c' must be >= 0 %(got %-1%)", last_error())
    assert.equal(GR.EINVAL, C.gr_file_write_f64(w, "c", nil, 3))
    assert.matches("no data for record 'c'", last_error())
    assert.equal(GR.EINVAL, C.gr_file_write_f64(w, "c", ffi.new("double[1]"), 2^61))
    assert.matches("record 'c' is too large %(2305843009213693952 elements%)", last_error())
    check(C.gr_file_write_string(w, string.rep("n", 4096), "x", 1))
    check(C.gr_file_writer_commit(w))
    local v = grilly.load(path("n.grl"))
    assert.same({1}, v.a)
    assert.equal("x", v[string.rep("n", 4096)])
  end)

  it("removes the temporary file when the rename fails", function()
    local w = open_writer(path("r.grl"))
    check(C.gr_file_write_f64(w, "a", ffi.new("double[1]", 1), 1))
    assert(lfs.mkdir(path("r.grl")))       -- the name turns into a non-empty directory
    B.write(path("r.grl/inside"), "x")
    assert.equal(GR.EIO, C.gr_file_writer_commit(w))
    assert.matches("cannot replace '.-r.grl': Is a directory", last_error())
    assert.same({"r.grl"}, listing())
    assert.same({"inside"}, listing(path("r.grl")))
  end)

  it("fails every later call once a write has failed part-way", function()
    local RLIMIT_FSIZE, SIGXFSZ = 1, 25
    local old = ffi.new("struct grilly_spec_rlimit")
    assert.equal(0, ffi.C.getrlimit(RLIMIT_FSIZE, old))
    local old_handler = ffi.C.signal(SIGXFSZ, ffi.cast("void *", 1))
    local w = open_writer(path("p.grl"))
    assert.equal(0, ffi.C.setrlimit(RLIMIT_FSIZE, ffi.new("struct grilly_spec_rlimit", 65536, old.max)))
    local status = C.gr_file_write_f64(w, "big", ffi.new("double[100000]"), 100000)
    local message = last_error()
    ffi.C.setrlimit(RLIMIT_FSIZE, old)
    ffi.C.signal(SIGXFSZ, old_handler)
    assert.equal(GR.EIO, status)
    assert.matches("cannot write '.-p.grl': File too large", message)
    assert.equal(GR.EIO, C.gr_file_write_f64(w, "small", ffi.new("double[1]"), 1))
    assert.matches("cannot write '.-p.grl': an earlier write to it failed", last_error())
    assert.equal(GR.EIO, C.gr_file_writer_commit(w))
    assert.same({}, listing())
  end)

  it("leaves no file behind when a writer is aborted", function()
    grilly.save(path("old.grl"), grilly.tensor {5})
    local before = B.read(path("old.grl"))
    local w = open_writer(path("old.grl"))
    check(C.gr_file_write_f64(w, "a", ffi.new("double[1]", 1), 1))
    local names = listing()
    assert.equal(2, #names)
    -- the documented temporary name: <path>.tmp-<pid>-<n>
    assert.matches("^old%.grl%.tmp%-%d+%-%d+$", names[2])
    C.gr_file_writer_abort(w)
    assert.same({"old.grl"}, listing())
    assert.equal(before, B.read(path("old.grl")))
  end)
end)

-- Writes the seed corpus of the file fuzzers into fuzz/corpus/: valid tensor
-- and optimizer files made by grilly, damaged and hostile ones built byte by
-- byte with spec/support/grilly_file_bytes.lua, and IDX and CSV files. Deterministic; run
-- from the checkout root after `make`:  luajit fuzz/make_corpus.lua
package.path = "lua/?.lua;lua/?/init.lua;spec/support/?.lua;" .. package.path
package.cpath = "build/?.so;" .. package.cpath
local grilly = require "grilly"
local B = require "grilly_file_bytes"

local DIR = "fuzz/corpus/"
os.execute("rm -rf " .. DIR .. " && mkdir -p " .. DIR)
local cpu = { device = "cpu" }
grilly.manual_seed(7)

local function path(name) return DIR .. name end
local function read(name) return B.read(path(name)) end
local function write(name, bytes) B.write(path(name), bytes) end

-- ---- valid files from grilly ----------------------------------------------------

grilly.save(path("tensor-scalar.grl"), grilly.tensor(2.5, cpu))
grilly.save(path("tensor-2x3.grl"), grilly.tensor({ { 1, 2, 3 }, { 4, 5, 6 } }, cpu))
grilly.save(path("tensor-empty.grl"), { a = grilly.zeros(0, cpu), b = grilly.zeros({ 2, 0 }, cpu) })
grilly.save(path("tensor-8d.grl"), grilly.randn({ 1, 2, 1, 1, 1, 1, 1, 2 }, cpu))
grilly.save(path("tensor-specials.grl"), grilly.tensor({ 0 / 0, math.huge, -math.huge, -0.0, 1e-45 }, cpu))
grilly.save(path("tensors-nested.grl"), {
  grilly.ones(2, cpu), w = { grilly.randn(3, cpu), { grilly.zeros(1, cpu) } }, ["a.b"] = grilly.ones(1, cpu),
  ["1"] = grilly.ones(1, cpu), ["%"] = grilly.zeros(1, cpu),
})

-- Optimizers over the parameter shapes of fuzz/optim_loader_fuzzer.c: one
-- parameter of 3 elements, or three of 3, 3x2 and 2x2.
local function params(n)
  local shapes = { { 3 }, { 3, 2 }, { 2, 2 } }
  local p = {}
  for i = 1, n do p[i] = grilly.randn(shapes[i], cpu):requires_grad() end
  return p
end

local function trained(name, class, n, options, steps)
  local p = params(n)
  local opt = grilly.optim[class](p, options)
  for k = 1, steps do
    for i, x in ipairs(p) do
      -- parameter 2 sits out every other step, so some state is absent
      if i == 2 and k % 2 == 0 then x.grad = nil else x.grad = grilly.randn(x:size(), cpu) end
    end
    opt:step()
  end
  opt:save(path(name))
end

trained("adamw-amsgrad.grl", "AdamW", 1, { amsgrad = true, weight_decay = 0 }, 3)
trained("adamw-fresh.grl", "AdamW", 3, {}, 0)
trained("hypergradient-log.grl", "HypergradientAdamW", 3, { log_scale = true, beta_hyper = 1e-3 }, 4)
trained("auto-surprise.grl", "AutoHypergradientAdamW", 3,
        { track_surprise = true, adapt_momentum = true, warmup_steps = 1, amsgrad = true }, 5)
trained("auto-paper.grl", "AutoHypergradientAdamW", 1, { variant = "paper", bias_correction = "product" }, 3)
trained("auto-v2-skip.grl", "AutoHypergradientAdamW", 3, { variant = "grilly-v2", nonfinite = "error" }, 2)

-- ---- damaged copies of valid files --------------------------------------------------

local auto = read("auto-surprise.grl")
write("cut-header.grl", auto:sub(1, 10))
write("cut-record.grl", auto:sub(1, 200))
write("cut-end-marker.grl", auto:sub(1, #auto - 5))
write("flipped-data.grl", auto:sub(1, 299) .. string.char(bit.bxor(auto:byte(300), 1)) .. auto:sub(301))
write("flipped-crc.grl", auto:sub(1, -2) .. string.char(bit.bxor(auto:byte(#auto), 128)))
write("trailing-bytes.grl", auto .. "\0\0\0\0")
write("empty.grl", "")
write("magic-only.grl", B.MAGIC)
write("not-grilly.txt", "lr\t0.001\nstep\t1\n")

-- ---- hostile files with valid checksums ---------------------------------------------

local f32 = B.f32s
write("newer-version.grl", B.file({ B.record("f32", "", { 1 }, f32 { 1 }) }, { version = 2 }))
write("reserved-set.grl", B.file({ B.record("f32", "", { 1 }, f32 { 1 }) }, { reserved = 1 }))
write("huge-shape.grl", B.file { B.record("f32", "w", { 2 ^ 40, 4 }, "") })
write("negative-size.grl", B.file { B.record("f32", "w", { B.u64(0x80000000, 0) }, "") })
write("nine-dims.grl", B.file { B.record("f32", "w", { 1, 1, 1, 1, 1, 1, 1, 1, 1 }, f32 { 1 }) })
write("long-name.grl", B.file { B.record("f32", ("n"):rep(4096), { 1 }, f32 { 1 }) })
write("name-too-long.grl", B.file { B.record("f32", ("n"):rep(4097), { 1 }, f32 { 1 }) })
write("name-nul.grl", B.file { B.record("f32", "a\0b", { 1 }, f32 { 1 }) })
write("duplicate-names.grl", B.file { B.record("f32", "w", { 1 }, f32 { 1 }), B.record("f32", "w", { 1 }, f32 { 2 }) })
write("clashing-names.grl", B.file { B.record("f32", "a", { 1 }, f32 { 1 }), B.record("f32", "a.b", { 1 }, f32 { 2 }) })
write("unknown-tag.grl", B.file { B.record("XXXX", "w", { 1 }, f32 { 1 }) })
write("count-mismatch.grl", B.file({ B.record("f32", "w", { 1 }, f32 { 1 }) }, { count = 2 }))
write("all-types.grl", B.file {
  B.record("f64", "d", { 2 }, B.f64s { 0.5, -1e300 }),
  B.record("i64", "i", { 2 }, B.u64(7) .. B.u64(0xffffffff, 0xffffffff)),
  B.record("bytes", "s", { 5 }, "hello"),
  B.record("f32", "t.1", { 2, 1 }, f32 { 1, { bits = 0x7fc00001 } }),
})

-- An optimizer file claiming 2^62 parameters.
write("optim-many-params.grl", B.file {
  B.record("bytes", "class", { 5 }, "AdamW"),
  B.record("i64", "format", { 1 }, B.u64(1)),
  B.record("i64", "nparams", { 1 }, B.u64(0x40000000, 0)),
  B.record("f32", "state.4611686018427387904.m", { 3 }, f32 { 1, 2, 3 }),
})

-- ---- data sets: IDX and CSV files, plain and compressed ------------------------------

local function be32(v) return string.char(math.floor(v / 2 ^ 24) % 256, math.floor(v / 2 ^ 16) % 256,
                                          math.floor(v / 256) % 256, v % 256) end
write("idx-u8.idx", "\0\0\8\2" .. be32(2) .. be32(3) .. "\0\1\2\127\128\255")
-- 0.5 and -2 as big-endian float64s
write("idx-f64.idx", "\0\0\14\1" .. be32(2) .. "\63\224\0\0\0\0\0\0\192\0\0\0\0\0\0\0")
write("idx-cut.idx", "\0\0\12\1" .. be32(4) .. "\0\0\0\1")
write("idx-huge.idx", "\0\0\14\2" .. be32(2 ^ 20) .. be32(2 ^ 20) .. "\1\2\3\4\5\6\7\8")
write("table.csv", "x,y,label\n1,2.5,3\r\n-4,5e-1,6\n\n7,nan,inf\n")
write("ragged.csv", "1;2\n3\n4;x\n")
os.execute("gzip -9 -c " .. path("idx-u8.idx") .. " > " .. path("idx-u8.idx.gz"))
os.execute("gzip -9 -c " .. path("table.csv") .. " > " .. path("table.csv.gz"))

local n = 0
for _ in io.popen("ls " .. DIR):lines() do n = n + 1 end
print(("fuzz/corpus: %d files"):format(n))

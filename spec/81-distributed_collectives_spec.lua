-- grilly.distributed's collectives, run by spec/support/distributed/collectives.lua
-- under mpirun on 2 and 3 ranks. Rank r contributes values made from r, so
-- the expected results follow from the rank count alone.
local grilly = require "grilly"
local problem = require "dist_problem"
local scratch = require "scratch_files"

local results = {}
local function ranks(n)
  if not results[n] then
    local dir = scratch.path("-coll")
    assert(os.execute("mkdir -p " .. dir) == 0)
    local code, output = problem.mpirun(n, "collectives", { dir .. "/out" })
    assert.are.equal(0, code, output)
    results[n] = {}
    for r = 0, n - 1 do results[n][r] = problem.read(dir .. "/out." .. r) end
  end
  return results[n]
end

describe("grilly.distributed collectives", function()
  if not problem.mpi then return pending(problem.mpi_reason) end

  it("run under bin/grilly as under luajit", function()
    local dir = scratch.path("-coll")
    assert(os.execute("mkdir -p " .. dir) == 0)
    local code, output = problem.mpirun(2, "collectives", { dir .. "/out" }, 120, "bin/grilly")
    assert.are.equal(0, code, output)
    for r = 0, 1 do
      local got, expected = problem.read(dir .. "/out." .. r), ranks(2)[r]
      assert.are.same(expected.devices, got.devices)
      assert.are.same(expected.errors, got.errors)
    end
  end)

  for _, n in ipairs({ 2, 3 }) do
    describe("on " .. n .. " ranks", function()
      it("number the ranks from 0 and name rank 0 the root", function()
        local rs = ranks(n)
        for r = 0, n - 1 do
          assert.are.equal(r, rs[r].rank)
          assert.are.equal(n, rs[r].size)
          assert.are.equal(r == 0, rs[r].is_root)
          assert.are.equal("string", type(rs[r].host))
        end
      end)

      it("all_reduce, broadcast and all_gather tensors on every device", function()
        local rs = ranks(n)
        local base = { 1, 2, 3, 4, 5, 6 }
        local tri = n * (n + 1) / 2   -- the sum of the factors r + 1
        for r = 0, n - 1 do
          for dev, got in pairs(rs[r].devices) do
            local what = dev .. " on rank " .. r
            assert.is_true(got.sum_returned_self, what)
            local sum, mean = {}, {}
            for i, x in ipairs(base) do
              sum[i] = x * tri
              mean[i] = x * tri / n
            end
            assert.are.same(sum, got.sum, what)
            for i, x in ipairs(mean) do assert.is_true(math.abs(got.mean[i] - x) <= 1e-6 * x, what) end
            assert.are.same({ n - 1, n - 1, n - 1 }, got.broadcast, what)
            assert.are.same({ 0.5, 0.5, 0.5, 0.5 }, got.broadcast_default, what)
            assert.are.same({ n, 3 }, got.gather_shape, what)
            assert.is_truthy(got.gather_device:find(dev, 1, true), what)
            local gathered = {}
            for q = 0, n - 1 do
              for i = 1, 3 do gathered[#gathered + 1] = i + 10 * q end
            end
            assert.are.same(gathered, got.gather, what)
            -- The mean of x (r + 1) over the ranks is x (n + 1) / 2, past the first staging chunk too.
            local last = 2 ^ 20 + 37
            local expect = { { 1, 2, 3 }, { last - 2, last - 1, last } }
            for part = 1, 2 do
              for i = 1, 3 do
                local e = expect[part][i] * (n + 1) / 2
                assert.is_true(math.abs(got.big[part][i] - e) <= 1e-6 * e, what .. ": big element")
              end
            end
            assert.are.equal(0, got.empty, what)
          end
        end
      end)

      it("fail on every rank alike when the ranks pass different shapes, operations or roots", function()
        local rs = ranks(n)
        for r = 0, n - 1 do
          local e = rs[r].errors
          assert.is_truthy(e.shape:find("all_reduce: tensor shapes differ across ranks (rank 0 has 1, rank 1 has 2)",
                                        1, true), e.shape)
          assert.is_truthy(e.op:find('all_reduce: ranks disagree (rank 0 asks for "sum", rank 1 for "mean")', 1, true),
                           e.op)
          assert.is_truthy(e.root:find("broadcast: ranks disagree (rank 0 asks for root 0, rank 1 for root 1)", 1, true),
                           e.root)
          assert.is_truthy(e.gather:find("all_gather: tensor shapes differ across ranks (rank 0 has 2x1, rank 1 has 2x2)",
                                         1, true), e.gather)
        end
      end)

      it("reject bad arguments, naming them", function()
        local e = ranks(n)[0].errors
        assert.is_truthy(e.bad_op:find([[bad argument #2 to 'all_reduce' (expected "sum" or "mean", got "max")]], 1, true),
                         e.bad_op)
        assert.is_truthy(e.bad_root:find(string.format(
          "bad argument #2 to 'broadcast' (root must be a rank from 0 to %d, got %d)", n - 1, n), 1, true), e.bad_root)
        assert.is_truthy(e.not_tensor:find("bad argument #1 to 'all_reduce' (grilly.Tensor expected, got table)", 1, true),
                         e.not_tensor)
        -- Roots beyond the range of an int are refused before any conversion.
        for _, m in ipairs(e.far_roots) do
          assert.is_truthy(m:find(string.format("bad argument #2 to 'broadcast' (root must be a rank from 0 to %d, got ",
                                                n - 1), 1, true), m)
        end
      end)

      it("refuse to run after finalize", function()
        local r = ranks(n)[0]
        local e = r.after_finalize
        assert.is_truthy(e:find("all_reduce: the communicator has been shut down (distributed.finalize was called)",
                                1, true), e)
        for _, key in ipairs({ "step_after_finalize", "save_after_finalize" }) do
          assert.is_truthy(r[key]:find("AdamW: the communicator has been shut down", 1, true), r[key])
        end
      end)

      it("count the bytes each rank hands to them", function()
        local t = ranks(n)[n - 1].traffic
        -- One all_reduce of 10 floats, after its shape check (an all_gather of n x 10 doubles).
        assert.are.same({ calls = 1, bytes = 40 }, t.all_reduce.f32)
        assert.are.same({ calls = 1, bytes = n * 10 * 8 }, t.all_gather.f64)
        assert.is_nil(t.broadcast)
      end)
    end)
  end
end)

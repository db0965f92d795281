-- Sharing a loader's batches across ranks (grilly.data.loader with rank and
-- world_size), and what grilly.distributed says when MPI is missing. No MPI
-- is needed here: the ranks of a loader can be given by hand.
local grilly = require "grilly"
local data = grilly.data

-- The rows a loader gives in one epoch, batch by batch: x holds the row
-- numbers 1..n, so a batch reads as the list of its rows.
local function epoch(loader)
  local batches = {}
  for xb, yb in loader:batches() do
    local rows = xb:view(-1):totable()
    assert.are.same(rows, yb:totable())
    batches[#batches + 1] = rows
  end
  return batches
end

local function rows_data(n)
  local x = grilly.arange(1, n + 1)
  return x:view(n, 1), x:clone()
end

describe("a loader shared across ranks", function()
  for _, case in ipairs({ { n = 50, batch = 12, world = 2 }, { n = 50, batch = 12, world = 3 },
                          { n = 47, batch = 10, world = 4 }, { n = 20, batch = 7, world = 3, shuffle = false } }) do
    local label = string.format("%d rows, batches of %d, %d ranks%s", case.n, case.batch, case.world,
                                case.shuffle == false and ", in order" or "")
    it("gives each rank a disjoint part of every batch, together the single-process batch: " .. label, function()
      local x, y = rows_data(case.n)
      local opts = { batch_size = case.batch, seed = 5, shuffle = case.shuffle }
      local single = data.loader(x, y, opts)
      local shared = {}
      for r = 0, case.world - 1 do
        shared[r] = data.loader(x, y, { batch_size = case.batch, seed = 5, shuffle = case.shuffle, rank = r,
                                        world_size = case.world })
        assert.are.equal(shared[0]:size(), shared[r]:size())
      end
      for e = 1, 3 do
        local whole = epoch(single)
        local parts = {}
        for r = 0, case.world - 1 do parts[r] = epoch(shared[r]) end
        local expected_batches = #whole
        -- A last batch smaller than the number of ranks is dropped.
        if #whole[#whole] < case.world then expected_batches = expected_batches - 1 end
        assert.are.equal(expected_batches, shared[0]:size())
        for b = 1, expected_batches do
          local joined, sizes = {}, {}
          for r = 0, case.world - 1 do
            assert.are.equal(expected_batches, #parts[r], "batches of rank " .. r)
            sizes[#sizes + 1] = #parts[r][b]
            for _, row in ipairs(parts[r][b]) do joined[#joined + 1] = row end
          end
          -- In rank order the parts are the batch, split as evenly as can be, larger parts first.
          assert.are.same(whole[b], joined, "epoch " .. e .. ", batch " .. b)
          for i = 2, #sizes do assert.is_true(sizes[i] <= sizes[i - 1] and sizes[1] - sizes[i] <= 1) end
        end
        single:reset()
        for r = 0, case.world - 1 do shared[r]:reset() end
      end
    end)
  end

  it("is reproducible from its seed and reshuffles every epoch", function()
    local x, y = rows_data(30)
    local a = data.loader(x, y, { batch_size = 6, seed = 9, rank = 1, world_size = 2 })
    local b = data.loader(x, y, { batch_size = 6, seed = 9, rank = 1, world_size = 2 })
    local first = epoch(a)
    assert.are.same(first, epoch(b))
    a:reset()
    assert.are_not.same(first, epoch(a))
    local c = data.loader(x, y, { batch_size = 6, seed = 10, rank = 1, world_size = 2 })
    assert.are_not.same(first, epoch(c))
  end)

  it("is an ordinary loader with world_size 1", function()
    local x, y = rows_data(25)
    assert.are.same(epoch(data.loader(x, y, { batch_size = 4, seed = 2 })),
                    epoch(data.loader(x, y, { batch_size = 4, seed = 2, rank = 0, world_size = 1 })))
  end)

  it("rejects bad rank options, naming them", function()
    local x, y = rows_data(10)
    local cases = {
      { { rank = 2, world_size = 2 }, "loader: option 'rank' must be below world_size (2), got 2" },
      { { rank = -1, world_size = 2 }, "loader: option 'rank' must be an integer >= 0, got -1" },
      { { rank = 0, world_size = 0 }, "loader: option 'world_size' must be an integer >= 1, got 0" },
      { { rank = 0, world_size = 1.5 }, "loader: option 'world_size' must be an integer >= 1, got 1.5" },
      { { distributed = "yes" }, "loader: option 'distributed' must be a boolean, got string" },
      { { distributed = true, rank = 0, world_size = 2 },
        "loader: give either distributed = true or rank and world_size, not both" },
      { { batch_size = 2, rank = 0, world_size = 3 },
        "loader: batch_size (2) must be at least world_size (3): every rank takes part of every batch" },
    }
    for _, case in ipairs(cases) do
      local ok, err = pcall(data.loader, x, y, case[1])
      assert.is_false(ok)
      assert.is_truthy(tostring(err):find(case[2], 1, true), tostring(err))
    end
  end)
end)

describe("grilly.distributed without MPI", function()
  it("says what to install and how to launch", function()
    local saved = { package.loaded["grilly.distributed"], package.loaded["grilly.mpi"], package.preload["grilly.mpi"] }
    package.loaded["grilly.distributed"], package.loaded["grilly.mpi"] = nil, nil
    package.preload["grilly.mpi"] = function() error("libmpi.so.40: cannot open shared object file") end
    local ok, err = pcall(require, "grilly.distributed")
    package.loaded["grilly.distributed"], package.loaded["grilly.mpi"], package.preload["grilly.mpi"] =
      saved[1], saved[2], saved[3]
    assert.is_false(ok)
    err = tostring(err)
    assert.is_truthy(err:find("grilly.distributed needs MPI", 1, true), err)
    assert.is_truthy(err:find("libmpi.so.40: cannot open shared object file", 1, true), err)
    assert.is_truthy(err:find("apt-get install libopenmpi-dev openmpi-bin", 1, true), err)
    assert.is_truthy(err:find("mpirun -np N luajit script.lua", 1, true), err)
  end)

  it("is left out of the build where no MPI compiler is found", function()
    local function make(args)
      local pipe = assert(io.popen("make --no-print-directory " .. args .. " 2>&1; echo \"exit=$?\""))
      local out = pipe:read("*a")
      pipe:close()
      return tonumber(out:match("exit=(%d+)%s*$")), out
    end
    -- The build make test uses (build-asan/ under make test SANITIZE=1, whose
    -- setting reaches these makes through MAKEFLAGS).
    local build = os.getenv("GRILLY_BUILD") or "build"
    local built = io.open(build .. "/grilly/mpi.so")
    if built then
      built:close()
      local _, with = make("-n -B all")
      assert.is_truthy(with:find(build .. "/grilly/mpi.so", 1, true), with)
    end
    local _, without = make("-n -B MPICC=/nonexistent/mpicc all")
    assert.is_falsy(without:find("mpi", 1, true), without)
    assert.is_truthy(without:find(build .. "/grilly/core.so", 1, true), without)
    local code, out = make("MPICC=/nonexistent/mpicc mpi")
    assert.are_not.equal(0, code)
    assert.is_truthy(out:find("grilly: no MPI found (/nonexistent/mpicc with mpi.h); install libopenmpi-dev and "
                              .. "openmpi-bin", 1, true), out)
  end)

  it("is no dependency of the core module", function()
    local pipe = assert(io.popen("readelf -d build/grilly/core.so 2>&1"))
    local dynamic = pipe:read("*a")
    pipe:close()
    assert.is_truthy(dynamic:find("NEEDED", 1, true), dynamic)
    assert.is_falsy(dynamic:lower():find("mpi", 1, true), dynamic)
  end)
end)

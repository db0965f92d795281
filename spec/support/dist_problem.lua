-- The data-parallel specs' problem, shared by the MPI workers
-- (spec/support/distributed/*.lua) and the single-process references the
-- specs compute: least squares, a linear map W (20x13) and bias b (13) fitted
-- to a fixed set of 48 rows, each rank taking its part of every global batch
-- of 12 from grilly.data's loader. Also the launcher of the workers and a
-- writer and reader of their results.
local problem = {}

problem.ROWS, problem.INPUTS, problem.OUTPUTS, problem.BATCH = 48, 20, 13, 12
problem.CLASSES = { "AdamW", "HypergradientAdamW", "AutoHypergradientAdamW" }
-- 100-element buckets: three of them over the 273 parameter elements, so
-- rank slices cut across W and b.
problem.BUCKET_MB = 100 * 4 / 2 ^ 20

-- Every adaptation on: surprise, momentum, lr from the third step on.
function problem.options(class)
  if class == "AdamW" then return { lr = 0.05 } end
  if class == "HypergradientAdamW" then return { lr = 0.05, beta_hyper = 1e-3 } end
  return { lr = 0.05, hyper_lr = 0.05, track_surprise = true, adapt_momentum = true, warmup_steps = 2 }
end

-- The data set and the loader over it (rank and world_size as given).
function problem.loader(grilly, rank, world, device)
  grilly.manual_seed(7)
  local x = grilly.randn(problem.ROWS, problem.INPUTS, { device = "cpu" })
  local y = grilly.randn(problem.ROWS, problem.OUTPUTS, { device = "cpu" })
  return grilly.data.loader(x, y, { batch_size = problem.BATCH, seed = 3, rank = rank, world_size = world,
                                    device = device })
end

-- The next batch, starting a new epoch when one ends.
function problem.next_batch(loader)
  local x, y = loader:next()
  if x then return x, y end
  loader:reset()
  return loader:next()
end

-- The parameters, drawn from seed (the workers give each rank its own, to
-- check that rank 0's win).
function problem.params(grilly, seed, device)
  grilly.manual_seed(seed)
  local w = (grilly.randn(problem.INPUTS, problem.OUTPUTS, { device = "cpu" }) * 0.3):to(device or "cpu")
  local b = (grilly.randn(problem.OUTPUTS, { device = "cpu" }) * 0.1):to(device or "cpu")
  return { w, b }
end

-- Sets the gradients of the mean squared error over the batch's rows:
-- W.grad = x' r / n and b.grad = sum of r's rows / n, with r = x W + b - y.
function problem.set_grads(params, x, y)
  local w, b = params[1], params[2]
  local n = x:size(1)
  local r = x:matmul(w) + b - y
  w.grad = x:t():matmul(r) / n
  b.grad = r:sum(1) / n
end

-- One training step of opt over params on the loader's next batch.
function problem.step(opt, params, loader)
  local x, y = problem.next_batch(loader)
  problem.set_grads(params, x, y)
  opt:step()
end

-- A record of the run so far: the parameters' values and what adapts.
function problem.snapshot(opt, params)
  local snap = { w = params[1]:view(-1):totable(), b = params[2]:totable(), lr = opt.current_lr }
  if opt.beta1_history then
    snap.beta1 = opt.beta1
    snap.surprise = opt.current_surprise
  end
  return snap
end

------------------------------------------------------------ results on disk

local function put(out, v)
  local t = type(v)
  if t == "number" then
    out[#out + 1] = v ~= v and "0/0" or v == math.huge and "math.huge" or v == -math.huge and "-math.huge"
                    or string.format("%.17g", v)
  elseif t == "string" then
    out[#out + 1] = string.format("%q", v)
  elseif t == "boolean" then
    out[#out + 1] = tostring(v)
  else
    out[#out + 1] = "{"
    for k, x in pairs(v) do
      out[#out + 1] = type(k) == "number" and "[" .. k .. "]=" or string.format("[%q]=", k)
      put(out, x)
      out[#out + 1] = ","
    end
    out[#out + 1] = "}"
  end
end

-- Writes a table of numbers, strings, booleans and tables as a Lua chunk.
function problem.write(path, value)
  local out = { "return " }
  put(out, value)
  local f = assert(io.open(path, "w"))
  f:write(table.concat(out))
  f:close()
end

function problem.read(path)
  return assert(loadfile(path))()
end

--------------------------------------------------------------- the launcher

local mpi_module = io.open("build/grilly/mpi.so", "rb")
if mpi_module then mpi_module:close() end
local has_mpirun = os.execute("command -v mpirun >/dev/null 2>&1")
has_mpirun = has_mpirun == 0 or has_mpirun == true

problem.mpi = mpi_module ~= nil and has_mpirun
problem.mpi_reason = not mpi_module and "grilly was built without MPI (no build/grilly/mpi.so); install "
                     .. "libopenmpi-dev and openmpi-bin and run make" or "no mpirun on the PATH"

-- Runs spec/support/distributed/<worker>.lua (or the script at a path with
-- a slash) on n ranks with the given arguments, within `limit` seconds, one
-- BLAS thread per rank, by `launcher` (default luajit). Returns the exit
-- code (124 when the limit ran out) and the combined output.
function problem.mpirun(n, worker, args, limit, launcher)
  local script = worker:find("/", 1, true) and worker or "spec/support/distributed/" .. worker .. ".lua"
  -- Workers name the devices they test; everything else runs on the CPU.
  local cmd = string.format("GRILLY_DEVICE=cpu LUA_PATH='lua/?.lua;lua/?/init.lua;spec/support/?.lua;;' LUA_CPATH='build/?.so;;' "
                            .. "OPENBLAS_NUM_THREADS=1 timeout %d mpirun -np %d --oversubscribe --allow-run-as-root "
                            .. "--mca btl_vader_single_copy_mechanism none %s %s %s",
                            limit or 120, n, launcher or "luajit", script, table.concat(args or {}, " "))
  local pipe = assert(io.popen(cmd .. " 2>&1; echo \"exit=$?\""))
  local out = pipe:read("*a")
  pipe:close()
  return tonumber(out:match("exit=(%d+)%s*$")), (out:gsub("exit=%d+%s*$", ""))
end

return problem

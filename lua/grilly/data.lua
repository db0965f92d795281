-- grilly.data: data sets for training (see docs/data.md): IDX and CSV
-- readers, Fashion-MNIST, train/validation splits, normalisation, a
-- shuffling minibatch loader, and synthetic spirals and blobs.
local core = require "grilly.core"

local c = core.data
local data = {}

local function shape_str(t) return table.concat(t:size(), "x") end

local function check_table(fn, opts)
  if opts ~= nil and type(opts) ~= "table" then error(fn .. ": options must be a table, got " .. type(opts), 3) end
  return opts or {}
end

local function check_int(fn, name, v, min)
  if type(v) ~= "number" or v ~= math.floor(v) or v < min then
    error(string.format("%s: option '%s' must be an integer >= %d, got %s", fn, name, min, tostring(v)), 3)
  end
  return v
end

------------------------------------------------------------------------ files

-- read_idx(path[, {device}]) -> tensor of the file's shape, or nil, message.
data.read_idx = c.read_idx

-- read_csv(path[, {delimiter = ",", header = false, device}]) -> rows x
-- columns tensor and, with header, the list of column names; or nil, message.
function data.read_csv(path, opts)
  opts = check_table("read_csv", opts)
  local t, head = c.read_csv(path, opts)
  if t == nil then return nil, head end
  if head == nil then return t end
  local names, delim = {}, opts.delimiter or ","
  for field in (head .. delim):gmatch("(.-)" .. delim:gsub("%p", "%%%0")) do names[#names + 1] = field end
  return t, names
end

-------------------------------------------------------------- Fashion-MNIST

data.fashion_mnist_dir = "/usr/share/datasets/fashion-mnist"
data.fashion_mnist_classes = {
  "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
}

local function find_file(dir, name)
  for _, candidate in ipairs({ dir .. "/" .. name, dir .. "/" .. name .. ".gz" }) do
    local f = io.open(candidate, "rb")
    if f then
      f:close()
      return candidate
    end
  end
  return nil
end

-- fashion_mnist([{dir, device, flatten = true, train_size, test_size}]) ->
-- {train = {x, y}, test = {x, y}, classes}, or nil, message. Images are
-- scaled to [0, 1], n x 784 (or n x 28 x 28 with flatten = false); labels
-- are 1 to 10. The directory defaults to $GRILLY_FASHION_MNIST or Debian's.
function data.fashion_mnist(opts)
  opts = check_table("fashion_mnist", opts)
  local dir = opts.dir or os.getenv("GRILLY_FASHION_MNIST") or data.fashion_mnist_dir
  local dev = { device = opts.device }
  local set = { classes = data.fashion_mnist_classes }
  for _, part in ipairs({ { "train", "train", opts.train_size }, { "test", "t10k", opts.test_size } }) do
    local key, prefix, limit = part[1], part[2], part[3]
    local images = find_file(dir, prefix .. "-images-idx3-ubyte")
    local labels = find_file(dir, prefix .. "-labels-idx1-ubyte")
    if not images or not labels then
      return nil, string.format("Fashion-MNIST not found: no %s-%s-idx%s-ubyte[.gz] in %s. Install the Debian "
                                .. "package dataset-fashion-mnist (apt-get install dataset-fashion-mnist), or "
                                .. "pass {dir = ...} or set GRILLY_FASHION_MNIST", prefix,
                                images and "labels" or "images", images and "1" or "3", dir)
    end
    local x, err = c.read_idx(images, dev)
    if not x then return nil, err end
    local y
    y, err = c.read_idx(labels, dev)
    if not y then return nil, err end
    if x:dim() ~= 3 or y:dim() ~= 1 or x:size(1) ~= y:size(1) then
      return nil, string.format("%s and %s do not form a data set (%s images, %s labels)", images, labels,
                                shape_str(x), shape_str(y))
    end
    if limit then
      check_int("fashion_mnist", key .. "_size", limit, 1)
      limit = math.min(limit, x:size(1))
      x, y = x:narrow(1, 1, limit), y:narrow(1, 1, limit)
    end
    x:div_(255)
    if opts.flatten ~= false then x = x:view(x:size(1), -1) end
    set[key] = { x = x, y = y:add_(1) }
  end
  return set
end

---------------------------------------------------------- splits and scaling

-- permutation(n, seed[, stream = 0[, {device}]]) -> the indices 1..n in an
-- order fixed by seed and stream (e.g. the epoch), as a 1-D tensor.
data.permutation = c.permutation

local function check_xy(fn, x, y)
  if not core.is_tensor(x) or x:dim() < 1 then error(fn .. ": x must be a tensor of at least 1 dimension", 3) end
  if y ~= nil and (not core.is_tensor(y) or y:dim() < 1 or y:size(1) ~= x:size(1)) then
    error(string.format("%s: y must be a tensor with as many rows as x (x is %s, y is %s)", fn, shape_str(x),
                        core.is_tensor(y) and shape_str(y) or type(y)), 3)
  end
end

-- split(x, y[, {val_fraction = 0.1 | val_size, seed = 0}]) -> train_x,
-- train_y, val_x, val_y: a seeded random split of the rows.
function data.split(x, y, opts)
  check_xy("split", x, y)
  opts = check_table("split", opts)
  local n = x:size(1)
  local nval = opts.val_size
  if nval == nil then
    local f = opts.val_fraction or 0.1
    if type(f) ~= "number" or not (f >= 0 and f <= 1) then
      error("split: option 'val_fraction' must be a number in [0, 1], got " .. tostring(f), 2)
    end
    nval = math.floor(n * f + 0.5)
  end
  check_int("split", "val_size", nval, 0)
  if nval > n then error(string.format("split: val_size %d exceeds the %d rows", nval, n), 2) end
  local order = c.permutation(n, opts.seed or 0)
  local ti, vi = order:narrow(1, 1, n - nval), order:narrow(1, n - nval + 1, nval)
  return x:index_select(1, ti), y and y:index_select(1, ti), x:index_select(1, vi), y and y:index_select(1, vi)
end

-- stats(x[, {per_feature = false, min_std = 1e-6}]) -> mean, std: over all
-- elements as numbers, or per feature (over the rows) as tensors.
function data.stats(x, opts)
  check_xy("stats", x)
  opts = check_table("stats", opts)
  local min_std = opts.min_std or 1e-6
  if not opts.per_feature then
    local mean = x:mean()
    local d = x - mean
    return mean, math.max(math.sqrt(d:dot(d) / x:numel()), min_std)
  end
  local mean = x:mean(1, true)
  local d = x - mean
  return mean, (d * d):mean(1, true):sqrt_():clamp_(min_std, nil)
end

-- normalize(x, mean, std) -> (x - mean) / std, numbers or broadcasting tensors.
function data.normalize(x, mean, std)
  return (x - mean):div_(std)
end

------------------------------------------------------------------ the loader

local Loader = {}
Loader.__index = Loader
Loader.__name = "DataLoader"

-- The ranks a loader shares its batches with: (rank, world_size) from the
-- options, or grilly.distributed's with distributed = true.
local function check_shard(opts)
  local explicit = opts.rank ~= nil or opts.world_size ~= nil
  if opts.distributed ~= nil and type(opts.distributed) ~= "boolean" then
    error("loader: option 'distributed' must be a boolean, got " .. type(opts.distributed), 3)
  end
  if opts.distributed and explicit then
    error("loader: give either distributed = true or rank and world_size, not both", 3)
  end
  if opts.distributed then
    local dist = require "grilly.distributed"
    return dist.rank(), dist.size()
  end
  if not explicit then return 0, 1 end
  local world = check_int("loader", "world_size", opts.world_size or 1, 1)
  local rank = check_int("loader", "rank", opts.rank or 0, 0)
  if rank >= world then
    error(string.format("loader: option 'rank' must be below world_size (%d), got %d", world, rank), 3)
  end
  return rank, world
end

-- loader(x[, y][, {batch_size = 32, shuffle = true, seed = 0, drop_last =
-- false, normalize = {mean, std}, device, distributed = false, rank,
-- world_size}]): minibatches of the rows of x (and y). next() gives x_batch,
-- y_batch, then nil at the end of the epoch; reset() starts the next epoch,
-- reshuffled. Shared across ranks, batch_size is the global batch and each
-- rank gets its own contiguous part of every one.
function data.loader(x, y, opts)
  if opts == nil and type(y) == "table" and not core.is_tensor(y) then y, opts = nil, y end
  check_xy("loader", x, y)
  opts = check_table("loader", opts)
  local rank, world = check_shard(opts)
  local self = setmetatable({
    x = x,
    y = y,
    n = x:size(1),
    batch_size = check_int("loader", "batch_size", opts.batch_size or 32, 1),
    shuffle = opts.shuffle ~= false,
    seed = check_int("loader", "seed", opts.seed or 0, 0),
    drop_last = opts.drop_last == true,
    normalize = opts.normalize,
    device = opts.device,
    rank = rank,
    world_size = world,
    epoch = 0,
  }, Loader)
  if self.batch_size < world then
    error(string.format("loader: batch_size (%d) must be at least world_size (%d): every rank takes part "
                        .. "of every batch", self.batch_size, world), 2)
  end
  if self.normalize ~= nil and (type(self.normalize) ~= "table" or self.normalize.mean == nil
                                or self.normalize.std == nil) then
    error("loader: option 'normalize' must be a table {mean = ..., std = ...}", 2)
  end
  self:reset()
  return self
end

-- Starts the next epoch (the first one starts at construction).
function Loader:reset()
  self.epoch = self.epoch + 1
  self.pos = 0
  self.order = self.shuffle and self.n > 0 and c.permutation(self.n, self.seed, self.epoch - 1) or nil
  return self
end

-- The number of batches per epoch (the same on every rank).
function Loader:size()
  local full, rest = math.floor(self.n / self.batch_size), self.n % self.batch_size
  return (self.drop_last or rest < math.max(self.world_size, 1)) and full or full + 1
end

-- This rank's part of a batch of len rows: its first row (0-based) and count.
-- The parts differ in size by at most one row, the larger ones first.
function Loader:share(len)
  local base, extra = math.floor(len / self.world_size), len % self.world_size
  return self.rank * base + math.min(self.rank, extra), base + (self.rank < extra and 1 or 0)
end

-- A last batch smaller than world_size rows is dropped, so that every rank
-- has a part of every batch.
function Loader:next()
  local len = math.min(self.batch_size, self.n - self.pos)
  if len <= 0 or len < self.world_size or (self.drop_last and len < self.batch_size) then return nil end
  local first, count = self:share(len)
  first = self.pos + first
  local xb, yb
  if self.order then
    local idx = self.order:narrow(1, first + 1, count)
    xb, yb = self.x:index_select(1, idx), self.y and self.y:index_select(1, idx)
  else
    xb, yb = self.x:narrow(1, first + 1, count), self.y and self.y:narrow(1, first + 1, count)
  end
  self.pos = self.pos + len
  if self.device then
    xb, yb = xb:to(self.device), yb and yb:to(self.device)
  end
  if self.normalize then xb = data.normalize(xb, self.normalize.mean, self.normalize.std) end
  return xb, yb
end

-- for x, y in loader:batches() do ... end: the rest of the current epoch.
function Loader:batches()
  return function() return self:next() end
end

------------------------------------------------------------------- synthetic

-- spirals([{classes = 3, per_class = 100, noise = 0.2, seed = 0, device}]) -> x (n x 2), y
function data.spirals(opts)
  opts = check_table("spirals", opts)
  return c.spirals(opts.classes or 3, opts.per_class or 100, opts.noise or 0.2, opts.seed or 0,
                   { device = opts.device })
end

-- blobs([{classes = 3, per_class = 100, dim = 2, box = 5, spread = 1, seed = 0, device}]) -> x (n x dim), y
function data.blobs(opts)
  opts = check_table("blobs", opts)
  return c.blobs(opts.classes or 3, opts.per_class or 100, opts.dim or 2, opts.box or 5, opts.spread or 1,
                 opts.seed or 0, { device = opts.device })
end

return data

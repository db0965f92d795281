-- The file versions of spec/88-crash_safe_files_spec.lua, built the same way
-- in the spec and in the writer processes it kills: version k (0 to
-- COUNT - 1) of a table of tensors and of an optimizer. Equal versions give
-- byte-identical files, so the spec can tell exactly which version a file is.
local grilly = require "grilly"

local versions = { COUNT = 3 }

-- Big enough that a save takes a while, so that kills land inside saves.
local ROWS, COLS = 64, 1024

function versions.tensors(k)
  local cpu = { device = "cpu" }
  return { w = grilly.full({ ROWS, COLS }, k + 0.5, cpu), b = grilly.full({ COLS }, -k, cpu), step = grilly.tensor(k, cpu) }
end

-- The parameters an optimizer of any version is loaded over.
function versions.params()
  return { grilly.zeros({ ROWS, COLS }, { device = "cpu" }), grilly.zeros({ COLS }, { device = "cpu" }) }
end

-- An AutoHypergradientAdamW after k + 1 steps of fixed gradients.
function versions.optimizer(k)
  local p = versions.params()
  local opt = grilly.optim.AutoHypergradientAdamW(p, { track_surprise = true, warmup_steps = 0, lr = 0.01 })
  for step = 1, k + 1 do
    opt:step { [p[1]] = grilly.full({ ROWS, COLS }, 0.1 * step, { device = "cpu" }),
               [p[2]] = grilly.full({ COLS }, -0.2 * step, { device = "cpu" }) }
  end
  return opt
end

return versions

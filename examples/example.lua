-- What every example shares: its options for the device and for its output
-- files, and the folder those files go into (examples-out/ under the current
-- directory unless an option names another path).
local grilly = require "grilly"

local example = { dir = "examples-out" }

-- The option specs of args.parse for the example called name: those in
-- `extra`, then --device, --log and --plot. The device defaults to grilly's
-- default device (GRILLY_DEVICE, else a real GPU, else the CPU); the files to
-- examples-out/<name>.tsv and .png. help may replace the help text of log
-- and plot.
function example.options(name, extra, help)
  help = help or {}
  local spec = {}
  for i, s in ipairs(extra or {}) do spec[i] = s end
  spec[#spec + 1] = { "device", grilly.get_device(), "cpu, gpu, vulkan or vulkan:N; when not given, grilly's "
                      .. "default device (GRILLY_DEVICE, else a GPU, else the CPU)" }
  spec[#spec + 1] = { "log", example.dir .. "/" .. name .. ".tsv", help.log
                      or "per-step TSV history (loss, accuracy, lr, beta1, surprise, s_bar, gain); \"\" for none" }
  spec[#spec + 1] = { "plot", example.dir .. "/" .. name .. ".png",
                      help.plot or "plot of the histories, .png or .svg; \"\" for none" }
  return spec
end

local function shell_quote(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

-- path with its folder created, or nil for "" (that output is off).
function example.output(path)
  if path == "" then return nil end
  local dir = path:match("^(.*)/[^/]*$")
  if dir and dir ~= "" then os.execute("mkdir -p " .. shell_quote(dir)) end
  return path
end

-- A variant of a file name: "out/run.tsv" with suffix "_adamw" is "out/run_adamw.tsv".
function example.suffixed(path, suffix)
  local stem, ext = path:match("^(.-)(%.[%w]+)$")
  if not stem then return path .. suffix end
  return stem .. suffix .. ext
end

-- Prints where a history went.
function example.wrote_log(path)
  print("history written to " .. path)
end

-- Prints what a grilly.plot call returned: where the plot went, or why there
-- is none (a missing gnuplot does not fail the run).
function example.wrote_plot(path, err)
  print(path and ("plot written to " .. path) or ("no plot: " .. err))
end

return example

-- Progress of a training run: on a terminal one line rewritten in place,
-- elsewhere plain lines every print_every steps.
local tty = require "grilly.tty"
local scale = require "grilly.plot.scale"

local progress = {}
progress.__index = progress

local REDRAW_INTERVAL = 0.1   -- seconds between redraws of the terminal line

local function duration(seconds)
  seconds = math.floor(seconds + 0.5)
  local h, m, s = math.floor(seconds / 3600), math.floor(seconds / 60) % 60, seconds % 60
  if h > 0 then return string.format("%d:%02d:%02d", h, m, s) end
  return string.format("%d:%02d", m, s)
end

local function num(v)
  if v == nil then return "-" end
  if v ~= 0 and (math.abs(v) < 1e-3 or math.abs(v) >= 1e5) then
    return (string.format("%.3e", v):gsub("%.?0*e", "e"):gsub("e([+-])0*(%d)", "e%1%2"):gsub("e%+", "e"))
  end
  return scale.format(tonumber(string.format("%.4g", v)))
end

-- mode: "line" (terminal), "lines" (plain) or "off"; out: a stream with
-- write and flush; every: steps between plain lines.
function progress.new(mode, out, every)
  return setmetatable({ mode = mode, out = out, every = every }, progress)
end

-- Starts a run at step `from`; total (or nil when unknown) is the step the
-- run ends at, epochs the epoch it ends after (for {epochs = n} runs).
function progress:start(from, total, epochs)
  self.from, self.total, self.epochs = from, total, epochs
  self.t0 = tty.now()
  self.last_draw, self.drawn = nil, nil
end

function progress:text(row)
  local parts = {}
  parts[1] = self.total and string.format("step %d/%d", row.step, self.total) or ("step " .. row.step)
  if self.epochs then parts[#parts + 1] = string.format("epoch %d/%d", row.epoch, self.epochs) end
  local elapsed = tty.now() - self.t0
  local done = row.step - self.from
  if done > 0 and elapsed > 0 then
    local rate = done / elapsed
    parts[#parts + 1] = string.format("%.1f steps/s", rate)
    if self.total then parts[#parts + 1] = "ETA " .. duration((self.total - row.step) / rate) end
  end
  parts[#parts + 1] = "loss " .. num(row.loss)
  parts[#parts + 1] = "lr " .. num(row.lr)
  return table.concat(parts, "  ")
end

function progress:draw(row)
  self.out:write("\r\27[K", self:text(row))
  self.out:flush()
  self.drawn = row.step
  tty.open_line = self.out
end

-- After each step.
function progress:update(row)
  if self.mode == "line" then
    local now = tty.now()
    if self.last_draw and now - self.last_draw < REDRAW_INTERVAL and row.step ~= self.total then return end
    self.last_draw = now
    self:draw(row)
  elseif self.mode == "lines" and (row.step % self.every == 0 or row.step == self.total) then
    self.out:write(self:text(row), "\n")
    self.out:flush()
  end
end

-- A line of its own (epoch summaries, pauses), below the progress line,
-- which first shows row when given.
function progress:message(text, row)
  if self.mode == "off" then return end
  if self.mode == "line" then
    if row and self.drawn ~= row.step then self:draw(row) end
    tty.end_line()
  end
  self.out:write(text, "\n")
  self.out:flush()
end

-- Ends the run: the terminal line is kept, followed by why the run stopped.
function progress:finish(row, reason)
  if self.mode == "off" then return end
  if self.mode == "line" and row and self.drawn ~= row.step then self:draw(row) end
  if reason == "paused" then
    self:message(string.format("paused at step %d; resume() or loop:run() continues", row and row.step or 0))
  elseif self.mode == "line" then
    tty.end_line()
  end
  self.out:flush()
end

progress.format_number = num

return progress

-- Tab-separated tables of numbers with a header row: the training loop's log
-- format, read back by grilly.plot.
local tsv = {}

local NAN = 0 / 0

-- A value as a field: empty for nil (not recorded), "nan"/"inf"/"-inf" for
-- non-finite numbers, enough digits to read a float32 back exactly.
local function format(v)
  if v == nil then return "" end
  if type(v) ~= "number" then return tostring(v) end
  if v ~= v then return "nan" end
  if v == math.huge then return "inf" end
  if v == -math.huge then return "-inf" end
  if v == math.floor(v) and math.abs(v) < 2^53 then return string.format("%d", v) end
  return string.format("%.9g", v)
end

local function split(line)
  local fields = {}
  for field in (line .. "\t"):gmatch("([^\t]*)\t") do fields[#fields + 1] = field end
  return fields
end

local function parse(field)
  if field == "" then return NAN end
  local lower = field:lower()
  if lower == "nan" or lower == "-nan" then return NAN end
  if lower == "inf" then return math.huge end
  if lower == "-inf" then return -math.huge end
  return tonumber(field)
end

-- Reads a file into columns: { names = {...}, [name] = {numbers...} }.
-- Empty and non-numeric fields read as NaN, so every column has one entry per row.
-- Returns nil, message when the file cannot be read or has no header.
function tsv.read(path)
  local f, err = io.open(path, "r")
  if not f then return nil, "cannot read " .. tostring(err) end
  local header = f:read("*l")
  if not header or header:match("^%s*$") then
    f:close()
    return nil, "cannot read " .. path .. ": no header row"
  end
  local names = split((header:gsub("\r$", "")))
  local columns = { names = names }
  for _, name in ipairs(names) do columns[name] = {} end
  for line in f:lines() do
    line = line:gsub("\r$", "")
    if line ~= "" then
      local fields = split(line)
      for i, name in ipairs(names) do
        local col = columns[name]
        col[#col + 1] = parse(fields[i] or "") or NAN
      end
    end
  end
  f:close()
  return columns
end

-- Opens path for writing, writes the header, and returns a writer whose
-- :row(values) writes one row (values keyed by column name) and flushes it,
-- so that a crash or an interrupt never loses a written step.
function tsv.writer(path, names)
  local f, err = io.open(path, "w")
  if not f then return nil, "cannot write " .. tostring(err) end
  f:write(table.concat(names, "\t"), "\n")
  f:flush()
  local w = { path = path, names = names }
  function w:row(values)
    local fields = {}
    for i, name in ipairs(self.names) do fields[i] = format(values[name]) end
    f:write(table.concat(fields, "\t"), "\n")
    f:flush()
  end
  function w:close()
    if f then f:close(); f = nil end
  end
  return w
end

return tsv

-- How the REPL shows values: tables as constructors, tensors as aligned
-- grids, optimizers as their fields, everything else through tostring.
local pretty = {}

local MAX_DEPTH = 4          -- nested tables deeper than this show as {...}
local MAX_ITEMS = 100        -- entries shown per table
local MAX_WIDTH = 78         -- a table fits on one line up to this width
local MAX_TENSOR = 10000     -- larger tensors show only their header
local TENSOR_ROWS, TENSOR_COLS = 12, 10

local KEYWORDS = {}
for w in ([[and break do else elseif end false for function goto if in local nil not or
            repeat return then true until while]]):gmatch("%a+") do KEYWORDS[w] = true end

local function metatable_of(v)
  local ok, mt = pcall(getmetatable, v)
  if ok and type(mt) == "table" then return mt end
  return nil
end

local function type_name(v)
  local mt = metatable_of(v)
  return mt and rawget(mt, "__name")
end

local function quote(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    local named = { ["\n"] = "\\n", ["\t"] = "\\t", ["\r"] = "\\r", ['"'] = '\\"', ["\\"] = "\\\\" }
    return named[c] or string.format("\\%03d", c:byte())
  end) .. '"'
end

function pretty.number(v)
  if v ~= v then return "nan" end
  if v == math.huge then return "inf" end
  if v == -math.huge then return "-inf" end
  if v == math.floor(v) and math.abs(v) < 1e15 then return string.format("%d", v) end
  return string.format("%.14g", v)
end

local function is_identifier(k)
  return type(k) == "string" and k:match("^[%a_][%w_]*$") and not KEYWORDS[k]
end

-- Values as in a short listing: numbers compact, strings quoted, tables and
-- userdata by their tostring.
local function scalar(v)
  local t = type(v)
  if t == "number" then return pretty.number(v) end
  if t == "string" then return quote(v) end
  return tostring(v)
end

---------------------------------------------------------------- tensors --

local function tensor_cell(v, integral)
  if integral then return pretty.number(v) end
  return string.format("%.4g", v)
end

-- The rows of a 1-D or 2-D table of numbers as aligned text, eliding the
-- middle rows and columns of a large one.
local function grid(rows_of, indent)
  local nrows = #rows_of
  local ncols = #rows_of[1]
  local integral = true
  for _, row in ipairs(rows_of) do
    for _, x in ipairs(row) do
      if x ~= math.floor(x) or math.abs(x) >= 1e15 then integral = false end
    end
  end
  local function pick(n, limit)
    if n <= limit then
      local all = {}
      for i = 1, n do all[i] = i end
      return all
    end
    local head = math.ceil(limit / 2)
    local out = {}
    for i = 1, head do out[#out + 1] = i end
    out[#out + 1] = false
    for i = n - (limit - head) + 1, n do out[#out + 1] = i end
    return out
  end
  local rsel, csel = pick(nrows, TENSOR_ROWS), pick(ncols, TENSOR_COLS)
  local cells, width = {}, 1
  for ri, r in ipairs(rsel) do
    cells[ri] = {}
    for ci, c in ipairs(csel) do
      local s = (r and c) and tensor_cell(rows_of[r][c], integral) or "..."
      cells[ri][ci] = s
      if #s > width then width = #s end
    end
  end
  local lines = {}
  for _, row in ipairs(cells) do
    local parts = {}
    for ci, s in ipairs(row) do parts[ci] = string.rep(" ", width - #s) .. s end
    lines[#lines + 1] = indent .. table.concat(parts, " ")
  end
  return lines
end

local function tensor_lines(t, header)
  local ok, size = pcall(function() return t:size() end)
  local ok2, numel = pcall(function() return t:numel() end)
  if not ok or not ok2 then return { header } end
  if numel == 0 then return { header } end
  if numel > MAX_TENSOR then
    return { header, string.format("  (%d elements; t:totable() reads them)", numel) }
  end
  local ok3, values = pcall(function() return t:totable() end)
  if not ok3 then return { header } end
  local lines = { header }
  local function add(list) for _, l in ipairs(list) do lines[#lines + 1] = l end end
  if #size == 0 then
    lines[#lines + 1] = "  " .. tensor_cell(values, values == math.floor(values))
  elseif #size == 1 then
    add(grid({ values }, "  "))
  elseif #size == 2 then
    add(grid(values, "  "))
  else
    -- Higher dimensions: the 2-D slices over the leading indices, a few of them.
    local shown = 0
    local function walk(v, prefix, depth)
      if shown >= 4 then return end
      if depth == #size - 1 then
        shown = shown + 1
        lines[#lines + 1] = "  [" .. table.concat(prefix, ",") .. ",:,:]"
        add(grid(v, "  "))
        return
      end
      for i = 1, #v do
        prefix[depth] = i
        walk(v[i], prefix, depth + 1)
      end
      prefix[depth] = nil
    end
    walk(values, {}, 1)
    if shown >= 4 and numel > 4 * size[#size] * size[#size - 1] then lines[#lines + 1] = "  ..." end
  end
  return lines
end

------------------------------------------------------------- optimizers --

local function field_value(obj, name)
  local ok, v = pcall(function() return obj[name] end)
  if not ok then return "<error>" end
  if type(v) == "table" and v[1] ~= nil and type(v[1]) == "number" then
    if #v <= 4 then
      local parts = {}
      for i = 1, #v do parts[i] = pretty.number(v[i]) end
      return "{" .. table.concat(parts, ", ") .. "}"
    end
    return string.format("{%d values: %s, %s, ... %s}", #v, pretty.number(v[1]), pretty.number(v[2]),
                         pretty.number(v[#v]))
  end
  if type(v) == "table" and next(v) == nil then return "{}" end
  return scalar(v)
end

-- An object whose metatable lists its readable fields in __fields.
local function fields_lines(obj, fields)
  local lines = { tostring(obj) }
  local width = 0
  for _, name in ipairs(fields) do if #name > width then width = #name end end
  for _, name in ipairs(fields) do
    lines[#lines + 1] = "  " .. name .. string.rep(" ", width - #name) .. " = " .. field_value(obj, name)
  end
  return lines
end

----------------------------------------------------------------- tables --

local format_value

local function sorted_keys(t)
  local n = #t
  local keys = {}
  for k in pairs(t) do
    if not (type(k) == "number" and k >= 1 and k <= n and k == math.floor(k)) then keys[#keys + 1] = k end
  end
  table.sort(keys, function(a, b)
    local ta, tb = type(a), type(b)
    if ta ~= tb then return ta < tb end
    if ta == "number" or ta == "string" then return a < b end
    return tostring(a) < tostring(b)
  end)
  return keys
end

local function table_text(t, depth, seen, indent)
  if seen[t] then return "<cycle>" end
  if depth > MAX_DEPTH then return "{...}" end
  seen[t] = true
  local items = {}
  local n = #t
  local count = 0
  for i = 1, n do
    count = count + 1
    if count > MAX_ITEMS then break end
    items[#items + 1] = format_value(t[i], depth + 1, seen, indent .. "  ")
  end
  local keys = sorted_keys(t)
  for _, k in ipairs(keys) do
    count = count + 1
    if count > MAX_ITEMS then break end
    local key = is_identifier(k) and k or ("[" .. format_value(k, depth + 1, seen, indent) .. "]")
    items[#items + 1] = key .. " = " .. format_value(t[k], depth + 1, seen, indent .. "  ")
  end
  local total = n + #keys
  if total > MAX_ITEMS then items[#items + 1] = string.format("... (%d more)", total - MAX_ITEMS) end
  seen[t] = nil
  if #items == 0 then return "{}" end
  local flat = "{" .. table.concat(items, ", ") .. "}"
  if #flat + #indent <= MAX_WIDTH and not flat:find("\n") then return flat end
  -- Too long for one line: short one-line items share lines, others get one each.
  local lines, current = {}, nil
  for i, item in ipairs(items) do
    local text = item .. (i < #items and "," or "")
    local short = #item <= 24 and not item:find("\n")
    if short and current and #current + 1 + #text + #indent + 2 <= MAX_WIDTH then
      current = current .. " " .. text
    else
      if current then lines[#lines + 1] = current end
      current = text
    end
    if not short then
      lines[#lines + 1] = current
      current = nil
    end
  end
  if current then lines[#lines + 1] = current end
  return "{\n" .. indent .. "  " .. table.concat(lines, "\n" .. indent .. "  ") .. "\n" .. indent .. "}"
end

function format_value(v, depth, seen, indent)
  local t = type(v)
  if t == "string" then return quote(v) end
  if t == "number" then return pretty.number(v) end
  if t == "table" then
    local mt = metatable_of(v)
    if mt and mt.__tostring then return tostring(v) end
    return table_text(v, depth, seen, indent)
  end
  if t == "userdata" and depth > 1 then return tostring(v) end
  if t == "userdata" then
    local mt = metatable_of(v)
    local fields = mt and rawget(mt, "__fields")
    if type_name(v) == "grilly.Tensor" then
      return table.concat(tensor_lines(v, (tostring(v):match("^[^\n]*"))), "\n")
    end
    if type(fields) == "table" then return table.concat(fields_lines(v, fields), "\n") end
  end
  return tostring(v)
end

-- The text of one value the REPL shows. A string at the top is shown as it
-- is (so that plot.term's text draws); inside tables strings are quoted.
function pretty.format(v)
  if type(v) == "string" then return v end
  return format_value(v, 1, {}, "")
end


return pretty

-- A strict JSON decoder (RFC 8259) for the spec fixtures.
--   local json = require "json"
--   local value = json.decode(text)      -- raises "json: <what> at byte N" on bad input
-- Objects and arrays become Lua tables; null becomes json.null (a unique sentinel), so
-- that an array keeps its length and positions when it holds nulls.
local json = {}

json.null = setmetatable({}, { __tostring = function() return "json.null" end })

local byte, sub, find, char = string.byte, string.sub, string.find, string.char
local floor = math.floor

local function fail(what, pos)
  error(string.format("json: %s at byte %d", what, pos), 0)
end

local function skip_space(s, pos)
  local _, e = find(s, "^[ \t\r\n]*", pos)
  return e + 1
end

local function utf8_encode(cp)
  if cp < 0x80 then
    return char(cp)
  elseif cp < 0x800 then
    return char(0xC0 + floor(cp / 0x40), 0x80 + cp % 0x40)
  elseif cp < 0x10000 then
    return char(0xE0 + floor(cp / 0x1000), 0x80 + floor(cp / 0x40) % 0x40, 0x80 + cp % 0x40)
  end
  return char(0xF0 + floor(cp / 0x40000), 0x80 + floor(cp / 0x1000) % 0x40,
              0x80 + floor(cp / 0x40) % 0x40, 0x80 + cp % 0x40)
end

local simple_escapes = {
  [34] = '"', [92] = "\\", [47] = "/", [98] = "\b", [102] = "\f", [110] = "\n",
  [114] = "\r", [116] = "\t",
}

local function read_hex4(s, pos)
  local hex = sub(s, pos, pos + 3)
  if not find(hex, "^%x%x%x%x$") then fail("bad \\u escape", pos) end
  return tonumber(hex, 16)
end

-- pos is just after the opening quote; returns the string and the position after the
-- closing quote.
local function decode_string(s, pos)
  local parts, n = {}, 0
  while true do
    local run_end = find(s, '["\\%z\1-\31]', pos)
    if not run_end then fail("unterminated string", pos) end
    if run_end > pos then n = n + 1; parts[n] = sub(s, pos, run_end - 1) end
    local c = byte(s, run_end)
    if c == 34 then
      return table.concat(parts), run_end + 1
    elseif c < 32 then
      fail("control character in string", run_end)
    end
    local e = byte(s, run_end + 1)
    if e == 117 then
      local cp = read_hex4(s, run_end + 2)
      pos = run_end + 6
      if cp >= 0xD800 and cp <= 0xDBFF then
        if sub(s, pos, pos + 1) ~= "\\u" then fail("unpaired surrogate", run_end) end
        local lo = read_hex4(s, pos + 2)
        if lo < 0xDC00 or lo > 0xDFFF then fail("unpaired surrogate", run_end) end
        cp = 0x10000 + (cp - 0xD800) * 0x400 + (lo - 0xDC00)
        pos = pos + 6
      elseif cp >= 0xDC00 and cp <= 0xDFFF then
        fail("unpaired surrogate", run_end)
      end
      n = n + 1; parts[n] = utf8_encode(cp)
    elseif e and simple_escapes[e] then
      n = n + 1; parts[n] = simple_escapes[e]
      pos = run_end + 2
    else
      fail("bad escape", run_end)
    end
  end
end

local function decode_number(s, pos)
  local _, e = find(s, "^-?0", pos)
  if not e then _, e = find(s, "^-?[1-9]%d*", pos) end
  if not e then fail("bad number", pos) end
  local _, fe = find(s, "^%.%d+", e + 1)
  if fe then e = fe elseif byte(s, e + 1) == 46 then fail("bad number", pos) end
  local _, xe = find(s, "^[eE][+-]?%d+", e + 1)
  if xe then e = xe elseif find(s, "^[eE]", e + 1) then fail("bad number", pos) end
  if find(s, "^[%w.]", e + 1) then fail("bad number", pos) end
  return tonumber(sub(s, pos, e)), e + 1
end

local decode_value

local function decode_array(s, pos)
  local arr, n = {}, 0
  pos = skip_space(s, pos)
  if byte(s, pos) == 93 then return arr, pos + 1 end
  while true do
    local v
    v, pos = decode_value(s, pos)
    n = n + 1; arr[n] = v
    pos = skip_space(s, pos)
    local c = byte(s, pos)
    if c == 93 then return arr, pos + 1 end
    if c ~= 44 then fail("expected ',' or ']'", pos) end
    pos = pos + 1
  end
end

local function decode_object(s, pos)
  local obj = {}
  pos = skip_space(s, pos)
  if byte(s, pos) == 125 then return obj, pos + 1 end
  while true do
    if byte(s, pos) ~= 34 then fail("expected a string key", pos) end
    local key
    key, pos = decode_string(s, pos + 1)
    pos = skip_space(s, pos)
    if byte(s, pos) ~= 58 then fail("expected ':'", pos) end
    local v
    v, pos = decode_value(s, pos + 1)
    obj[key] = v
    pos = skip_space(s, pos)
    local c = byte(s, pos)
    if c == 125 then return obj, pos + 1 end
    if c ~= 44 then fail("expected ',' or '}'", pos) end
    pos = skip_space(s, pos + 1)
  end
end

local literals = { t = { "true", true }, f = { "false", false }, n = { "null", json.null } }

function decode_value(s, pos)
  pos = skip_space(s, pos)
  local c = byte(s, pos)
  if c == nil then fail("unexpected end of input", pos) end
  if c == 123 then return decode_object(s, pos + 1) end
  if c == 91 then return decode_array(s, pos + 1) end
  if c == 34 then return decode_string(s, pos + 1) end
  if c == 45 or (c >= 48 and c <= 57) then return decode_number(s, pos) end
  local lit = literals[char(c)]
  if lit and sub(s, pos, pos + #lit[1] - 1) == lit[1] then
    return lit[2], pos + #lit[1]
  end
  fail("unexpected character '" .. char(c) .. "'", pos)
end

function json.decode(s)
  if type(s) ~= "string" then
    error("json: bad argument #1 to 'decode' (string expected, got " .. type(s) .. ")", 2)
  end
  local value, pos = decode_value(s, 1)
  pos = skip_space(s, pos)
  if pos <= #s then fail("trailing characters", pos) end
  return value
end

return json

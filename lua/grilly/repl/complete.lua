-- Tab completion for the REPL: the names that can follow what has been
-- typed. "pri" -> globals and keywords; "opt.cur" -> fields of opt;
-- "opt:st" -> methods of opt. Userdata list the keys of their metatable's
-- `methods` table and the names in its `__fields` array (see docs/repl.md).
local complete = {}

local KEYWORDS = {
  "and", "break", "do", "else", "elseif", "end", "false", "for", "function", "goto", "if", "in",
  "local", "nil", "not", "or", "repeat", "return", "then", "true", "until", "while",
}

local function metatable_of(v)
  local ok, mt = pcall(getmetatable, v)
  if ok and type(mt) == "table" then return mt end
  return nil
end

local function safe_index(obj, key)
  local ok, v = pcall(function() return obj[key] end)
  if ok then return v end
  return nil
end

-- name -> value (nil when unknown) for the names an object offers.
local function members(obj, want_methods)
  local out = {}
  local function add(name, value)
    if type(name) == "string" and name:match("^[%a_][%w_]*$") and out[name] == nil then
      out[name] = value == nil and false or value
    end
  end
  local function add_table(t, depth)
    if depth > 5 then return end
    for k, v in pairs(t) do add(k, v) end
    local mt = metatable_of(t)
    local index = mt and rawget(mt, "__index")
    if type(index) == "table" then add_table(index, depth + 1) end
  end
  local t = type(obj)
  if t == "table" then
    add_table(obj, 1)
  elseif t == "string" then
    for k, v in pairs(string) do add(k, v) end
  elseif t == "userdata" then
    local mt = metatable_of(obj)
    if mt then
      local methods = rawget(mt, "methods")
      if type(methods) == "table" then for k, v in pairs(methods) do add(k, v) end end
      local index = rawget(mt, "__index")
      if type(index) == "table" then add_table(index, 1) end
      local fields = rawget(mt, "__fields")
      if type(fields) == "table" and not want_methods then
        for _, name in ipairs(fields) do add(name, true) end
      end
    end
  end
  if want_methods then
    for name, v in pairs(out) do
      if type(v) ~= "function" then out[name] = nil end
    end
  end
  return out
end

-- The completions of word (the text before the cursor back to the last
-- character that cannot be part of a name path), looked up in env.
function complete.candidates(word, env)
  local path, sep, partial = word:match("^(.*)([%.:])([%w_]*)$")
  local names = {}
  if not path then
    partial = word
    if not partial:match("^[%a_]?[%w_]*$") then return {} end
    for _, k in ipairs(KEYWORDS) do names[k] = true end
    local scope = env
    local depth = 0
    while type(scope) == "table" and depth < 5 do
      for k in pairs(members(scope)) do names[k] = true end
      local mt = metatable_of(scope)
      scope = mt and rawget(mt, "__index")
      depth = depth + 1
    end
    path, sep = "", ""
  else
    if not path:match("^[%a_][%w_]*$") and not path:match("^[%a_][%w_%.]*[%w_]$") then return {} end
    local obj = env
    for part in path:gmatch("[^%.]+") do
      obj = safe_index(obj, part)
      if obj == nil then return {} end
    end
    for k in pairs(members(obj, sep == ":")) do names[k] = true end
  end
  local out = {}
  for name in pairs(names) do
    if name:sub(1, #partial) == partial then out[#out + 1] = path .. sep .. name end
  end
  table.sort(out)
  return out
end

-- Characters that end a completion word: everything that cannot be part of
-- a dotted name path.
complete.word_breaks = " \t\n\"\\'`@$><=;|&{}()[],+-*/%^~#"

return complete

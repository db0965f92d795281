-- A strict-enough XML well-formedness checker for the SVG specs: balanced and
-- properly nested tags, quoted attributes without duplicates, known entities,
-- no stray '<' or '&' in text. Returns the element tree or nil, message.
local xml = {}

local ENTITIES = { amp = true, lt = true, gt = true, quot = true, apos = true }

local function check_text(s, where)
  for ref in s:gmatch("&([^;]*);") do
    if not (ENTITIES[ref] or ref:match("^#%d+$") or ref:match("^#x%x+$")) then
      return nil, "unknown entity &" .. ref .. "; " .. where
    end
  end
  local stripped = s:gsub("&[^;]*;", "")
  if stripped:find("&") then return nil, "bare '&' " .. where end
  if stripped:find("<") then return nil, "bare '<' " .. where end
  return true
end

local function parse_attrs(s, where)
  local attrs, seen = {}, {}
  local pos = 1
  while true do
    local ws, name, q, value, after = s:match("^(%s*)([%a_:][%w_:%.%-]*)%s*=%s*(['\"])(.-)%3()", pos)
    if not name then break end
    if ws == "" and pos > 1 then return nil, "attributes not separated " .. where end
    if seen[name] then return nil, "duplicate attribute " .. name .. " " .. where end
    local ok, err = check_text(value, "in attribute " .. name .. " " .. where)
    if not ok then return nil, err end
    if value:find("<") then return nil, "'<' in attribute " .. name .. " " .. where end
    seen[name] = true
    attrs[name] = value
    pos = after
  end
  if not s:sub(pos):match("^%s*$") then
    return nil, "malformed attributes '" .. s:sub(pos) .. "' " .. where
  end
  return attrs
end

function xml.parse(doc)
  local pos = 1
  if doc:sub(1, 5) == "<?xml" then
    local close = doc:find("?>", 1, true)
    if not close then return nil, "unterminated XML declaration" end
    pos = close + 2
  end
  local root
  local stack = {}
  while pos <= #doc do
    local lt = doc:find("<", pos, true)
    local text = doc:sub(pos, (lt or #doc + 1) - 1)
    local ok, err = check_text(text, "at byte " .. pos)
    if not ok then return nil, err end
    if not text:match("^%s*$") then
      if #stack == 0 then return nil, "text outside the root element at byte " .. pos end
      local top = stack[#stack]
      top.text = (top.text or "") .. text
    end
    if not lt then break end
    local where = "at byte " .. lt
    if doc:sub(lt, lt + 3) == "<!--" then
      local close = doc:find("-->", lt + 4, true)
      if not close then return nil, "unterminated comment " .. where end
      pos = close + 3
    else
      local gt = doc:find(">", lt, true)
      if not gt then return nil, "unterminated tag " .. where end
      local inner = doc:sub(lt + 1, gt - 1)
      pos = gt + 1
      local closing = inner:match("^/([%a_:][%w_:%.%-]*)%s*$")
      if closing then
        local top = table.remove(stack)
        if not top then return nil, "closing </" .. closing .. "> without an open element " .. where end
        if top.name ~= closing then
          return nil, "</" .. closing .. "> closes <" .. top.name .. "> " .. where
        end
      else
        local self_closing = inner:sub(-1) == "/"
        if self_closing then inner = inner:sub(1, -2) end
        local name, rest = inner:match("^([%a_:][%w_:%.%-]*)(.*)$")
        if not name then return nil, "malformed tag <" .. inner .. "> " .. where end
        local attrs, aerr = parse_attrs(rest, where)
        if not attrs then return nil, aerr end
        local el = { name = name, attrs = attrs, children = {} }
        if #stack > 0 then
          table.insert(stack[#stack].children, el)
        elseif root then
          return nil, "second root element <" .. name .. "> " .. where
        else
          root = el
        end
        if not self_closing then stack[#stack + 1] = el end
      end
    end
  end
  if #stack > 0 then return nil, "unclosed <" .. stack[#stack].name .. ">" end
  if not root then return nil, "no root element" end
  return root
end

-- Every element named name, depth first.
function xml.find_all(el, name, out)
  out = out or {}
  if el.name == name then out[#out + 1] = el end
  for _, c in ipairs(el.children) do xml.find_all(c, name, out) end
  return out
end

return xml

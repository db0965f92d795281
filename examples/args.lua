-- Command-line options for the example scripts: --name value, --name=value,
-- --flag / --no-flag for booleans, --help for a usage text. Each option's
-- type is its default's; names with dashes become keys with underscores.
local args = {}

-- spec: array of {name, default, help}. Returns the options table, or
-- prints the usage and exits for --help; raises on an unknown option or a
-- value of the wrong type.
function args.parse(spec, argv, summary)
  local by_name, opts = {}, {}
  for _, s in ipairs(spec) do
    by_name[s[1]] = s
    opts[s[1]:gsub("-", "_")] = s[2]
  end
  local function usage()
    local lines = { summary, "", "Options:" }
    for _, s in ipairs(spec) do
      local default = type(s[2]) == "boolean" and (s[2] and "on" or "off") or tostring(s[2])
      lines[#lines + 1] = string.format("  --%-16s %s (default %s)", s[1], s[3], default == "" and '""' or default)
    end
    return table.concat(lines, "\n")
  end
  local i = 1
  while i <= #argv do
    local a = argv[i]
    if a == "--help" or a == "-h" then
      print(usage())
      os.exit(0)
    end
    local name, value = a:match("^%-%-([%w%-]+)=(.*)$")
    name = name or a:match("^%-%-([%w%-]+)$")
    if not name then error("unexpected argument '" .. a .. "' (see --help)", 0) end
    local s = by_name[name]
    if not s and name:match("^no%-") and by_name[name:sub(4)] and type(by_name[name:sub(4)][2]) == "boolean" then
      s, value = by_name[name:sub(4)], "false"
    end
    if not s then error("unknown option --" .. name .. " (see --help)", 0) end
    local key, kind = s[1]:gsub("-", "_"), type(s[2])
    if kind == "boolean" then
      value = value or "true"
      if value ~= "true" and value ~= "false" then error("option --" .. s[1] .. " takes true or false", 0) end
      opts[key] = value == "true"
    else
      if value == nil then
        i = i + 1
        value = argv[i]
        if value == nil then error("option --" .. s[1] .. " needs a value", 0) end
      end
      if kind == "number" then
        opts[key] = tonumber(value)
        if opts[key] == nil then error("option --" .. s[1] .. " needs a number, got '" .. value .. "'", 0) end
      else
        opts[key] = value
      end
    end
    i = i + 1
  end
  return opts
end

return args

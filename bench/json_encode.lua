-- A compact JSON encoder for the benchmark reports: tables with a sequence
-- part become arrays, others objects with sorted keys; numbers keep six
-- significant digits.
local function encode(v)
  if type(v) == "table" then
    local parts = {}
    if #v > 0 then
      for _, x in ipairs(v) do parts[#parts + 1] = encode(x) end
      return "[" .. table.concat(parts, ",") .. "]"
    end
    local keys = {}
    for k in pairs(v) do keys[#keys + 1] = k end
    table.sort(keys)
    for _, k in ipairs(keys) do parts[#parts + 1] = ("%q:%s"):format(k, encode(v[k])) end
    return "{" .. table.concat(parts, ",") .. "}"
  end
  if type(v) == "number" then return ("%.6g"):format(v) end
  return ("%q"):format(tostring(v))
end

return encode

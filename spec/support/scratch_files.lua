-- Whole-file reads and writes and fresh temporary paths for specs that
-- produce or feed files.
local scratch = {}

function scratch.read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

function scratch.write(path, text)
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
end

-- A path that does not exist yet, ending in ext (e.g. ".svg").
function scratch.path(ext)
  local p = os.tmpname()
  os.remove(p)
  return p .. (ext or "")
end

return scratch

-- The rock installs from this checkout into a private tree and loads from there.
local function run(cmd)
  local pipe = assert(io.popen(cmd .. " 2>&1; echo \"exit=$?\""))
  local out = pipe:read("*a")
  pipe:close()
  return tonumber(out:match("exit=(%d+)%s*$")), out
end

describe("luarocks make", function()
  it("installs a rock whose module loads with luajit from the tree", function()
    local tree = os.tmpname()
    os.remove(tree)
    local code, out = run("luarocks --lua-version=5.1 --tree '" .. tree ..
                          "' make rockspecs/grilly-scm-1.rockspec")
    assert.equal(0, code, out)
    code, out = run("cd / && eval \"$(luarocks --lua-version=5.1 --tree '" .. tree .. "' path)\" && " ..
                    "luajit -e 'local g = require \"grilly\"; io.write(tostring(g.zeros(2):numel()))'")
    run("rm -rf '" .. tree .. "'")
    assert.equal(0, code, out)
    assert.equal("2", out:match("^(%d+)"))
  end)
end)

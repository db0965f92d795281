-- Runs last (specs run in file-name order): with GRILLY_VALIDATION=1 the
-- Vulkan validation layer watched every spec before this one, and any
-- warning or error it reported fails the suite here.
local grilly = require "grilly"

local enabled = (os.getenv("GRILLY_VALIDATION") or "0") ~= "0"

describe("Vulkan validation", function()
  if enabled then
    it("reported no warnings or errors during the whole suite", function()
      assert.equal(0, grilly.validation_messages())
    end)
  else
    it("counts no messages while GRILLY_VALIDATION is off", function()
      grilly.zeros(4, {device = "cpu"})
      assert.equal(0, grilly.validation_messages())
    end)
  end
end)

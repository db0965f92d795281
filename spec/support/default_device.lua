-- busted helper: specs that do not name a device run on the CPU, so that the
-- suite means the same on a machine with a GPU (where grilly's default would
-- be the GPU). GRILLY_DEVICE, when set, still picks the default. Device specs
-- name their devices (tensor_ref.devices()).
if not os.getenv("GRILLY_DEVICE") then
  require("grilly").set_device("cpu")
end

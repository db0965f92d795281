// Shared declarations of every kernel: the workgroup size is specialization
// constant 0, and buffers are reached through buffer device addresses passed
// in push constants (no descriptor sets). Indices are 32-bit: the host keeps
// every index space below 2^31 elements.
#extension GL_EXT_buffer_reference : require
#extension GL_EXT_spirv_intrinsics : require

// IEEE float32 behaviour where the device offers it (Vulkan 1.2 float
// controls): NaN, infinities and the sign of zero kept through every
// optimisation, subnormals kept rather than flushed, rounding to nearest
// even. src/gr_vk_pipeline.c removes each mode a device does not support.
spirv_execution_mode(capabilities = [4466], 4461, 32);   // SignedZeroInfNanPreserve
spirv_execution_mode(capabilities = [4464], 4459, 32);   // DenormPreserve
spirv_execution_mode(capabilities = [4467], 4462, 32);   // RoundingModeRTE

layout(local_size_x_id = 0) in;

layout(buffer_reference, std430, buffer_reference_align = 4) buffer Floats { float v[]; };
layout(buffer_reference, std430, buffer_reference_align = 16) buffer Float4s { vec4 v[]; };
layout(buffer_reference, std430, buffer_reference_align = 4) buffer Ints { int v[]; };
layout(buffer_reference, std430, buffer_reference_align = 4) buffer Words { uint v[]; };
layout(buffer_reference, std430, buffer_reference_align = 16) buffer Word4s { uvec4 v[]; };

// Threads in the whole grid, for grid-stride loops.
uint grid_threads() { return gl_NumWorkGroups.x * gl_WorkGroupSize.x; }

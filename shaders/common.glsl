// Shared declarations of every kernel: the workgroup size is specialization
// constant 0, and buffers are reached through buffer device addresses passed
// in push constants (no descriptor sets). Indices are 32-bit: the host keeps
// every index space below 2^31 elements.
#extension GL_EXT_buffer_reference : require

layout(local_size_x_id = 0) in;

layout(buffer_reference, std430, buffer_reference_align = 4) buffer Floats { float v[]; };
layout(buffer_reference, std430, buffer_reference_align = 16) buffer Float4s { vec4 v[]; };
layout(buffer_reference, std430, buffer_reference_align = 4) buffer Ints { int v[]; };

// Threads in the whole grid, for grid-stride loops.
uint grid_threads() { return gl_NumWorkGroups.x * gl_WorkGroupSize.x; }

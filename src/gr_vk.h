/* Private state of the Vulkan backend, shared by the gr_vk_*.c files.
 * The Vulkan loader is opened at run time (gr_vk_loader.c): nothing here
 * links against libvulkan, so the CPU device works without one. */
#ifndef GR_VK_H
#define GR_VK_H

#define VK_NO_PROTOTYPES
#include <vulkan/vulkan.h>
#include <stdint.h>

#include "gr_backend.h"
#include "gr_vulkan.h"

/* ---- loader and dispatch tables ---------------------------------------- */

#define GR_VK_INSTANCE_FUNCS(X) \
    X(vkDestroyInstance) X(vkEnumeratePhysicalDevices) X(vkGetPhysicalDeviceProperties) \
    X(vkGetPhysicalDeviceProperties2) X(vkGetPhysicalDeviceFeatures2) \
    X(vkGetPhysicalDeviceMemoryProperties) X(vkGetPhysicalDeviceMemoryProperties2) \
    X(vkGetPhysicalDeviceQueueFamilyProperties) X(vkEnumerateDeviceExtensionProperties) \
    X(vkCreateDevice) X(vkGetDeviceProcAddr)

#define GR_VK_DEVICE_FUNCS(X) \
    X(vkDestroyDevice) X(vkGetDeviceQueue) X(vkDeviceWaitIdle) X(vkQueueSubmit) \
    X(vkAllocateMemory) X(vkFreeMemory) X(vkMapMemory) X(vkUnmapMemory) \
    X(vkCreateBuffer) X(vkDestroyBuffer) X(vkGetBufferMemoryRequirements) X(vkBindBufferMemory) \
    X(vkGetBufferDeviceAddress) \
    X(vkCreateShaderModule) X(vkDestroyShaderModule) \
    X(vkCreatePipelineLayout) X(vkDestroyPipelineLayout) \
    X(vkCreateComputePipelines) X(vkDestroyPipeline) \
    X(vkCreateCommandPool) X(vkDestroyCommandPool) X(vkAllocateCommandBuffers) \
    X(vkBeginCommandBuffer) X(vkEndCommandBuffer) X(vkResetCommandBuffer) \
    X(vkCreateFence) X(vkDestroyFence) X(vkWaitForFences) X(vkResetFences) X(vkGetFenceStatus) \
    X(vkCmdBindPipeline) X(vkCmdPushConstants) X(vkCmdDispatch) X(vkCmdPipelineBarrier) \
    X(vkCreateQueryPool) X(vkDestroyQueryPool) X(vkGetQueryPoolResults) \
    X(vkCmdResetQueryPool) X(vkCmdWriteTimestamp) \
    X(vkCmdCopyBuffer) X(vkCmdFillBuffer)

typedef struct gr_vk_ifuncs {
#define GR_VK_FIELD(name) PFN_##name name;
    GR_VK_INSTANCE_FUNCS(GR_VK_FIELD)
    PFN_vkCreateDebugUtilsMessengerEXT vkCreateDebugUtilsMessengerEXT;
    PFN_vkDestroyDebugUtilsMessengerEXT vkDestroyDebugUtilsMessengerEXT;
} gr_vk_ifuncs;

typedef struct gr_vk_dfuncs {
    GR_VK_DEVICE_FUNCS(GR_VK_FIELD)
#undef GR_VK_FIELD
} gr_vk_dfuncs;

/* The process-wide instance; NULL members until gr_vk_instance() succeeds. */
typedef struct gr_vk_instance_state {
    VkInstance instance;
    gr_vk_ifuncs fn;
    int count;                      /* physical devices */
    VkPhysicalDevice *physical;
} gr_vk_instance_state;

/* Opens the loader and creates the instance once; later calls return the
 * same outcome. Fails (with a message) when there is no loader or driver. */
gr_status gr_vk_instance(gr_vk_instance_state **out);
void gr_vk_instance_destroy(void);

/* ---- memory ------------------------------------------------------------- */

/* A range inside a block that nothing owns; busy_until is the serial of the
 * last batch that used it, so reuse is ordered after that batch. */
typedef struct gr_vk_range {
    VkDeviceSize offset, size;
    uint64_t busy_until;
} gr_vk_range;

/* One VkDeviceMemory with one VkBuffer over all of it. */
typedef struct gr_vk_block {
    VkDeviceMemory memory;
    VkBuffer buffer;
    VkDeviceAddress address;
    VkDeviceSize size;
    char *map;                      /* persistent mapping, or NULL */
    gr_vk_range *free;              /* sorted by offset, coalesced */
    int nfree, capfree;
    int live;                       /* allocations in the block */
    struct gr_vk_block *next;
} gr_vk_block;

/* A memory pool: the blocks of one memory type. */
typedef struct gr_vk_pool {
    uint32_t type_index;
    int heap_index;
    int host_visible, host_cached;
    VkDeviceSize block_size;
    gr_vk_block *blocks;
    VkDeviceSize reserved;          /* bytes in blocks */
} gr_vk_pool;

/* One sub-allocation; gr_storage.impl points to it. */
typedef struct gr_vk_alloc {
    gr_vk_pool *pool;
    gr_vk_block *block;
    VkDeviceSize offset, size;
    uint64_t last_use;              /* serial of the last batch reading or writing it */
    uint64_t last_write;            /* serial of the last batch writing it */
} gr_vk_alloc;

/* ---- the device ---------------------------------------------------------- */

#define GR_VK_BATCHES 3             /* command buffers in flight */
#define GR_VK_MAX_PENDING 64        /* ranges tracked between barriers */

typedef struct gr_vk_batch {
    VkCommandBuffer cmd;
    VkFence fence;
    uint64_t serial;                /* serial of the work recorded in it */
    int recording, submitted;
    int dispatches;                 /* commands recorded so far */
    gr_vk_alloc arena;              /* host-visible staging for this batch */
    VkDeviceSize arena_used;
} gr_vk_batch;

typedef struct gr_vk_span { VkDeviceAddress lo, hi; } gr_vk_span;

typedef struct gr_vk_pipeline {
    int shader;
    uint32_t spec[4];
    VkPipeline pipeline;
} gr_vk_pipeline;

/* Which float-control execution modes the kernels declare (shaders/common.glsl)
 * a device accepts: SignedZeroInfNanPreserve, DenormPreserve and
 * RoundingModeRTE, each for float32, and SignedZeroInfNanPreserve for the
 * float64 of the optimizer's kernels (shaders/optim_common.glsl). */
typedef struct gr_vk_float_modes {
    int inf_nan, denormals, round_even;
    int inf_nan64;
} gr_vk_float_modes;

/* Fills *m for a physical device (gr_vk_device.c). */
void gr_vk_float_modes_get(const gr_vk_instance_state *inst, VkPhysicalDevice pd, gr_vk_float_modes *m);

typedef struct gr_vk_device {
    gr_device base;                 /* first, so a gr_device* converts back */
    VkPhysicalDevice physical;
    VkDevice device;
    gr_vk_dfuncs fn;
    VkQueue queue;
    uint32_t queue_family;
    VkPhysicalDeviceProperties props;
    VkPhysicalDeviceMemoryProperties memprops;
    int has_float64, has_int64, has_memory_budget;
    gr_vk_float_modes float_modes;

    gr_vk_pool tensors;             /* device-local memory for storages */
    gr_vk_pool staging;             /* host-visible memory for transfers */
    int tensors_mapped_cached;      /* tensor memory may be read by the host directly */
    VkDeviceSize max_allocation;    /* largest single VkDeviceMemory */

    /* Command stream */
    VkCommandPool cmd_pool;
    gr_vk_batch batches[GR_VK_BATCHES];
    int current;                    /* index of the batch being recorded */
    uint64_t next_serial;           /* serial the next recorded batch gets */
    uint64_t completed;             /* every batch with serial <= this has finished */
    gr_vk_span pending_writes[GR_VK_MAX_PENDING], pending_reads[GR_VK_MAX_PENDING];
    int npending_writes, npending_reads;
    int barrier_all;                /* the next access needs a barrier whatever it touches */
    VkPipeline bound;
    uint64_t submits, waits;        /* vkQueueSubmit calls and fence waits so far */
    uint64_t dispatches;            /* compute dispatches recorded so far */

    /* Device timing (gr_vk_timer.c) */
    uint32_t timestamp_bits;        /* valid bits of the queue's timestamps; 0: none */
    VkQueryPool timer_queries;      /* the start and stop timestamps, made on first use */

    VkPipelineLayout layout;        /* shared by every kernel: push constants only */
    gr_vk_pipeline *pipelines;
    int npipelines, cappipelines;
} gr_vk_device;

static inline gr_vk_device *gr_vk_dev(gr_device *d) { return (gr_vk_device *)d; }
static inline gr_vk_alloc *gr_vk_storage_alloc(const gr_storage *st) { return st->impl; }

/* Memory (gr_vk_memory.c) */
gr_status gr_vk_memory_init(gr_vk_device *d);
void gr_vk_memory_destroy(gr_vk_device *d);
gr_status gr_vk_pool_alloc(gr_vk_device *d, gr_vk_pool *pool, VkDeviceSize size, gr_vk_alloc *out);
void gr_vk_pool_free(gr_vk_device *d, gr_vk_alloc *a);
/* Releases idle empty blocks of their own size beyond the cache of big blocks. */
void gr_vk_memory_reap(gr_vk_device *d);
static inline VkDeviceAddress gr_vk_alloc_address(const gr_vk_alloc *a) { return a->block->address + a->offset; }

/* Command stream (gr_vk_stream.c) */
gr_status gr_vk_stream_init(gr_vk_device *d);
void gr_vk_stream_destroy(gr_vk_device *d);

/* A buffer range an upcoming command touches, for barriers and lifetimes. */
typedef struct gr_vk_access {
    gr_vk_alloc *alloc;
    VkDeviceSize offset, size;      /* bytes, relative to the allocation */
    int write;
} gr_vk_access;

/* Makes a batch record and returns its command buffer after inserting the
 * barrier the accesses (any number of them) need and marking their
 * allocations as used. */
gr_status gr_vk_record(gr_vk_device *d, const gr_vk_access *acc, int nacc, VkCommandBuffer *cmd);
/* Records one compute dispatch of `kernel` (see gr_vk_kernels.h) with the
 * given specialization constants and push constants over `groups` workgroups
 * (the kernels loop when the work needs more than one pass of the grid). */
gr_status gr_vk_dispatch(gr_vk_device *d, int kernel, const uint32_t spec[4], const void *push,
                         uint32_t push_size, uint32_t groups, const gr_vk_access *acc, int nacc);
/* Reserves host-visible staging bytes in the current batch; the memory stays
 * valid until that batch finishes. */
gr_status gr_vk_stage(gr_vk_device *d, VkDeviceSize size, gr_vk_alloc **arena, VkDeviceSize *offset);
/* Submits the batch being recorded, if any. */
gr_status gr_vk_flush(gr_vk_device *d);
/* Waits until every batch up to `serial` has finished (flushing first). */
gr_status gr_vk_wait(gr_vk_device *d, uint64_t serial);
/* Waits for everything recorded so far. */
gr_status gr_vk_wait_all(gr_vk_device *d);
/* The serial that work recorded now will get. */
static inline uint64_t gr_vk_recording_serial(const gr_vk_device *d) { return d->next_serial; }
/* Notes finished batches without waiting. */
void gr_vk_poll(gr_vk_device *d);

/* Device timing (gr_vk_timer.c) */
gr_status gr_vk_timer_start(gr_device *dev);
gr_status gr_vk_timer_stop(gr_device *dev, double *seconds);
void gr_vk_timer_destroy(gr_vk_device *d);

/* Pipelines (gr_vk_pipeline.c) */
gr_status gr_vk_pipeline_layout_create(gr_vk_device *d);
gr_status gr_vk_pipeline_get(gr_vk_device *d, int kernel, const uint32_t spec[4], VkPipeline *out);
void gr_vk_pipelines_destroy(gr_vk_device *d);

/* Vulkan result codes as text, for messages. */
const char *gr_vk_result_str(VkResult r);

/* The backend table (gr_vk_backend.c) */
extern const gr_backend gr_vk_backend;

#endif

/* Device memory: storages are sub-allocated from large blocks, each one
 * VkDeviceMemory with one VkBuffer over it (addressed by buffer device
 * address). Two pools: device-local memory for tensors, host-visible memory
 * for staging transfers. A freed range remembers the last batch that used
 * it; whoever reuses it inherits that serial, so host access to the new
 * owner waits for (or goes around) the old owner's pending commands, and
 * barriers on the GPU are placed by address, whoever owns the range. */
#include "gr_vk.h"

#include <stdlib.h>
#include <string.h>

#define GR_VK_ALIGN ((VkDeviceSize)256)
#define MiB ((VkDeviceSize)1 << 20)

static VkDeviceSize round_up(VkDeviceSize x, VkDeviceSize a) { return (x + a - 1) / a * a; }

static const VkBufferUsageFlags buffer_usage =
    VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
    VK_BUFFER_USAGE_TRANSFER_DST_BIT | VK_BUFFER_USAGE_SHADER_DEVICE_ADDRESS_BIT;

static VkDeviceSize max_allocation(gr_vk_device *d)
{
    gr_vk_instance_state *inst;
    if (gr_vk_instance(&inst) != GR_OK) return (VkDeviceSize)1 << 30;
    VkPhysicalDeviceMaintenance3Properties m3 = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES };
    VkPhysicalDeviceProperties2 p = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, .pNext = &m3 };
    inst->fn.vkGetPhysicalDeviceProperties2(d->physical, &p);
    return m3.maxMemoryAllocationSize ? m3.maxMemoryAllocationSize : (VkDeviceSize)1 << 30;
}

/* Memory types a storage buffer may live in, from a probe buffer. */
static gr_status allowed_types(gr_vk_device *d, uint32_t *bits)
{
    VkBufferCreateInfo bci = {
        .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO, .size = MiB, .usage = buffer_usage,
        .sharingMode = VK_SHARING_MODE_EXCLUSIVE,
    };
    VkBuffer probe;
    VkResult r = d->fn.vkCreateBuffer(d->device, &bci, NULL, &probe);
    if (r != VK_SUCCESS) return gr_fail(GR_EDEVICE, "vkCreateBuffer failed (%s)", gr_vk_result_str(r));
    VkMemoryRequirements req;
    d->fn.vkGetBufferMemoryRequirements(d->device, probe, &req);
    d->fn.vkDestroyBuffer(d->device, probe, NULL);
    *bits = req.memoryTypeBits;
    return GR_OK;
}

/* The first memory type, in order of `wanted` (flag sets), allowed by `bits`;
 * with `heap` >= 0 only types of that heap qualify. -1 if none. */
static int pick_type(const VkPhysicalDeviceMemoryProperties *mp, uint32_t bits, int heap,
                     const VkMemoryPropertyFlags *wanted, const VkMemoryPropertyFlags *unwanted, int nwanted)
{
    for (int w = 0; w < nwanted; w++)
        for (uint32_t i = 0; i < mp->memoryTypeCount; i++) {
            VkMemoryPropertyFlags f = mp->memoryTypes[i].propertyFlags;
            if (!(bits & (1u << i)) || (f & wanted[w]) != wanted[w] || (f & unwanted[w])) continue;
            if (heap >= 0 && (int)mp->memoryTypes[i].heapIndex != heap) continue;
            return (int)i;
        }
    return -1;
}

static void pool_setup(gr_vk_device *d, gr_vk_pool *pool, int type, VkDeviceSize block_size)
{
    VkMemoryPropertyFlags f = d->memprops.memoryTypes[type].propertyFlags;
    pool->type_index = (uint32_t)type;
    pool->heap_index = (int)d->memprops.memoryTypes[type].heapIndex;
    pool->host_visible = (f & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT) && (f & VK_MEMORY_PROPERTY_HOST_COHERENT_BIT);
    pool->host_cached = pool->host_visible && (f & VK_MEMORY_PROPERTY_HOST_CACHED_BIT);
    pool->block_size = block_size;
}

/* GRILLY_VULKAN_STAGING=1 leaves tensor memory unmapped, so that every host
 * transfer takes the staging path of discrete GPUs (for testing it on
 * devices whose memory the host can map). */
static int staging_forced(void)
{
    const char *v = getenv("GRILLY_VULKAN_STAGING");
    return v && *v && strcmp(v, "0") != 0;
}

gr_status gr_vk_memory_init(gr_vk_device *d)
{
    const VkPhysicalDeviceMemoryProperties *mp = &d->memprops;
    uint32_t bits = 0;
    GR_TRY(allowed_types(d, &bits));

    int big = -1;   /* the largest device-local heap */
    for (uint32_t h = 0; h < mp->memoryHeapCount; h++)
        if ((mp->memoryHeaps[h].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) &&
            (big < 0 || mp->memoryHeaps[h].size > mp->memoryHeaps[big].size))
            big = (int)h;

    const VkMemoryPropertyFlags DL = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT,
        HV = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT,
        HC = VK_MEMORY_PROPERTY_HOST_CACHED_BIT;
    /* Tensors: device-local memory the host can map when the device offers it on
     * its main heap (unified memory, CPU devices, resizable BAR), else plain
     * device-local memory reached through staging. */
    const VkMemoryPropertyFlags tensor_want[] = { DL | HV, DL, 0 }, tensor_not[] = { 0, 0, 0 };
    int t = pick_type(mp, bits, big, tensor_want, tensor_not, 2);
    if (t < 0) t = pick_type(mp, bits, -1, tensor_want, tensor_not, 3);
    /* Staging: cached host memory (fast host reads), preferably system memory. */
    const VkMemoryPropertyFlags stage_want[] = { HV | HC, HV | HC, HV }, stage_not[] = { DL, 0, 0 };
    int s = pick_type(mp, bits, -1, stage_want, stage_not, 3);
    if (t < 0 || s < 0)
        return gr_fail(GR_EDEVICE, "%s offers no usable memory type for %s", d->props.deviceName,
                       t < 0 ? "tensors" : "host transfers");

    VkDeviceSize maxalloc = d->max_allocation = max_allocation(d);
    VkDeviceSize heap = mp->memoryHeaps[mp->memoryTypes[t].heapIndex].size;
    VkDeviceSize block = heap >= ((VkDeviceSize)8 << 30) ? 256 * MiB : 64 * MiB;
    if (block > maxalloc) block = maxalloc / GR_VK_ALIGN * GR_VK_ALIGN;
    pool_setup(d, &d->tensors, t, block);
    if (staging_forced()) d->tensors.host_visible = d->tensors.host_cached = 0;
    pool_setup(d, &d->staging, s, block < 32 * MiB ? block : 32 * MiB);
    d->tensors_mapped_cached = d->tensors.host_cached;
    return GR_OK;
}

static void block_release(gr_vk_device *d, gr_vk_pool *pool, gr_vk_block *b)
{
    if (b->buffer) d->fn.vkDestroyBuffer(d->device, b->buffer, NULL);
    if (b->memory) d->fn.vkFreeMemory(d->device, b->memory, NULL);
    pool->reserved -= b->size;
    if (pool == &d->tensors) d->base.bytes_reserved -= b->size;
    free(b->free);
    free(b);
}

static void pool_destroy(gr_vk_device *d, gr_vk_pool *pool)
{
    while (pool->blocks) {
        gr_vk_block *b = pool->blocks;
        pool->blocks = b->next;
        block_release(d, pool, b);
    }
}

void gr_vk_memory_destroy(gr_vk_device *d)
{
    pool_destroy(d, &d->tensors);
    pool_destroy(d, &d->staging);
}

static gr_status block_new(gr_vk_device *d, gr_vk_pool *pool, VkDeviceSize size, gr_vk_block **out)
{
    gr_vk_block *b = calloc(1, sizeof *b);
    if (!b) return gr_fail(GR_ENOMEM, "out of host memory");
    b->free = malloc(8 * sizeof *b->free);
    if (!b->free) { free(b); return gr_fail(GR_ENOMEM, "out of host memory"); }
    b->capfree = 8;
    VkMemoryAllocateFlagsInfo flags = {
        .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_FLAGS_INFO, .flags = VK_MEMORY_ALLOCATE_DEVICE_ADDRESS_BIT,
    };
    VkMemoryAllocateInfo mai = {
        .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO, .pNext = &flags,
        .allocationSize = size, .memoryTypeIndex = pool->type_index,
    };
    VkResult r = d->fn.vkAllocateMemory(d->device, &mai, NULL, &b->memory);
    if (r != VK_SUCCESS) {
        free(b->free); free(b);
        return r == VK_ERROR_OUT_OF_DEVICE_MEMORY || r == VK_ERROR_OUT_OF_HOST_MEMORY
            ? GR_ENOMEM : gr_fail(GR_EDEVICE, "vkAllocateMemory failed (%s)", gr_vk_result_str(r));
    }
    b->size = size;
    pool->reserved += size;
    if (pool == &d->tensors) d->base.bytes_reserved += size;
    VkBufferCreateInfo bci = {
        .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO, .size = size, .usage = buffer_usage,
        .sharingMode = VK_SHARING_MODE_EXCLUSIVE,
    };
    r = d->fn.vkCreateBuffer(d->device, &bci, NULL, &b->buffer);
    if (r == VK_SUCCESS) r = d->fn.vkBindBufferMemory(d->device, b->buffer, b->memory, 0);
    if (r == VK_SUCCESS && pool->host_visible)
        r = d->fn.vkMapMemory(d->device, b->memory, 0, VK_WHOLE_SIZE, 0, (void **)&b->map);
    if (r != VK_SUCCESS) {
        block_release(d, pool, b);
        return r == VK_ERROR_OUT_OF_DEVICE_MEMORY || r == VK_ERROR_OUT_OF_HOST_MEMORY
            ? GR_ENOMEM : gr_fail(GR_EDEVICE, "cannot set up a memory block (%s)", gr_vk_result_str(r));
    }
    VkBufferDeviceAddressInfo ai = { .sType = VK_STRUCTURE_TYPE_BUFFER_DEVICE_ADDRESS_INFO, .buffer = b->buffer };
    b->address = d->fn.vkGetBufferDeviceAddress(d->device, &ai);
    b->free[0] = (gr_vk_range){ .offset = 0, .size = size, .busy_until = 0 };
    b->nfree = 1;
    b->next = pool->blocks;
    pool->blocks = b;
    *out = b;
    return GR_OK;
}

/* Empty blocks of their own size (made for one big tensor) stay cached for
 * later big tensors up to this fraction of the heap, so that a loop that
 * allocates and frees big tensors reuses the same device memory. Beyond it
 * they are released once idle, and all empty blocks are released when an
 * allocation would otherwise fail. */
#define GR_VK_CACHE_FRACTION 8

static int block_empty(const gr_vk_block *b) { return b->live == 0 && b->nfree == 1; }

/* Releases the empty blocks whose last use has finished: every one, or with
 * `trim` only blocks of their own size beyond the cache. */
static void release_empty_blocks(gr_vk_device *d, gr_vk_pool *pool, int trim)
{
    VkDeviceSize cache = d->memprops.memoryHeaps[pool->heap_index].size / GR_VK_CACHE_FRACTION, cached = 0;
    gr_vk_block **link = &pool->blocks;
    while (*link) {
        gr_vk_block *b = *link;
        int idle = block_empty(b) && b->free[0].busy_until <= d->completed, release = idle;
        if (trim) {
            int keep = block_empty(b) && b->size > pool->block_size && cached + b->size <= cache;
            if (keep) cached += b->size;
            release = idle && b->size > pool->block_size && !keep;
        }
        if (release) {
            *link = b->next;
            block_release(d, pool, b);
        } else {
            link = &b->next;
        }
    }
}

void gr_vk_memory_reap(gr_vk_device *d)
{
    release_empty_blocks(d, &d->tensors, 1);
    release_empty_blocks(d, &d->staging, 1);
}

static VkDeviceSize free_bytes(gr_vk_device *d, gr_vk_pool *pool)
{
    VkDeviceSize inside = 0;
    for (gr_vk_block *b = pool->blocks; b; b = b->next)
        for (int i = 0; i < b->nfree; i++) inside += b->free[i].size;
    VkDeviceSize heap = d->memprops.memoryHeaps[pool->heap_index].size, outside = 0;
    gr_vk_instance_state *inst;
    if (d->has_memory_budget && gr_vk_instance(&inst) == GR_OK) {
        VkPhysicalDeviceMemoryBudgetPropertiesEXT budget = {
            .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_BUDGET_PROPERTIES_EXT,
        };
        VkPhysicalDeviceMemoryProperties2 mp = {
            .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_PROPERTIES_2, .pNext = &budget,
        };
        inst->fn.vkGetPhysicalDeviceMemoryProperties2(d->physical, &mp);
        VkDeviceSize b = budget.heapBudget[pool->heap_index], u = budget.heapUsage[pool->heap_index];
        outside = b > u ? b - u : 0;
    } else {
        VkDeviceSize reserved = d->tensors.reserved +
            (d->staging.heap_index == d->tensors.heap_index ? d->staging.reserved : 0);
        outside = heap > reserved ? heap - reserved : 0;
    }
    return inside + outside;
}

static gr_status out_of_memory(gr_vk_device *d, gr_vk_pool *pool, VkDeviceSize size)
{
    VkDeviceSize heap = d->memprops.memoryHeaps[pool->heap_index].size;
    return gr_fail(GR_ENOMEM, "out of memory on %s (%s): asked for %.1f MiB, %.1f MiB free of %.1f MiB",
                   d->base.name, d->props.deviceName, (double)size / MiB,
                   (double)free_bytes(d, pool) / MiB, (double)heap / MiB);
}

/* A block of its own size takes only tensors too big for a standard block
 * and at least half its size, so that small tensors do not split up a cached
 * big block. */
static int block_takes(const gr_vk_pool *pool, const gr_vk_block *b, VkDeviceSize want)
{
    return b->size <= pool->block_size || (want > pool->block_size && want >= b->size / 2);
}

/* Best fit over the free ranges of the blocks that take this size. */
static int find_range(gr_vk_pool *pool, VkDeviceSize size, gr_vk_block **block)
{
    int best = -1;
    VkDeviceSize best_size = 0;
    for (gr_vk_block *b = pool->blocks; b; b = b->next) {
        if (!block_takes(pool, b, size)) continue;
        for (int i = 0; i < b->nfree; i++)
            if (b->free[i].size >= size && (best < 0 || b->free[i].size < best_size)) {
                best = i; best_size = b->free[i].size; *block = b;
                if (best_size == size) return best;
            }
    }
    return best;
}

/* Finds room for `want` bytes in a new block, or after giving back what
 * finished work no longer needs. */
static gr_status grow(gr_vk_device *d, gr_vk_pool *pool, VkDeviceSize size, VkDeviceSize want,
                      gr_vk_block **b, int *i)
{
    VkDeviceSize bsize = want > pool->block_size ? round_up(want, MiB) : pool->block_size;
    if (bsize > d->max_allocation) bsize = want;
    gr_status s = block_new(d, pool, bsize, b);
    if (s == GR_ENOMEM) {
        GR_TRY(gr_vk_wait_all(d));
        release_empty_blocks(d, &d->tensors, 0);
        release_empty_blocks(d, &d->staging, 0);
        *i = find_range(pool, want, b);
        if (*i >= 0) return GR_OK;
        s = block_new(d, pool, bsize, b);
        if (s == GR_ENOMEM && bsize > want) s = block_new(d, pool, want, b);
    }
    if (s == GR_ENOMEM) return out_of_memory(d, pool, size);
    *i = 0;
    return s;
}

gr_status gr_vk_pool_alloc(gr_vk_device *d, gr_vk_pool *pool, VkDeviceSize size, gr_vk_alloc *out)
{
    VkDeviceSize want = round_up(size ? size : 1, GR_VK_ALIGN);
    VkDeviceSize heap = d->memprops.memoryHeaps[pool->heap_index].size;
    VkDeviceSize maxalloc = d->max_allocation;
    if (want < size || want > heap || want > maxalloc) {
        if (want > maxalloc && want <= heap)
            return gr_fail(GR_ENOMEM, "out of memory on %s (%s): asked for %.1f MiB in one piece, "
                           "more than the device's largest allocation (%.1f MiB)", d->base.name,
                           d->props.deviceName, (double)size / MiB, (double)maxalloc / MiB);
        return out_of_memory(d, pool, size);
    }
    gr_vk_block *b = NULL;
    int i = find_range(pool, want, &b);
    if (i < 0) GR_TRY(grow(d, pool, size, want, &b, &i));
    gr_vk_range *r = &b->free[i];
    out->pool = pool;
    out->block = b;
    out->offset = r->offset;
    out->size = want;
    out->last_use = out->last_write = r->busy_until;
    r->offset += want;
    r->size -= want;
    if (r->size == 0) {
        memmove(r, r + 1, (size_t)(b->nfree - i - 1) * sizeof *r);
        b->nfree--;
    }
    b->live++;
    return GR_OK;
}

void gr_vk_pool_free(gr_vk_device *d, gr_vk_alloc *a)
{
    gr_vk_block *b = a->block;
    if (!b) return;
    int i = 0;
    while (i < b->nfree && b->free[i].offset < a->offset) i++;
    gr_vk_range nr = { .offset = a->offset, .size = a->size, .busy_until = a->last_use };
    int merge_prev = i > 0 && b->free[i - 1].offset + b->free[i - 1].size == nr.offset;
    int merge_next = i < b->nfree && nr.offset + nr.size == b->free[i].offset;
    if (merge_prev) {
        gr_vk_range *p = &b->free[i - 1];
        p->size += nr.size;
        if (nr.busy_until > p->busy_until) p->busy_until = nr.busy_until;
        if (merge_next) {
            p->size += b->free[i].size;
            if (b->free[i].busy_until > p->busy_until) p->busy_until = b->free[i].busy_until;
            memmove(&b->free[i], &b->free[i + 1], (size_t)(b->nfree - i - 1) * sizeof nr);
            b->nfree--;
        }
    } else if (merge_next) {
        gr_vk_range *n = &b->free[i];
        n->offset = nr.offset;
        n->size += nr.size;
        if (nr.busy_until > n->busy_until) n->busy_until = nr.busy_until;
    } else {
        if (b->nfree == b->capfree) {
            gr_vk_range *grown = realloc(b->free, (size_t)b->capfree * 2 * sizeof nr);
            if (!grown) {
                /* Without room to record the range it stays unused until the
                 * block is released; nothing else is affected. */
                b->live--;
                a->block = NULL;
                return;
            }
            b->free = grown;
            b->capfree *= 2;
        }
        memmove(&b->free[i + 1], &b->free[i], (size_t)(b->nfree - i) * sizeof nr);
        b->free[i] = nr;
        b->nfree++;
    }
    b->live--;
    a->block = NULL;
    if (b->live == 0 && b->size > a->pool->block_size) gr_vk_memory_reap(d);
}

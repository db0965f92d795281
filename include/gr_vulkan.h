/* The Vulkan backend's entry points used by the device registry. */
#ifndef GR_VULKAN_H
#define GR_VULKAN_H

#include <stdint.h>
#include "gr_device.h"

typedef struct gr_vk_device_info {
    char name[256];
    char type[16];          /* "discrete", "integrated", "virtual", "cpu", "other" */
    size_t memory_bytes;    /* largest device-local heap */
    unsigned subgroup_size;
    int float64;            /* shaderFloat64: double arithmetic in shaders */
    int keeps_inf_nan;      /* kernels run with NaN, infinities and signed zeros preserved */
    int keeps_denormals;    /* kernels run with float32 subnormals preserved */
} gr_vk_device_info;

/* Number of Vulkan physical devices; 0 (not an error) without a loader or device. */
int gr_vk_device_count(void);
gr_status gr_vk_device_info_get(int index, gr_vk_device_info *info);
/* Opens (or returns the already open) vulkan:index, retained. */
gr_status gr_vk_device_open(int index, gr_device **out);
/* Index of the preferred real GPU (discrete, then integrated), or -1 if none. */
int gr_vk_preferred_index(void);

/* The command stream's counters of an open Vulkan device: batches submitted,
 * fence waits of the host and compute dispatches recorded, since the device
 * was opened. */
gr_status gr_vk_stream_stats(gr_device *dev, uint64_t *submits, uint64_t *waits, uint64_t *dispatches);

/* Warnings and errors reported by the validation layer so far (GRILLY_VALIDATION=1). */
unsigned long gr_vk_validation_messages(void);

#endif

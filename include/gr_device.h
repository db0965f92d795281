/* Devices: the CPU and Vulkan devices, named "cpu", "vulkan", "vulkan:N"
 * ("gpu" is another name for the default Vulkan device). */
#ifndef GR_DEVICE_H
#define GR_DEVICE_H

#include <stddef.h>
#include "gr_status.h"

typedef enum gr_device_kind { GR_DEVICE_CPU = 0, GR_DEVICE_VULKAN = 1 } gr_device_kind;

typedef struct gr_backend gr_backend;

typedef struct gr_device {
    gr_device_kind kind;
    int index;                  /* N of vulkan:N; 0 for the CPU */
    char name[24];              /* canonical name: "cpu" or "vulkan:N" */
    int refcount;               /* every storage on the device holds one */
    const gr_backend *backend;  /* the kernels that run on this device */
    void *impl;                 /* backend-private state */
    size_t bytes_in_use;        /* device bytes held by live storages */
    size_t bytes_reserved;      /* device memory the backend holds (Vulkan: every block) */
    int timing;                 /* between gr_device_timer_start and _stop */
} gr_device;

/* The CPU device; static, never freed. */
gr_device *gr_device_cpu(void);

/* Looks a device up by name and returns it retained (release it when done).
 * Unknown names and missing Vulkan devices fail with a message saying why. */
gr_status gr_device_get(const char *name, gr_device **out);

/* The device new tensors go to when none is named. It starts as
 * GRILLY_DEVICE if set, else a real (discrete or integrated) GPU if one
 * exists, else the CPU. */
gr_status gr_device_default(gr_device **out);
gr_status gr_device_set_default(const char *name);

void gr_device_retain(gr_device *dev);
void gr_device_release(gr_device *dev);

/* Device memory held for storages: the bytes in use plus free space kept for
 * reuse (the CPU keeps none). */
size_t gr_device_bytes_reserved(const gr_device *dev);

/* Waits until every command submitted to the device has finished. */
gr_status gr_device_synchronize(gr_device *dev);

/* Device timing: stop gives the seconds the device spent on the work recorded
 * since start, measured by the device itself (GPU timestamps on Vulkan; on the
 * CPU, whose ops finish before they return, the wall time). Stop waits for
 * that work. One timing per device at a time: starting a second before the
 * first stops is an error, as is stopping none. */
gr_status gr_device_timer_start(gr_device *dev);
gr_status gr_device_timer_stop(gr_device *dev, double *seconds);

#endif

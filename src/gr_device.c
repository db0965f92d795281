/* The device registry: name parsing, the default device, reference counts. */
#include "gr_device.h"
#include "gr_backend.h"
#include "gr_vulkan.h"

#include <stdlib.h>
#include <string.h>
#include <errno.h>

static gr_device cpu_device = {
    .kind = GR_DEVICE_CPU, .index = 0, .name = "cpu", .refcount = 1,
    .backend = &gr_cpu_backend, .impl = NULL, .bytes_in_use = 0,
};

static gr_device *default_device; /* retained; NULL until first asked for */

gr_device *gr_device_cpu(void) { return &cpu_device; }

void gr_device_retain(gr_device *dev)
{
    if (dev && dev != &cpu_device) dev->refcount++;
}

void gr_device_release(gr_device *dev)
{
    if (!dev || dev == &cpu_device) return;
    /* Vulkan devices stay open for the life of the process once opened; the
     * registry in gr_vk_device.c owns the last reference. */
    if (dev->refcount > 1) dev->refcount--;
}

static gr_status parse_vulkan_index(const char *s, int *index)
{
    char *end;
    errno = 0;
    long n = strtol(s, &end, 10);
    if (errno || *end || end == s || n < 0 || n > 63)
        return gr_fail(GR_EINVAL, "bad device index '%s' (expected vulkan:N with N >= 0)", s);
    *index = (int)n;
    return GR_OK;
}

gr_status gr_device_get(const char *name, gr_device **out)
{
    if (!name) return gr_fail(GR_EINVAL, "device name expected");
    if (strcmp(name, "cpu") == 0) { *out = &cpu_device; return GR_OK; }
    int index = 0;
    if (strcmp(name, "vulkan") == 0 || strcmp(name, "gpu") == 0) {
        index = gr_vk_preferred_index();
        if (index < 0) {
            if (gr_vk_device_count() == 0)
                return gr_fail(GR_EDEVICE, "no Vulkan device found for '%s' (install a Vulkan driver, "
                               "e.g. mesa-vulkan-drivers, or use the 'cpu' device)", name);
            /* Only CPU-type Vulkan devices (lavapipe): the name asks for Vulkan, so honour it. */
            index = 0;
        }
    } else if (strncmp(name, "vulkan:", 7) == 0) {
        GR_TRY(parse_vulkan_index(name + 7, &index));
        int count = gr_vk_device_count();
        if (index >= count)
            return gr_fail(GR_EDEVICE, "no Vulkan device '%s' (%d Vulkan device%s found)",
                           name, count, count == 1 ? "" : "s");
    } else {
        return gr_fail(GR_EINVAL, "unknown device '%s' (expected 'cpu', 'gpu', 'vulkan' or 'vulkan:N')", name);
    }
    return gr_vk_device_open(index, out);
}

gr_status gr_device_default(gr_device **out)
{
    if (!default_device) {
        const char *env = getenv("GRILLY_DEVICE");
        if (env && *env) {
            gr_device *dev;
            gr_status s = gr_device_get(env, &dev);
            if (s != GR_OK)
                return gr_fail(s, "GRILLY_DEVICE=%s: %s", env, gr_last_error());
            default_device = dev;
        } else if (gr_vk_preferred_index() >= 0 &&
                   gr_vk_device_open(gr_vk_preferred_index(), &default_device) == GR_OK) {
            /* a real GPU */
        } else {
            default_device = &cpu_device;
        }
    }
    *out = default_device;
    return GR_OK;
}

gr_status gr_device_set_default(const char *name)
{
    gr_device *dev;
    GR_TRY(gr_device_get(name, &dev));
    gr_device_release(default_device);
    default_device = dev;
    return GR_OK;
}

size_t gr_device_bytes_reserved(const gr_device *dev)
{
    return dev->kind == GR_DEVICE_CPU ? dev->bytes_in_use : dev->bytes_reserved;
}

gr_status gr_device_synchronize(gr_device *dev)
{
    return dev->backend->synchronize(dev);
}

gr_status gr_device_timer_start(gr_device *dev)
{
    if (dev->timing)
        return gr_fail(GR_EINVAL, "%s is being timed already (timings of one device do not nest)", dev->name);
    GR_TRY(dev->backend->timer_start(dev));
    dev->timing = 1;
    return GR_OK;
}

gr_status gr_device_timer_stop(gr_device *dev, double *seconds)
{
    if (!dev->timing) return gr_fail(GR_EINVAL, "%s is not being timed", dev->name);
    dev->timing = 0;
    return dev->backend->timer_stop(dev, seconds);
}

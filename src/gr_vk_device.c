/* Placeholder until the Vulkan backend lands: reports no Vulkan devices. */
#include "gr_vulkan.h"

int gr_vk_device_count(void) { return 0; }
int gr_vk_preferred_index(void) { return -1; }

gr_status gr_vk_device_info_get(int index, gr_vk_device_info *info)
{
    (void)info;
    return gr_fail(GR_EDEVICE, "no Vulkan device %d", index);
}

gr_status gr_vk_device_open(int index, gr_device **out)
{
    (void)out;
    return gr_fail(GR_EDEVICE, "no Vulkan device vulkan:%d (this build has no Vulkan backend)", index);
}

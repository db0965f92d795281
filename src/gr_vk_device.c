/* Vulkan devices: enumeration, feature detection, opening and teardown. */
#include "gr_vk_ops.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GR_VK_MAX_DEVICES 64

static gr_vk_device *open_devices[GR_VK_MAX_DEVICES];
static int teardown_registered;

static void teardown(void);

/* The instance. Once it has been asked for, the teardown runs at exit, also
 * when no device was ever opened (choosing the default device creates it). */
static gr_status instance(gr_vk_instance_state **out)
{
    gr_status s = gr_vk_instance(out);
    if (!teardown_registered) {
        atexit(teardown);
        teardown_registered = 1;
    }
    return s;
}

int gr_vk_device_count(void)
{
    gr_vk_instance_state *inst;
    if (instance(&inst) != GR_OK) return 0;
    return inst->count < GR_VK_MAX_DEVICES ? inst->count : GR_VK_MAX_DEVICES;
}

static const char *type_name(VkPhysicalDeviceType t)
{
    switch (t) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return "discrete";
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return "integrated";
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return "virtual";
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return "cpu";
    default: return "other";
    }
}

static gr_status physical_device(int index, gr_vk_instance_state **inst, VkPhysicalDevice *out)
{
    GR_TRY(instance(inst));
    if (index < 0 || index >= gr_vk_device_count())
        return gr_fail(GR_EDEVICE, "no Vulkan device vulkan:%d (%d Vulkan device%s found)",
                       index, gr_vk_device_count(), gr_vk_device_count() == 1 ? "" : "s");
    *out = (*inst)->physical[index];
    return GR_OK;
}

void gr_vk_float_modes_get(const gr_vk_instance_state *inst, VkPhysicalDevice pd, gr_vk_float_modes *m)
{
    VkPhysicalDeviceFloatControlsProperties fc = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FLOAT_CONTROLS_PROPERTIES };
    VkPhysicalDeviceProperties2 props = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, .pNext = &fc };
    inst->fn.vkGetPhysicalDeviceProperties2(pd, &props);
    m->inf_nan = fc.shaderSignedZeroInfNanPreserveFloat32 == VK_TRUE;
    m->inf_nan64 = fc.shaderSignedZeroInfNanPreserveFloat64 == VK_TRUE;
    /* The kernels set the modes for float32 alone, which a device whose
     * float widths all share one mode cannot take. */
    m->denormals = fc.shaderDenormPreserveFloat32 == VK_TRUE &&
                   fc.denormBehaviorIndependence != VK_SHADER_FLOAT_CONTROLS_INDEPENDENCE_NONE;
    m->round_even = fc.shaderRoundingModeRTEFloat32 == VK_TRUE &&
                    fc.roundingModeIndependence != VK_SHADER_FLOAT_CONTROLS_INDEPENDENCE_NONE;
}

gr_status gr_vk_device_info_get(int index, gr_vk_device_info *info)
{
    gr_vk_instance_state *inst;
    VkPhysicalDevice pd = VK_NULL_HANDLE;
    GR_TRY(physical_device(index, &inst, &pd));
    VkPhysicalDeviceSubgroupProperties sub = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES };
    VkPhysicalDeviceProperties2 props = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, .pNext = &sub };
    inst->fn.vkGetPhysicalDeviceProperties2(pd, &props);
    VkPhysicalDeviceFeatures2 feats = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2 };
    inst->fn.vkGetPhysicalDeviceFeatures2(pd, &feats);
    VkPhysicalDeviceMemoryProperties mem;
    inst->fn.vkGetPhysicalDeviceMemoryProperties(pd, &mem);

    memset(info, 0, sizeof *info);
    snprintf(info->name, sizeof info->name, "%s", props.properties.deviceName);
    snprintf(info->type, sizeof info->type, "%s", type_name(props.properties.deviceType));
    for (uint32_t i = 0; i < mem.memoryHeapCount; i++)
        if ((mem.memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) && mem.memoryHeaps[i].size > info->memory_bytes)
            info->memory_bytes = (size_t)mem.memoryHeaps[i].size;
    info->subgroup_size = sub.subgroupSize;
    info->float64 = feats.features.shaderFloat64 == VK_TRUE;
    gr_vk_float_modes modes;
    gr_vk_float_modes_get(inst, pd, &modes);
    info->keeps_inf_nan = modes.inf_nan;
    info->keeps_denormals = modes.denormals;
    return GR_OK;
}

int gr_vk_preferred_index(void)
{
    int n = gr_vk_device_count(), integrated = -1;
    for (int i = 0; i < n; i++) {
        gr_vk_device_info info;
        if (gr_vk_device_info_get(i, &info) != GR_OK) continue;
        if (strcmp(info.type, "discrete") == 0) return i;
        if (integrated < 0 && strcmp(info.type, "integrated") == 0) integrated = i;
    }
    return integrated;
}

static int has_device_extension(gr_vk_instance_state *inst, VkPhysicalDevice pd, const char *name)
{
    uint32_t n = 0;
    if (inst->fn.vkEnumerateDeviceExtensionProperties(pd, NULL, &n, NULL) != VK_SUCCESS || n == 0) return 0;
    VkExtensionProperties *props = calloc(n, sizeof *props);
    if (!props) return 0;
    int found = 0;
    if (inst->fn.vkEnumerateDeviceExtensionProperties(pd, NULL, &n, props) == VK_SUCCESS)
        for (uint32_t i = 0; i < n && !found; i++) found = strcmp(props[i].extensionName, name) == 0;
    free(props);
    return found;
}

/* A queue family with compute, or -1; one without graphics is preferred, as
 * it is the GPU's dedicated compute engine where there is one. The valid bits
 * of its timestamps go to *timestamp_bits. */
static int compute_family(gr_vk_instance_state *inst, VkPhysicalDevice pd, uint32_t *timestamp_bits)
{
    uint32_t n = 0;
    inst->fn.vkGetPhysicalDeviceQueueFamilyProperties(pd, &n, NULL);
    VkQueueFamilyProperties *fams = calloc(n ? n : 1, sizeof *fams);
    if (!fams) return -1;
    inst->fn.vkGetPhysicalDeviceQueueFamilyProperties(pd, &n, fams);
    int any = -1, dedicated = -1;
    for (uint32_t i = 0; i < n; i++) {
        if (!(fams[i].queueFlags & VK_QUEUE_COMPUTE_BIT) || fams[i].queueCount == 0) continue;
        if (any < 0) any = (int)i;
        if (dedicated < 0 && !(fams[i].queueFlags & VK_QUEUE_GRAPHICS_BIT)) dedicated = (int)i;
    }
    int family = dedicated >= 0 ? dedicated : any;
    if (family >= 0) *timestamp_bits = fams[family].timestampValidBits;
    free(fams);
    return family;
}

static void device_destroy(gr_vk_device *d)
{
    /* The last entry point loaded: the table is complete. */
    if (d->device && d->fn.vkCmdFillBuffer) {
        d->fn.vkDeviceWaitIdle(d->device);
        gr_vk_timer_destroy(d);
        gr_vk_stream_destroy(d);
        gr_vk_pipelines_destroy(d);
        gr_vk_memory_destroy(d);
    }
    if (d->device && d->fn.vkDestroyDevice) d->fn.vkDestroyDevice(d->device, NULL);
    free(d);
}

/* At exit (or when the module is unloaded), after Lua has released its
 * tensors: devices before the instance, so that validation sees no leaks. */
static void teardown(void)
{
    for (int i = 0; i < GR_VK_MAX_DEVICES; i++) {
        if (!open_devices[i]) continue;
        device_destroy(open_devices[i]);
        open_devices[i] = NULL;
    }
    gr_vk_instance_destroy();
}

static gr_status create_device(gr_vk_instance_state *inst, VkPhysicalDevice pd, gr_vk_device *d)
{
    d->physical = pd;
    inst->fn.vkGetPhysicalDeviceProperties(pd, &d->props);
    inst->fn.vkGetPhysicalDeviceMemoryProperties(pd, &d->memprops);
    if (d->props.apiVersion < VK_API_VERSION_1_2)
        return gr_fail(GR_EDEVICE, "%s supports Vulkan %u.%u only (grilly needs 1.2 or newer)",
                       d->props.deviceName, VK_API_VERSION_MAJOR(d->props.apiVersion),
                       VK_API_VERSION_MINOR(d->props.apiVersion));

    /* The kernels run workgroups of 256 threads; Vulkan promises only 128. */
    const VkPhysicalDeviceLimits *lim = &d->props.limits;
    if (lim->maxComputeWorkGroupInvocations < GR_VK_WG || lim->maxComputeWorkGroupSize[0] < GR_VK_WG)
        return gr_fail(GR_EDEVICE, "%s runs at most %u threads per workgroup (grilly's kernels need %u)",
                       d->props.deviceName, lim->maxComputeWorkGroupInvocations, GR_VK_WG);

    VkPhysicalDeviceVulkan12Features f12 = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES };
    VkPhysicalDeviceFeatures2 feats = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, .pNext = &f12 };
    inst->fn.vkGetPhysicalDeviceFeatures2(pd, &feats);
    if (!f12.bufferDeviceAddress)
        return gr_fail(GR_EDEVICE, "%s lacks bufferDeviceAddress, which grilly's kernels need", d->props.deviceName);
    d->has_float64 = feats.features.shaderFloat64 == VK_TRUE;
    d->has_int64 = feats.features.shaderInt64 == VK_TRUE;

    gr_vk_float_modes_get(inst, pd, &d->float_modes);

    int family = compute_family(inst, pd, &d->timestamp_bits);
    if (family < 0) return gr_fail(GR_EDEVICE, "%s has no compute queue", d->props.deviceName);
    d->queue_family = (uint32_t)family;

    const char *exts[1];
    uint32_t nexts = 0;
    if (has_device_extension(inst, pd, VK_EXT_MEMORY_BUDGET_EXTENSION_NAME)) {
        exts[nexts++] = VK_EXT_MEMORY_BUDGET_EXTENSION_NAME;
        d->has_memory_budget = 1;
    }

    float priority = 1.0f;
    VkDeviceQueueCreateInfo qci = {
        .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
        .queueFamilyIndex = d->queue_family, .queueCount = 1, .pQueuePriorities = &priority,
    };
    VkPhysicalDeviceVulkan12Features want12 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES, .bufferDeviceAddress = VK_TRUE,
    };
    VkPhysicalDeviceFeatures2 want = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, .pNext = &want12 };
    want.features.shaderFloat64 = d->has_float64 ? VK_TRUE : VK_FALSE;
    want.features.shaderInt64 = d->has_int64 ? VK_TRUE : VK_FALSE;
    VkDeviceCreateInfo dci = {
        .sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO, .pNext = &want,
        .queueCreateInfoCount = 1, .pQueueCreateInfos = &qci,
        .enabledExtensionCount = nexts, .ppEnabledExtensionNames = exts,
    };
    VkResult r = inst->fn.vkCreateDevice(pd, &dci, NULL, &d->device);
    if (r != VK_SUCCESS)
        return gr_fail(GR_EDEVICE, "vkCreateDevice failed for %s (%s)", d->props.deviceName, gr_vk_result_str(r));

#define GR_VK_LOAD(name) \
    d->fn.name = (PFN_##name)inst->fn.vkGetDeviceProcAddr(d->device, #name); \
    if (!d->fn.name) return gr_fail(GR_EDEVICE, "the Vulkan driver lacks " #name);
    GR_VK_DEVICE_FUNCS(GR_VK_LOAD)
#undef GR_VK_LOAD
    d->fn.vkGetDeviceQueue(d->device, d->queue_family, 0, &d->queue);

    GR_TRY(gr_vk_memory_init(d));
    GR_TRY(gr_vk_pipeline_layout_create(d));
    GR_TRY(gr_vk_stream_init(d));
    return GR_OK;
}

gr_status gr_vk_device_open(int index, gr_device **out)
{
    gr_vk_instance_state *inst;
    VkPhysicalDevice pd = VK_NULL_HANDLE;
    GR_TRY(physical_device(index, &inst, &pd));
    if (!open_devices[index]) {
        gr_vk_device *d = calloc(1, sizeof *d);
        if (!d) return gr_fail(GR_ENOMEM, "out of host memory");
        d->base.kind = GR_DEVICE_VULKAN;
        d->base.index = index;
        snprintf(d->base.name, sizeof d->base.name, "vulkan:%d", index);
        d->base.refcount = 1;
        d->base.backend = &gr_vk_backend;
        d->base.impl = d;
        gr_status s = create_device(inst, pd, d);
        if (s != GR_OK) {
            char msg[512];
            snprintf(msg, sizeof msg, "%s", gr_last_error());
            device_destroy(d);
            return gr_fail(s, "cannot open vulkan:%d: %s", index, msg);
        }
        open_devices[index] = d;
    }
    gr_device_retain(&open_devices[index]->base);
    *out = &open_devices[index]->base;
    return GR_OK;
}

/* The Vulkan loader, opened at run time, and the process-wide instance.
 * GRILLY_VALIDATION=1 turns on the Khronos validation layer (with
 * synchronization validation) and counts every message it reports. */
#include "gr_vk.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static gr_vk_instance_state state;
static int tried;                   /* instance creation attempted */
static gr_status outcome;
static char failure[512];           /* why there is no instance */
static void *loader;
static VkDebugUtilsMessengerEXT messenger;
static unsigned long validation_count;

unsigned long gr_vk_validation_messages(void) { return validation_count; }

static VKAPI_ATTR VkBool32 VKAPI_CALL on_validation_message(
    VkDebugUtilsMessageSeverityFlagBitsEXT severity, VkDebugUtilsMessageTypeFlagsEXT types,
    const VkDebugUtilsMessengerCallbackDataEXT *data, void *user)
{
    (void)types; (void)user;
    if (!(severity & (VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT |
                      VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT)))
        return VK_FALSE;
    validation_count++;
    fprintf(stderr, "grilly: vulkan validation: %s\n", data && data->pMessage ? data->pMessage : "(no message)");
    return VK_FALSE;
}

static int validation_wanted(void)
{
    const char *v = getenv("GRILLY_VALIDATION");
    return v && *v && strcmp(v, "0") != 0;
}

static int has_layer(PFN_vkEnumerateInstanceLayerProperties enumerate, const char *name)
{
    uint32_t n = 0;
    if (enumerate(&n, NULL) != VK_SUCCESS || n == 0) return 0;
    VkLayerProperties *props = calloc(n, sizeof *props);
    if (!props) return 0;
    int found = 0;
    if (enumerate(&n, props) == VK_SUCCESS)
        for (uint32_t i = 0; i < n && !found; i++) found = strcmp(props[i].layerName, name) == 0;
    free(props);
    return found;
}

static int has_instance_extension(PFN_vkEnumerateInstanceExtensionProperties enumerate,
                                  const char *layer, const char *name)
{
    uint32_t n = 0;
    if (enumerate(layer, &n, NULL) != VK_SUCCESS || n == 0) return 0;
    VkExtensionProperties *props = calloc(n, sizeof *props);
    if (!props) return 0;
    int found = 0;
    if (enumerate(layer, &n, props) == VK_SUCCESS)
        for (uint32_t i = 0; i < n && !found; i++) found = strcmp(props[i].extensionName, name) == 0;
    free(props);
    return found;
}

static gr_status create_instance(void)
{
    loader = dlopen("libvulkan.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!loader)
        return gr_fail(GR_EDEVICE, "no Vulkan loader (libvulkan.so.1 could not be opened; install "
                       "libvulkan1 and a driver such as mesa-vulkan-drivers, or use the 'cpu' device)");
    PFN_vkGetInstanceProcAddr gipa = (PFN_vkGetInstanceProcAddr)dlsym(loader, "vkGetInstanceProcAddr");
    if (!gipa) return gr_fail(GR_EDEVICE, "the Vulkan loader lacks vkGetInstanceProcAddr");
    PFN_vkCreateInstance create = (PFN_vkCreateInstance)gipa(NULL, "vkCreateInstance");
    PFN_vkEnumerateInstanceVersion version = (PFN_vkEnumerateInstanceVersion)gipa(NULL, "vkEnumerateInstanceVersion");
    PFN_vkEnumerateInstanceLayerProperties layers =
        (PFN_vkEnumerateInstanceLayerProperties)gipa(NULL, "vkEnumerateInstanceLayerProperties");
    PFN_vkEnumerateInstanceExtensionProperties exts =
        (PFN_vkEnumerateInstanceExtensionProperties)gipa(NULL, "vkEnumerateInstanceExtensionProperties");
    uint32_t api = VK_API_VERSION_1_0;
    if (!create || !layers || !exts || !version || version(&api) != VK_SUCCESS || api < VK_API_VERSION_1_2)
        return gr_fail(GR_EDEVICE, "the Vulkan loader is older than Vulkan 1.2 (grilly needs 1.2 or newer)");

    const char *layer_names[1], *ext_names[2];
    uint32_t nlayers = 0, nexts = 0;
    int validate = 0, sync_validation = 0;
    if (validation_wanted()) {
        if (has_layer(layers, "VK_LAYER_KHRONOS_validation")) {
            layer_names[nlayers++] = "VK_LAYER_KHRONOS_validation";
            validate = 1;
            if (has_instance_extension(exts, NULL, VK_EXT_DEBUG_UTILS_EXTENSION_NAME) ||
                has_instance_extension(exts, "VK_LAYER_KHRONOS_validation", VK_EXT_DEBUG_UTILS_EXTENSION_NAME))
                ext_names[nexts++] = VK_EXT_DEBUG_UTILS_EXTENSION_NAME;
            if (has_instance_extension(exts, "VK_LAYER_KHRONOS_validation", VK_EXT_VALIDATION_FEATURES_EXTENSION_NAME)) {
                ext_names[nexts++] = VK_EXT_VALIDATION_FEATURES_EXTENSION_NAME;
                sync_validation = 1;
            }
        } else {
            fprintf(stderr, "grilly: GRILLY_VALIDATION is set but VK_LAYER_KHRONOS_validation is not "
                    "installed (install vulkan-validationlayers); running without validation\n");
        }
    }

    VkApplicationInfo app = {
        .sType = VK_STRUCTURE_TYPE_APPLICATION_INFO, .pApplicationName = "grilly",
        .pEngineName = "grilly", .apiVersion = VK_API_VERSION_1_2,
    };
    VkValidationFeatureEnableEXT enables[] = { VK_VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION_VALIDATION_EXT };
    VkValidationFeaturesEXT features = {
        .sType = VK_STRUCTURE_TYPE_VALIDATION_FEATURES_EXT,
        .enabledValidationFeatureCount = 1, .pEnabledValidationFeatures = enables,
    };
    VkDebugUtilsMessengerCreateInfoEXT mci = {
        .sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT,
        .pNext = sync_validation ? &features : NULL,
        .messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT |
                           VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT,
        .messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT |
                       VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                       VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT,
        .pfnUserCallback = on_validation_message,
    };
    int messages = validate && nexts > 0 && strcmp(ext_names[0], VK_EXT_DEBUG_UTILS_EXTENSION_NAME) == 0;
    VkInstanceCreateInfo ici = {
        .sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
        /* The messenger in pNext also reports problems in instance creation itself. */
        .pNext = messages ? (const void *)&mci : (sync_validation ? (const void *)&features : NULL),
        .pApplicationInfo = &app,
        .enabledLayerCount = nlayers, .ppEnabledLayerNames = layer_names,
        .enabledExtensionCount = nexts, .ppEnabledExtensionNames = ext_names,
    };
    VkResult r = create(&ici, NULL, &state.instance);
    if (r != VK_SUCCESS)
        return gr_fail(GR_EDEVICE, "vkCreateInstance failed (%s)", gr_vk_result_str(r));

#define GR_VK_LOAD(name) \
    state.fn.name = (PFN_##name)gipa(state.instance, #name); \
    if (!state.fn.name) return gr_fail(GR_EDEVICE, "the Vulkan loader lacks " #name);
    GR_VK_INSTANCE_FUNCS(GR_VK_LOAD)
#undef GR_VK_LOAD
    if (messages) {
        state.fn.vkCreateDebugUtilsMessengerEXT =
            (PFN_vkCreateDebugUtilsMessengerEXT)gipa(state.instance, "vkCreateDebugUtilsMessengerEXT");
        state.fn.vkDestroyDebugUtilsMessengerEXT =
            (PFN_vkDestroyDebugUtilsMessengerEXT)gipa(state.instance, "vkDestroyDebugUtilsMessengerEXT");
        if (state.fn.vkCreateDebugUtilsMessengerEXT) {
            mci.pNext = NULL;
            state.fn.vkCreateDebugUtilsMessengerEXT(state.instance, &mci, NULL, &messenger);
        }
    }

    uint32_t n = 0;
    r = state.fn.vkEnumeratePhysicalDevices(state.instance, &n, NULL);
    if (r != VK_SUCCESS && r != VK_INCOMPLETE)
        return gr_fail(GR_EDEVICE, "vkEnumeratePhysicalDevices failed (%s)", gr_vk_result_str(r));
    if (n) {
        state.physical = calloc(n, sizeof *state.physical);
        if (!state.physical) return gr_fail(GR_ENOMEM, "out of host memory");
        r = state.fn.vkEnumeratePhysicalDevices(state.instance, &n, state.physical);
        if (r != VK_SUCCESS && r != VK_INCOMPLETE)
            return gr_fail(GR_EDEVICE, "vkEnumeratePhysicalDevices failed (%s)", gr_vk_result_str(r));
    }
    state.count = (int)n;
    return GR_OK;
}

gr_status gr_vk_instance(gr_vk_instance_state **out)
{
    if (!tried) {
        tried = 1;
        outcome = create_instance();
        if (outcome != GR_OK) {
            snprintf(failure, sizeof failure, "%s", gr_last_error());
            state.count = 0;
        }
    }
    if (outcome != GR_OK) return gr_fail(outcome, "%s", failure);
    *out = &state;
    return GR_OK;
}

/* Destroys the instance after the devices (gr_vk_device.c calls it last). */
void gr_vk_instance_destroy(void)
{
    if (!state.instance) return;
    if (messenger && state.fn.vkDestroyDebugUtilsMessengerEXT)
        state.fn.vkDestroyDebugUtilsMessengerEXT(state.instance, messenger, NULL);
    messenger = VK_NULL_HANDLE;
    state.fn.vkDestroyInstance(state.instance, NULL);
    state.instance = VK_NULL_HANDLE;
    free(state.physical);
    state.physical = NULL;
    state.count = 0;
}

const char *gr_vk_result_str(VkResult r)
{
    switch (r) {
    case VK_SUCCESS: return "VK_SUCCESS";
    case VK_NOT_READY: return "VK_NOT_READY";
    case VK_TIMEOUT: return "VK_TIMEOUT";
    case VK_INCOMPLETE: return "VK_INCOMPLETE";
    case VK_ERROR_OUT_OF_HOST_MEMORY: return "VK_ERROR_OUT_OF_HOST_MEMORY";
    case VK_ERROR_OUT_OF_DEVICE_MEMORY: return "VK_ERROR_OUT_OF_DEVICE_MEMORY";
    case VK_ERROR_INITIALIZATION_FAILED: return "VK_ERROR_INITIALIZATION_FAILED";
    case VK_ERROR_DEVICE_LOST: return "VK_ERROR_DEVICE_LOST";
    case VK_ERROR_MEMORY_MAP_FAILED: return "VK_ERROR_MEMORY_MAP_FAILED";
    case VK_ERROR_LAYER_NOT_PRESENT: return "VK_ERROR_LAYER_NOT_PRESENT";
    case VK_ERROR_EXTENSION_NOT_PRESENT: return "VK_ERROR_EXTENSION_NOT_PRESENT";
    case VK_ERROR_FEATURE_NOT_PRESENT: return "VK_ERROR_FEATURE_NOT_PRESENT";
    case VK_ERROR_INCOMPATIBLE_DRIVER: return "VK_ERROR_INCOMPATIBLE_DRIVER";
    case VK_ERROR_TOO_MANY_OBJECTS: return "VK_ERROR_TOO_MANY_OBJECTS";
    default: return "VkResult error";
    }
}

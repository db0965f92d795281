/* Compute pipelines, created on first use from the embedded SPIR-V and
 * cached per device by (kernel, specialization constants). Every kernel uses
 * one pipeline layout: 128 bytes of push constants carrying buffer device
 * addresses and sizes, no descriptor sets. The kernels declare float-control
 * execution modes (shaders/common.glsl); those a device does not support are
 * taken out of the code before it is loaded. */
#include "gr_vk.h"
#include "gr_vk_shaders.h"

#include <stdlib.h>
#include <string.h>

gr_status gr_vk_pipeline_layout_create(gr_vk_device *d)
{
    VkPushConstantRange range = { .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT, .offset = 0, .size = 128 };
    VkPipelineLayoutCreateInfo lci = {
        .sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
        .pushConstantRangeCount = 1, .pPushConstantRanges = &range,
    };
    VkResult r = d->fn.vkCreatePipelineLayout(d->device, &lci, NULL, &d->layout);
    if (r != VK_SUCCESS) return gr_fail(GR_EDEVICE, "vkCreatePipelineLayout failed (%s)", gr_vk_result_str(r));
    return GR_OK;
}

void gr_vk_pipelines_destroy(gr_vk_device *d)
{
    for (int i = 0; i < d->npipelines; i++)
        d->fn.vkDestroyPipeline(d->device, d->pipelines[i].pipeline, NULL);
    free(d->pipelines);
    d->pipelines = NULL;
    d->npipelines = d->cappipelines = 0;
    if (d->layout) d->fn.vkDestroyPipelineLayout(d->device, d->layout, NULL);
    d->layout = VK_NULL_HANDLE;
}

/* SPIR-V: the header's length in words, two instructions, and the float
 * controls as execution modes and as the capabilities that enable them. */
#define SPV_HEADER_WORDS 5
#define SPV_OP_EXECUTION_MODE 16u
#define SPV_OP_CAPABILITY 17u
#define SPV_MODE_DENORM_PRESERVE 4459u
#define SPV_MODE_SIGNED_ZERO_INF_NAN_PRESERVE 4461u
#define SPV_MODE_ROUNDING_MODE_RTE 4462u
#define SPV_CAP_DENORM_PRESERVE 4464u
#define SPV_CAP_SIGNED_ZERO_INF_NAN_PRESERVE 4466u
#define SPV_CAP_ROUNDING_MODE_RTE 4467u

/* Whether the device takes a float-control mode (for floats `width` bits
 * wide) or capability; anything else: yes. */
static int supported(const gr_vk_float_modes *m, uint32_t opcode, uint32_t what, uint32_t width)
{
    if (opcode == SPV_OP_EXECUTION_MODE) {
        if (what == SPV_MODE_DENORM_PRESERVE) return m->denormals;
        if (what == SPV_MODE_SIGNED_ZERO_INF_NAN_PRESERVE) return width == 64 ? m->inf_nan64 : m->inf_nan;
        if (what == SPV_MODE_ROUNDING_MODE_RTE) return m->round_even;
    } else if (opcode == SPV_OP_CAPABILITY) {
        if (what == SPV_CAP_DENORM_PRESERVE) return m->denormals;
        if (what == SPV_CAP_SIGNED_ZERO_INF_NAN_PRESERVE) return m->inf_nan || m->inf_nan64;
        if (what == SPV_CAP_ROUNDING_MODE_RTE) return m->round_even;
    }
    return 1;
}

/* A copy of the kernel's code without the float controls the device lacks;
 * *nwords is its length. */
static uint32_t *code_for_device(const gr_vk_device *d, const gr_vk_shader_code *code, size_t *nwords)
{
    size_t n = code->size / sizeof(uint32_t), o = SPV_HEADER_WORDS;
    uint32_t *out = malloc(code->size);
    if (!out) return NULL;
    memcpy(out, code->words, SPV_HEADER_WORDS * sizeof(uint32_t));
    for (size_t i = SPV_HEADER_WORDS; i < n;) {
        const uint32_t *ins = code->words + i;
        size_t len = ins[0] >> 16;
        if (len == 0 || len > n - i) len = n - i;      /* malformed: keep the rest as it is */
        uint32_t opcode = ins[0] & 0xffffu;
        uint32_t width = len >= 4 ? ins[3] : 32;   /* an execution mode's operand */
        int drop = (opcode == SPV_OP_EXECUTION_MODE && len >= 3 && !supported(&d->float_modes, opcode, ins[2], width)) ||
                   (opcode == SPV_OP_CAPABILITY && len >= 2 && !supported(&d->float_modes, opcode, ins[1], 32));
        if (!drop) {
            memcpy(out + o, ins, len * sizeof(uint32_t));
            o += len;
        }
        i += len;
    }
    *nwords = o;
    return out;
}

static gr_status create_pipeline(gr_vk_device *d, int kernel, const uint32_t spec[4], VkPipeline *out)
{
    const gr_vk_shader_code *code = &gr_vk_shaders[kernel];
    size_t nwords;
    uint32_t *words = code_for_device(d, code, &nwords);
    if (!words) return gr_fail(GR_ENOMEM, "out of host memory");
    VkShaderModuleCreateInfo mci = {
        .sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO, .codeSize = nwords * sizeof(uint32_t), .pCode = words,
    };
    VkShaderModule module;
    VkResult r = d->fn.vkCreateShaderModule(d->device, &mci, NULL, &module);
    free(words);
    if (r != VK_SUCCESS)
        return gr_fail(GR_EDEVICE, "cannot load kernel '%s' (%s)", code->name, gr_vk_result_str(r));
    VkSpecializationMapEntry entries[4];
    for (uint32_t i = 0; i < 4; i++)
        entries[i] = (VkSpecializationMapEntry){ .constantID = i, .offset = i * 4, .size = 4 };
    VkSpecializationInfo si = { .mapEntryCount = 4, .pMapEntries = entries, .dataSize = 16, .pData = spec };
    VkComputePipelineCreateInfo pci = {
        .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
        .stage = {
            .sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO, .stage = VK_SHADER_STAGE_COMPUTE_BIT,
            .module = module, .pName = "main", .pSpecializationInfo = &si,
        },
        .layout = d->layout,
    };
    r = d->fn.vkCreateComputePipelines(d->device, VK_NULL_HANDLE, 1, &pci, NULL, out);
    d->fn.vkDestroyShaderModule(d->device, module, NULL);
    if (r != VK_SUCCESS)
        return gr_fail(GR_EDEVICE, "cannot build kernel '%s' (%s)", code->name, gr_vk_result_str(r));
    return GR_OK;
}

gr_status gr_vk_pipeline_get(gr_vk_device *d, int kernel, const uint32_t spec[4], VkPipeline *out)
{
    for (int i = 0; i < d->npipelines; i++) {
        gr_vk_pipeline *p = &d->pipelines[i];
        if (p->shader == kernel && memcmp(p->spec, spec, sizeof p->spec) == 0) { *out = p->pipeline; return GR_OK; }
    }
    if (d->npipelines == d->cappipelines) {
        int cap = d->cappipelines ? d->cappipelines * 2 : 32;
        gr_vk_pipeline *grown = realloc(d->pipelines, (size_t)cap * sizeof *grown);
        if (!grown) return gr_fail(GR_ENOMEM, "out of host memory");
        d->pipelines = grown;
        d->cappipelines = cap;
    }
    VkPipeline pipeline;
    GR_TRY(create_pipeline(d, kernel, spec, &pipeline));
    gr_vk_pipeline *p = &d->pipelines[d->npipelines++];
    p->shader = kernel;
    memcpy(p->spec, spec, sizeof p->spec);
    p->pipeline = pipeline;
    *out = pipeline;
    return GR_OK;
}

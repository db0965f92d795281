/* The fused Vulkan optimizer step, shared by gr_vk_optim.c (the optimizer's
 * device state: setup, host copies sent and read back, the history ring)
 * and gr_vk_optim_step.c (the multi-tensor table and the dispatches of a
 * step). The memory layouts are those of shaders/optim_common.glsl. */
#ifndef GR_VK_OPTIM_H
#define GR_VK_OPTIM_H

#include "gr_optim_impl.h"
#include "gr_vk_ops.h"

/* The device block: options (32 doubles), the scalar state (32 doubles: the
 * gr_optim_scalar_name fields, then VKO_S_*), the coefficients the scalar
 * kernel derives, then one flags word and one non-finite count per parameter. */
#define VKO_OPTIONS 0
#define VKO_STATE 256
#define VKO_FLAGS 640
#define VKO_NSCALARS 15          /* gr_optim_scalars fields in the state */
enum { VKO_S_PENDING = 15, VKO_S_FLAGS = 16, VKO_NSTATE = 32 };

/* Option indices of the block (O_* in the shaders). */
enum {
    VKO_O_KIND, VKO_O_AMSGRAD, VKO_O_BIAS, VKO_O_NONFINITE, VKO_O_BETA_HYPER, VKO_O_LOG_SCALE,
    VKO_O_LR_MIN, VKO_O_LR_MAX, VKO_O_HYPER_LR, VKO_O_HYPER_LR_BETA, VKO_O_ADAPT_MOMENTUM,
    VKO_O_TRACK_SURPRISE, VKO_O_GAMMA, VKO_O_ALPHA, VKO_O_TRAUMA, VKO_O_BETA_MIN, VKO_O_BETA_MAX,
    VKO_O_WARMUP, VKO_O_NORMALIZER, VKO_O_ACCUMULATOR, VKO_O_H_CLIP, VKO_O_MAX_LR_CHANGE, VKO_O_EPS,
    VKO_O_WEIGHT_DECAY, VKO_NOPTIONS = 32
};

/* Per-parameter flags (TF_*): the device's record of which slots exist. */
enum { VKO_TF_MOMENTS = 1, VKO_TF_VMAX = 2, VKO_TF_EMA = 4, VKO_TF_EMA_ALT = 8 };
/* Piece bits (PIECE_*) and per-parameter step info (PI_*). */
enum { VKO_PIECE_GRAD = 1, VKO_PIECE_VEC4 = 2, VKO_PIECE_EMA_ALT = 4 };
enum { VKO_PI_GRAD = 1, VKO_PI_EMA_ALT = 2 };

/* Threads per workgroup: 256 on GPUs; 64 on CPU implementations of Vulkan,
 * whose cost grows with the invocations of a workgroup whatever their work. */
#define VKO_WG_GPU 256u
#define VKO_WG_CPU 64u
#define VKO_CHUNK 2048                   /* elements per chunk (CHUNK) */
#define VKO_PIECE ((int64_t)1 << 30)     /* elements per piece at most */
#define VKO_MAX_GROUPS 2048u             /* workgroups of a pass at most (and partials the scalar kernel adds) */
#define VKO_RING_CAP 4096                /* steps the history ring holds */
#define VKO_RECORD 5                     /* doubles per record: flags, lr, beta1, S, Sbar */
#define VKO_NCOEFFS 9                    /* pass 2's coefficients as push constants (optim_update's c) */

/* Host copies to send beyond GR_CHANGED_*: the per-parameter flags; the
 * scalar state and the flags after steps the host derived, held back until
 * the device reads them again (a step it derives, or a refresh). */
#define VKO_SEND_FLAGS (1u << 8)
#define VKO_SEND_STATE (1u << 9)

typedef struct vko_piece {
    VkDeviceAddress p, g, m, v, vmax, ema_a, ema_b;
    uint32_t start, n, param, bits;
} vko_piece;

typedef struct gr_vk_optim {
    gr_vk_device *d;
    uint32_t wg;                 /* threads per workgroup */
    gr_vk_alloc block;           /* options, state, coefficients, flags[n], counts[n] */
    gr_vk_alloc parts1, parts2;  /* per-workgroup partials of pass 1 (5 each) and pass 2 */
    uint32_t max_groups;
    gr_vk_alloc table;           /* pieces, then pinfo[n] */
    unsigned char *table_host;   /* the table as built for the step in progress */
    unsigned char *table_sent;   /* what the device's table holds */
    size_t table_sent_len;
    int max_pieces;
    gr_vk_access *acc;           /* scratch: the accesses of one dispatch */
    unsigned char *readback;     /* scratch: state and flags read back */
    gr_vk_alloc ring;            /* history records in host-visible memory (none for AdamW) */
    uint64_t *ring_serial;       /* batch serial of the step that writes each record */
    int64_t recorded, drained;   /* steps recorded into the ring; records consumed */
    gr_tensor **ema_alt;         /* each parameter's second ema_g buffer, or NULL */
    unsigned char *alt_fresh;    /* ema_alt created by the step in progress */
    uint32_t *flags;             /* host copy of the per-parameter flags */
    unsigned unsent;             /* GR_CHANGED_* | VKO_SEND_* not yet sent */
    int stale;                   /* steps recorded since the host copies were read back */
} gr_vk_optim;

/* Sends the host copies written since the last send, but for the VKO_SEND_*
 * bits in `hold`, which stay pending (gr_vk_optim.c). */
gr_status gr_vk_optim_send(gr_optim *opt, unsigned hold);
/* Consumes the history records of finished steps; with `wait`, of every step
 * recorded (gr_vk_optim.c). */
gr_status gr_vk_optim_drain(gr_optim *opt, int wait);

/* Records a whole step (gr_vk_optim_step.c). */
gr_status gr_vk_optim_step(gr_optim *opt, gr_tensor *const *grads);
/* Records the scalar kernel's refresh: a pending Σd² finished into
 * prev_norm, pass 1's coefficients remade from the state and options. */
gr_status gr_vk_optim_refresh(gr_optim *opt);

#endif

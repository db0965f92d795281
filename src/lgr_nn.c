/* grilly.core.nn: the neural-network kernels of gr_nn.h for lua/grilly/nn.lua. */
#include "lgr.h"
#include "gr_nn.h"

#include <math.h>
#include <string.h>

static gr_tensor *opt_tensor(lua_State *L, int idx)
{
    return lua_isnoneornil(L, idx) ? NULL : lgr_check_tensor(L, idx);
}

/* linear_forward(x, w[, b]) -> y */
static int l_linear_forward(lua_State *L)
{
    gr_tensor *x = lgr_check_tensor(L, 1), *w = lgr_check_tensor(L, 2), *b = opt_tensor(L, 3), *r = NULL;
    lgr_check(L, gr_nn_linear_forward(x, w, b, &r));
    lgr_push_tensor(L, r);
    return 1;
}

/* linear_backward(x, w, grad_out, grad_w|nil, grad_b|nil, want_grad_x) -> grad_x or nothing */
static int l_linear_backward(lua_State *L)
{
    gr_tensor *x = lgr_check_tensor(L, 1), *w = lgr_check_tensor(L, 2), *g = lgr_check_tensor(L, 3);
    gr_tensor *gw = opt_tensor(L, 4), *gb = opt_tensor(L, 5), *gx = NULL;
    int want = lua_toboolean(L, 6);
    lgr_check(L, gr_nn_linear_backward(x, w, g, gw, gb, want ? &gx : NULL));
    if (!want) return 0;
    lgr_push_tensor(L, gx);
    return 1;
}

static const char *const act_names[] = { "relu", "tanh", "sigmoid", NULL };

/* activation_backward(name, y, grad_out) -> grad_in */
static int l_activation_backward(lua_State *L)
{
    gr_nn_act act = (gr_nn_act)luaL_checkoption(L, 1, NULL, act_names);
    gr_tensor *y = lgr_check_tensor(L, 2), *g = lgr_check_tensor(L, 3), *r = NULL;
    lgr_check(L, gr_nn_activation_backward(act, y, g, &r));
    lgr_push_tensor(L, r);
    return 1;
}

/* cross_entropy_forward(logits, labels) -> mean loss */
static int l_cross_entropy_forward(lua_State *L)
{
    double loss = 0.0;
    lgr_check(L, gr_nn_cross_entropy_forward(lgr_check_tensor(L, 1), lgr_check_tensor(L, 2), &loss));
    lua_pushnumber(L, loss);
    return 1;
}

/* cross_entropy_backward(logits, labels) -> grad */
static int l_cross_entropy_backward(lua_State *L)
{
    gr_tensor *r = NULL;
    lgr_check(L, gr_nn_cross_entropy_backward(lgr_check_tensor(L, 1), lgr_check_tensor(L, 2), &r));
    lgr_push_tensor(L, r);
    return 1;
}

static float field_number(lua_State *L, int idx, const char *key)
{
    lua_getfield(L, idx, key);
    if (lua_type(L, -1) != LUA_TNUMBER)
        luaL_error(L, "LIF parameter '%s' must be a number, got %s", key, luaL_typename(L, -1));
    float v = (float)lua_tonumber(L, -1);
    lua_pop(L, 1);
    return v;
}

static int field_bool(lua_State *L, int idx, const char *key)
{
    lua_getfield(L, idx, key);
    int v = lua_toboolean(L, -1);
    lua_pop(L, 1);
    return v;
}

static int field_option(lua_State *L, int idx, const char *key, const char *const *names)
{
    lua_getfield(L, idx, key);
    const char *s = lua_tostring(L, -1);
    for (int i = 0; s && names[i]; i++)
        if (strcmp(s, names[i]) == 0) { lua_pop(L, 1); return i; }
    return luaL_error(L, "LIF parameter '%s' has an unknown value '%s'", key, s ? s : luaL_typename(L, -1));
}

static const char *const surrogate_names[] = { "atan", "sigmoid", "fast_sigmoid", NULL };
static const char *const output_names[] = { "spikes", "membrane", NULL };

/* The gr_lif_params of a table with the fields of its members. */
static void check_lif_params(lua_State *L, int idx, gr_lif_params *p)
{
    luaL_checktype(L, idx, LUA_TTABLE);
    p->decay = field_number(L, idx, "decay");
    p->input_scale = field_number(L, idx, "input_scale");
    p->v_threshold = field_number(L, idx, "v_threshold");
    p->v_rest = field_number(L, idx, "v_rest");
    p->v_reset = field_number(L, idx, "v_reset");
    p->alpha = field_number(L, idx, "alpha");
    p->hard_reset = field_bool(L, idx, "hard_reset");
    p->detach_reset = field_bool(L, idx, "detach_reset");
    p->surrogate = (gr_surrogate)field_option(L, idx, "surrogate", surrogate_names);
    p->output = (gr_lif_output)field_option(L, idx, "output", output_names);
    lgr_check(L, gr_lif_params_check(p));
}

/* lif_forward(x, params) -> out, h */
static int l_lif_forward(lua_State *L)
{
    gr_tensor *x = lgr_check_tensor(L, 1), *o = NULL, *h = NULL;
    gr_lif_params p;
    check_lif_params(L, 2, &p);
    lgr_check(L, gr_nn_lif_forward(x, &p, &o, &h));
    lgr_push_tensor(L, o);
    lgr_push_tensor(L, h);
    return 2;
}

/* lif_backward(h, grad_out, params) -> grad_x */
static int l_lif_backward(lua_State *L)
{
    gr_tensor *h = lgr_check_tensor(L, 1), *g = lgr_check_tensor(L, 2), *r = NULL;
    gr_lif_params p;
    check_lif_params(L, 3, &p);
    lgr_check(L, gr_nn_lif_backward(h, g, &p, &r));
    lgr_push_tensor(L, r);
    return 1;
}

/* bernoulli(probs) -> 0/1 tensor */
static int l_bernoulli(lua_State *L)
{
    gr_tensor *r = NULL;
    lgr_check(L, gr_nn_bernoulli(lgr_check_tensor(L, 1), &r));
    lgr_push_tensor(L, r);
    return 1;
}

/* dropout_mask(like, p) -> mask of like's shape and device */
static int l_dropout_mask(lua_State *L)
{
    gr_tensor *like = lgr_check_tensor(L, 1), *r = NULL;
    float p = (float)luaL_checknumber(L, 2);
    lgr_check(L, gr_nn_dropout_mask(like->storage->device, like->ndim, like->shape, p, &r));
    lgr_push_tensor(L, r);
    return 1;
}

/* latency_encode(x, steps, threshold) -> (steps, ...) */
static int l_latency_encode(lua_State *L)
{
    gr_tensor *x = lgr_check_tensor(L, 1), *r = NULL;
    double steps = luaL_checknumber(L, 2);
    if (steps != floor(steps) || steps < 1 || steps > 1e9)
        luaL_argerror(L, 2, "steps must be a positive integer");
    lgr_check(L, gr_nn_latency_encode(x, (int64_t)steps, (float)luaL_checknumber(L, 3), &r));
    lgr_push_tensor(L, r);
    return 1;
}

static const luaL_Reg nn_functions[] = {
    {"linear_forward", l_linear_forward},
    {"linear_backward", l_linear_backward},
    {"activation_backward", l_activation_backward},
    {"cross_entropy_forward", l_cross_entropy_forward},
    {"cross_entropy_backward", l_cross_entropy_backward},
    {"lif_forward", l_lif_forward},
    {"lif_backward", l_lif_backward},
    {"bernoulli", l_bernoulli},
    {"dropout_mask", l_dropout_mask},
    {"latency_encode", l_latency_encode},
    {NULL, NULL},
};

void lgr_nn_open(lua_State *L)
{
    lua_newtable(L);
    luaL_register(L, NULL, nn_functions);
    lua_setfield(L, -2, "nn");
}

/* What grilly.AdamW, grilly.HypergradientAdamW and grilly.AutoHypergradientAdamW
 * share: construction from parameters and options, step, zero_grad, fields,
 * histories, state_dict / load_state_dict and lifetime; and the module
 * helpers collect_grads and compute_update_directions. */
#include "lgr_optim.h"
#include "gr_optim_dist.h"

#include <stdio.h>
#include <string.h>

typedef struct lgr_optim_box {
    gr_optim *opt;               /* NULL once freed; with dist, the one holding the scalar state */
    gr_optim_dist *dist;         /* NULL unless data-parallel (then it owns opt) */
    const lgr_optim_class *cls;
    gr_tensor **grads;           /* step's scratch, one slot per parameter (in the environment) */
} lgr_optim_box;

/* The classes registered so far, to recognise any optimizer userdata. */
static const lgr_optim_class *classes[3];
static int nclasses;

#define STATE_FORMAT 1

/* ---- checks ------------------------------------------------------------- */

static lgr_optim_box *test_box(lua_State *L, int idx)
{
    for (int i = 0; i < nclasses; i++) {
        lgr_optim_box *box = lgr_testudata(L, idx, classes[i]->metatable);
        if (box) return box;
    }
    return NULL;
}

static lgr_optim_box *check_box(lua_State *L, int idx)
{
    lgr_optim_box *box = test_box(L, idx);
    if (!box) luaL_argerror(L, idx, lua_pushfstring(L, "optimizer expected, got %s", luaL_typename(L, idx)));
    return box;
}

static gr_optim *check_live(lua_State *L, lgr_optim_box *box)
{
    if (!box->opt) luaL_error(L, "use of freed %s", box->cls->metatable);
    return box->opt;
}

/* A type name for messages: a userdata's __name where it has one. */
static const char *type_of(lua_State *L, int idx)
{
    if (lua_type(L, idx) == LUA_TUSERDATA && lua_getmetatable(L, idx)) {
        lua_getfield(L, -1, "__name");
        const char *name = lua_tostring(L, -1);
        lua_pop(L, 2);   /* the name stays alive in the metatable */
        if (name) return name;
    }
    return luaL_typename(L, idx);
}

/* A table key for messages. */
static const char *key_text(lua_State *L, int idx)
{
    if (lua_type(L, idx) == LUA_TSTRING) return lua_tostring(L, idx);
    return lua_pushfstring(L, "(%s key)", luaL_typename(L, idx));
}

/* ---- parameters --------------------------------------------------------- */

static void append_param(lua_State *L, int arg, int out, int *n, const char *where, int j)
{
    if (!lgr_test_tensor(L, -1)) {
        const char *got = lgr_testudata(L, -1, LGR_TENSOR_MT) ? "a freed grilly.Tensor" : type_of(L, -1);
        luaL_argerror(L, arg, lua_pushfstring(L, "%sparameter %d must be a grilly.Tensor, got %s", where, j, got));
    }
    lua_rawseti(L, out, ++*n);
}

static void append_group(lua_State *L, int arg, int out, int *n, int group)
{
    int g = lua_gettop(L);
    char where[48];
    snprintf(where, sizeof where, "param group %d: ", group);
    for (lua_pushnil(L); lua_next(L, g); lua_pop(L, 1)) {
        if (lua_type(L, -2) == LUA_TSTRING && strcmp(lua_tostring(L, -2), "params") == 0) continue;
        if (lua_type(L, -2) == LUA_TSTRING)
            luaL_argerror(L, arg, lua_pushfstring(L, "%sper-group option '%s' is not supported (options apply to "
                                                "the whole optimizer)", where, lua_tostring(L, -2)));
        luaL_argerror(L, arg, lua_pushfstring(L, "%sunexpected %s key (a group is {params = {...}})", where,
                                              luaL_typename(L, -2)));
    }
    lua_getfield(L, g, "params");
    if (!lua_istable(L, -1) || test_box(L, -1))
        luaL_argerror(L, arg, lua_pushfstring(L, "%s'params' must be an array of tensors, got %s", where, type_of(L, -1)));
    int ps = lua_gettop(L), len = (int)lua_objlen(L, ps);
    for (int j = 1; j <= len; j++) {
        lua_rawgeti(L, ps, j);
        append_param(L, arg, out, n, where, j);
    }
    lua_pop(L, 1);
}

/* Flattens argument arg (an array of tensors or of param groups {params = {...}})
 * into a new array of tensor userdata on top of the stack; returns its length. */
static int push_param_list(lua_State *L, int arg)
{
    if (lua_type(L, arg) != LUA_TTABLE)
        luaL_argerror(L, arg, lua_pushfstring(L, "array of parameter tensors or param groups expected, got %s",
                                            type_of(L, arg)));
    lua_newtable(L);
    int out = lua_gettop(L), n = 0, len = (int)lua_objlen(L, arg), groups = 0;
    for (int i = 1; i <= len; i++) {
        lua_rawgeti(L, arg, i);
        int is_group = lua_type(L, -1) == LUA_TTABLE;
        if (i > 1 && is_group != groups)
            luaL_argerror(L, arg, "mixes parameter tensors and param groups");
        groups = is_group;
        if (is_group) {
            append_group(L, arg, out, &n, i);
            lua_pop(L, 1);
        } else {
            append_param(L, arg, out, &n, "", i);
        }
    }
    return n;
}

/* Pushes parameter i's gradient for this step: grads[p] where the table at
 * grads_idx has one, else p.grad, else nil. Returns it as a tensor or NULL. */
static gr_tensor *push_grad(lua_State *L, int list, int i, int grads_idx)
{
    lua_rawgeti(L, list, i + 1);
    int p = lua_gettop(L);
    if (!lgr_test_tensor(L, p)) luaL_error(L, "parameter %d is a freed grilly.Tensor", i + 1);
    if (grads_idx) {
        lua_pushvalue(L, p);
        lua_rawget(L, grads_idx);
        if (lua_isnil(L, -1)) lua_pop(L, 1);
    }
    if (lua_gettop(L) == p) lua_getfield(L, p, "grad");
    lua_remove(L, p);
    if (lua_isnil(L, -1)) return NULL;
    gr_tensor *g = lgr_test_tensor(L, -1);
    if (!g) {
        const char *got = lgr_testudata(L, -1, LGR_TENSOR_MT) ? "a freed grilly.Tensor" : type_of(L, -1);
        luaL_error(L, "bad gradient of parameter %d (grilly.Tensor expected, got %s)", i + 1, got);
    }
    return g;
}

/* The optimizer's parameter list (its environment's `params`) on top of the stack. */
static int push_own_params(lua_State *L, int self)
{
    lua_getfenv(L, self);
    lua_getfield(L, -1, "params");
    lua_remove(L, -2);
    return lua_gettop(L);
}

/* ---- option values ------------------------------------------------------ */

static gr_optim_value to_value(lua_State *L, int idx)
{
    gr_optim_value v = {0};
    if (idx < 0) idx = lua_gettop(L) + idx + 1;
    v.type_name = type_of(L, idx);
    switch (lua_type(L, idx)) {
    case LUA_TNUMBER: v.type = GR_OPTV_NUMBER; v.num[0] = lua_tonumber(L, idx); break;
    case LUA_TBOOLEAN: v.type = GR_OPTV_BOOL; v.boolean = lua_toboolean(L, idx); break;
    case LUA_TSTRING: v.type = GR_OPTV_STRING; v.str = lua_tostring(L, idx); break;
    case LUA_TTABLE:
        v.type = GR_OPTV_OTHER;
        if (lua_objlen(L, idx) == 2) {
            lua_rawgeti(L, idx, 1);
            lua_rawgeti(L, idx, 2);
            if (lua_type(L, -2) == LUA_TNUMBER && lua_type(L, -1) == LUA_TNUMBER) {
                v.type = GR_OPTV_PAIR;
                v.num[0] = lua_tonumber(L, -2);
                v.num[1] = lua_tonumber(L, -1);
            }
            lua_pop(L, 2);
        }
        break;
    default: v.type = GR_OPTV_OTHER; break;
    }
    return v;
}

static void push_value(lua_State *L, const gr_optim_value *v)
{
    switch (v->type) {
    case GR_OPTV_NUMBER: lua_pushnumber(L, v->num[0]); break;
    case GR_OPTV_BOOL: lua_pushboolean(L, v->boolean); break;
    case GR_OPTV_STRING: lua_pushstring(L, v->str); break;
    case GR_OPTV_PAIR:
        lua_createtable(L, 2, 0);
        lua_pushnumber(L, v->num[0]);
        lua_rawseti(L, -2, 1);
        lua_pushnumber(L, v->num[1]);
        lua_rawseti(L, -2, 2);
        break;
    default: lua_pushnil(L); break;
    }
}

/* Validated options of `kind` from the table at idx (nil: defaults). Scratch
 * arrays are left on the stack. */
static gr_optim_options read_options(lua_State *L, int idx, gr_optim_kind kind, int argn)
{
    gr_optim_options o;
    gr_optim_options_default(kind, &o);
    if (lua_isnoneornil(L, idx)) return o;
    if (lua_type(L, idx) != LUA_TTABLE)
        luaL_argerror(L, argn, lua_pushfstring(L, "options table expected, got %s", type_of(L, idx)));
    int n = 0;
    for (lua_pushnil(L); lua_next(L, idx); lua_pop(L, 1)) n++;
    const char **names = lua_newuserdata(L, (size_t)(n ? n : 1) * sizeof *names);
    gr_optim_value *values = lua_newuserdata(L, (size_t)(n ? n : 1) * sizeof *values);
    int i = 0;
    for (lua_pushnil(L); lua_next(L, idx); lua_pop(L, 1), i++) {
        if (lua_type(L, -2) != LUA_TSTRING)
            luaL_error(L, "%s: option names must be strings (got %s)", gr_optim_kind_name(kind),
                       luaL_typename(L, -2));
        names[i] = lua_tostring(L, -2);   /* keys and values stay alive in the table */
        values[i] = to_value(L, -1);
    }
    lgr_check(L, gr_optim_options_apply(kind, &o, names, values, n));
    return o;
}

/* ---- construction and lifetime ------------------------------------------ */

/* The parameters of the list at `list` as a C array, in scratch userdata
 * left on the stack. */
static gr_tensor **param_array(lua_State *L, int list, int n)
{
    gr_tensor **ps = lua_newuserdata(L, (size_t)(n ? n : 1) * sizeof *ps);
    for (int i = 0; i < n; i++) {
        lua_rawgeti(L, list, i + 1);
        ps[i] = lgr_test_tensor(L, -1);
        lua_pop(L, 1);
    }
    return ps;
}

/* Pushes an empty box whose environment holds the parameter list and the
 * step's scratch (both collected with it); cls may be NULL until known,
 * and the metatable is set by adopt(). */
static lgr_optim_box *push_box(lua_State *L, int list, int n)
{
    lgr_optim_box *box = lua_newuserdata(L, sizeof *box);
    *box = (lgr_optim_box){NULL, NULL, NULL, NULL};
    lua_createtable(L, 0, 2);
    lua_pushvalue(L, list);
    lua_setfield(L, -2, "params");
    box->grads = lua_newuserdata(L, (size_t)(n ? n : 1) * sizeof *box->grads);
    lua_setfield(L, -2, "scratch");
    lua_setfenv(L, -2);
    return box;
}

static void adopt(lua_State *L, int idx, lgr_optim_box *box, const lgr_optim_class *cls)
{
    box->cls = cls;
    luaL_getmetatable(L, cls->metatable);
    lua_setmetatable(L, idx);
}

/* The data-parallel keys of a constructor's options. They are not options
 * of the class: they go to grilly.optim.from_constructor with the new
 * optimizer (which starts MPI only when asked to). */
static const char *const dist_keys[] = {"distributed", "shard_state", "bucket_mb", NULL};

/* Replaces the options table at idx by a copy without the data-parallel
 * keys, and pushes a table of those (or nil when there are none). */
static void split_dist_options(lua_State *L, int idx)
{
    int found = 0;
    for (int i = 0; dist_keys[i] && lua_istable(L, idx); i++) {
        lua_getfield(L, idx, dist_keys[i]);
        found |= !lua_isnil(L, -1);
        lua_pop(L, 1);
    }
    if (!found) {
        lua_pushnil(L);
        return;
    }
    lua_newtable(L);
    for (lua_pushnil(L); lua_next(L, idx);) {   /* rawset leaves the key for the next lua_next */
        lua_pushvalue(L, -2);
        lua_insert(L, -2);
        lua_rawset(L, -4);
    }
    lua_newtable(L);
    for (int i = 0; dist_keys[i]; i++) {
        lua_getfield(L, -2, dist_keys[i]);
        lua_setfield(L, -2, dist_keys[i]);
        lua_pushnil(L);
        lua_setfield(L, -3, dist_keys[i]);
    }
    lua_insert(L, -2);
    lua_replace(L, idx);
}

int lgr_optim_new(lua_State *L, const lgr_optim_class *cls)
{
    lua_settop(L, 2);
    split_dist_options(L, 2);
    int dist = lua_istable(L, 3) ? 3 : 0;
    int n = push_param_list(L, 1);
    int list = lua_gettop(L);
    gr_optim_options o = read_options(L, 2, cls->kind, 2);
    gr_tensor **ps = param_array(L, list, n);
    lgr_optim_box *box = push_box(L, list, n);
    adopt(L, lua_gettop(L), box, cls);
    lgr_check(L, gr_optim_new(cls->kind, ps, n, &o, &box->opt));
    if (!dist) return 1;
    int self = lua_gettop(L);
    lua_getglobal(L, "require");
    lua_pushliteral(L, "grilly.optim");
    lua_call(L, 1, 1);
    lua_getfield(L, -1, "from_constructor");
    lua_pushvalue(L, self);
    lua_pushvalue(L, dist);
    lua_call(L, 2, 1);
    return 1;
}

static int m_free(lua_State *L)
{
    lgr_optim_box *box = check_box(L, 1);
    if (box->dist) gr_optim_dist_free(box->dist);
    else gr_optim_free(box->opt);
    box->dist = NULL;
    box->opt = NULL;
    return 0;
}

/* The number of parameters the user passed (a sharded optimizer's own
 * optimizer runs over pieces of them). */
static int param_count(const lgr_optim_box *box)
{
    return box->dist ? gr_optim_dist_param_count(box->dist) : gr_optim_param_count(box->opt);
}

/* The complete state as one optimizer over all parameters. A data-parallel
 * optimizer with sharded state gathers it from every rank (a collective);
 * that copy is pushed in a box of its own, so it is collected even if an
 * error follows. */
static gr_optim *full_optim(lua_State *L, lgr_optim_box *box)
{
    if (!box->dist) return box->opt;
    gr_optim *full;
    int owned;
    lgr_check(L, gr_optim_dist_full(box->dist, &full, &owned));
    if (owned) {
        lgr_optim_box *tmp = lua_newuserdata(L, sizeof *tmp);
        *tmp = (lgr_optim_box){full, NULL, box->cls, NULL};
        luaL_getmetatable(L, box->cls->metatable);
        lua_setmetatable(L, -2);   /* left on the stack, so it lives as long as this call */
    }
    return full;
}

static int m_tostring(lua_State *L)
{
    lgr_optim_box *box = check_box(L, 1);
    if (!box->opt) {
        lua_pushfstring(L, "%s(freed)", box->cls->metatable);
        return 1;
    }
    lgr_check(L, gr_optim_sync(box->opt));
    const gr_optim_scalars *s = gr_optim_get_scalars(box->opt);
    char lr[32], b1[32];
    lua_pushfstring(L, "%s(lr=%s, beta1=%s, step=%f, device=%s", box->cls->metatable,
                    gr_optim_fmt(s->lr, lr, sizeof lr), gr_optim_fmt(s->beta1, b1, sizeof b1),
                    (lua_Number)s->t, gr_optim_device(box->opt)->name);
    if (box->dist)
        lua_pushfstring(L, ", ranks=%d%s)", gr_optim_dist_comm(box->dist)->size,
                        gr_optim_dist_get_options(box->dist)->shard_state ? ", shard_state=true" : "");
    else
        lua_pushliteral(L, ")");
    lua_concat(L, 2);
    return 1;
}

/* ---- step --------------------------------------------------------------- */

static int m_step(lua_State *L)
{
    lgr_optim_box *box = check_box(L, 1);
    check_live(L, box);
    int closure = lua_isfunction(L, 2) ? 2 : 0;
    int grads_idx = closure || (lua_isnil(L, 2) && lua_gettop(L) >= 3) ? 3 : 2;
    lua_settop(L, grads_idx);
    if (!lua_isnil(L, grads_idx) && !lua_istable(L, grads_idx))
        luaL_argerror(L, grads_idx, lua_pushfstring(L, "%stable of gradients keyed by parameter expected, got %s",
                                                    closure ? "" : "closure or ", type_of(L, grads_idx)));
    if (lua_isnil(L, grads_idx)) grads_idx = 0;
    int base = lua_gettop(L);
    if (closure) {
        lua_pushvalue(L, closure);
        lua_call(L, 0, LUA_MULTRET);
    }
    int nret = lua_gettop(L) - base;
    gr_optim *opt = check_live(L, box);   /* the closure may have freed it */
    int list = push_own_params(L, 1), n = param_count(box);
    for (int i = 0; i < n; i++) {
        box->grads[i] = push_grad(L, list, i, grads_idx);
        lua_pop(L, 1);   /* the tensor stays referenced by grads or by p.grad */
    }
    lua_pop(L, 1);
    lgr_check(L, box->dist ? gr_optim_dist_step(box->dist, box->grads, NULL) : gr_optim_step(opt, box->grads, NULL));
    return nret;
}

static int m_zero_grad(lua_State *L)
{
    lgr_optim_box *box = check_box(L, 1);
    check_live(L, box);
    int list = push_own_params(L, 1), n = param_count(box);
    /* Every parameter and gradient is checked before any is zeroed, so that
     * a freed one raises with nothing changed. */
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < n; i++) {
            gr_tensor *g = push_grad(L, list, i, 0);
            if (pass == 1 && g) lgr_check(L, gr_tensor_fill_(g, 0.0f));
            lua_pop(L, 1);
        }
    return 0;
}

/* ---- fields ------------------------------------------------------------- */

static void push_history_array(lua_State *L, const gr_optim *opt, gr_optim_history_id h)
{
    int64_t len;
    const double *data = gr_optim_history(opt, h, &len);
    lua_createtable(L, (int)len, 0);
    for (int64_t i = 0; i < len; i++) {
        lua_pushnumber(L, data[i]);
        lua_rawseti(L, -2, (int)(i + 1));
    }
}

static void push_current_lr(lua_State *L, const gr_optim *opt) { lua_pushnumber(L, gr_optim_get_scalars(opt)->lr); }
static void push_step_count(lua_State *L, const gr_optim *opt) { lua_pushnumber(L, (lua_Number)gr_optim_get_scalars(opt)->t); }
static void push_skipped(lua_State *L, const gr_optim *opt) { lua_pushnumber(L, (lua_Number)gr_optim_get_scalars(opt)->skipped_steps); }
static void push_device(lua_State *L, const gr_optim *opt) { lua_pushstring(L, gr_optim_device(opt)->name); }
static void push_state_bytes(lua_State *L, const gr_optim *opt) { lua_pushnumber(L, (lua_Number)gr_optim_state_bytes(opt)); }

static const lgr_optim_property common_properties[] = {
    {"current_lr", push_current_lr},
    {"step_count", push_step_count},
    {"skipped_steps", push_skipped},
    {"device", push_device},
    {"state_bytes", push_state_bytes},
    {NULL, NULL},
};

/* Read-only fields of the data-parallel setting. */
static const char *const dist_fields[] = {"distributed", "shard_state", NULL};

static int push_dist_field(lua_State *L, const lgr_optim_box *box, const char *key)
{
    if (!strcmp(key, "distributed")) lua_pushboolean(L, box->dist != NULL);
    else if (!strcmp(key, "shard_state")) lua_pushboolean(L, box->dist && gr_optim_dist_get_options(box->dist)->shard_state);
    else return 0;
    return 1;
}

static const lgr_optim_property *find_property(const lgr_optim_property *props, const char *key)
{
    for (; props && props->name; props++)
        if (strcmp(props->name, key) == 0) return props;
    return NULL;
}

/* The history a "<name>_history" field or history(name) refers to, or -1. */
static int history_id(const lgr_optim_class *cls, const char *name, int with_suffix)
{
    for (int h = 0; h < GR_OPTIM_NHIST; h++) {
        if (!(cls->histories & (1u << h))) continue;
        const char *hn = gr_optim_history_name((gr_optim_history_id)h);
        size_t len = strlen(hn);
        if (strncmp(name, hn, len) == 0 && strcmp(name + len, with_suffix ? "_history" : "") == 0) return h;
    }
    return -1;
}

/* Pushes a read-only field; returns 0 if key names none. Every one but the
 * device reads the state, so is a sync point. */
static int push_property(lua_State *L, const lgr_optim_box *box, const char *key)
{
    const lgr_optim_property *p = find_property(common_properties, key);
    if (!p) p = find_property(box->cls->properties, key);
    int h = p ? -1 : history_id(box->cls, key, 1);
    if (!p && h < 0) return 0;
    if (strcmp(key, "device") != 0) lgr_check(L, gr_optim_sync(box->opt));
    if (p) p->push(L, box->opt);
    else push_history_array(L, box->opt, (gr_optim_history_id)h);
    return 1;
}

static int m_index(lua_State *L)
{
    lgr_optim_box *box = check_box(L, 1);
    lua_getmetatable(L, 1);
    lua_getfield(L, -1, "methods");
    lua_pushvalue(L, 2);
    lua_rawget(L, -2);
    if (!lua_isnil(L, -1) || lua_type(L, 2) != LUA_TSTRING) return 1;
    lua_pop(L, 3);
    gr_optim *opt = check_live(L, box);
    const char *key = lua_tostring(L, 2);
    gr_optim_value v;
    if (gr_optim_field_in_use(key)) lgr_check(L, gr_optim_sync(opt));
    if (gr_optim_get(opt, key, &v)) push_value(L, &v);
    else if (!push_property(L, box, key) && !push_dist_field(L, box, key)) lua_pushnil(L);
    return 1;
}

static int m_newindex(lua_State *L)
{
    lgr_optim_box *box = check_box(L, 1);
    gr_optim *opt = check_live(L, box);
    const char *cls = gr_optim_kind_name(box->cls->kind);
    if (lua_type(L, 2) != LUA_TSTRING)
        return luaL_error(L, "%s: cannot set a %s key", cls, luaL_typename(L, 2));
    const char *key = lua_tostring(L, 2);
    gr_optim_value v;
    if (gr_optim_get(opt, key, &v)) {
        v = to_value(L, 3);
        lgr_check(L, gr_optim_set(opt, key, &v));
        return 0;
    }
    lua_getmetatable(L, 1);
    lua_getfield(L, -1, "methods");
    lua_getfield(L, -1, key);
    if (!lua_isnil(L, -1) || find_property(common_properties, key) || find_property(box->cls->properties, key) ||
        history_id(box->cls, key, 1) >= 0 || push_dist_field(L, box, key))
        return luaL_error(L, "%s: field '%s' is read-only", cls, key);
    return luaL_error(L, "%s: cannot set unknown field '%s'", cls, key);
}

static int m_history(lua_State *L)
{
    lgr_optim_box *box = check_box(L, 1);
    gr_optim *opt = check_live(L, box);
    const char *name = luaL_checkstring(L, 2);
    int h = history_id(box->cls, name, 0);
    if (h < 0) {
        luaL_Buffer b;
        luaL_buffinit(L, &b);
        const char *sep = "";
        for (int k = 0; k < GR_OPTIM_NHIST; k++)
            if (box->cls->histories & (1u << k)) {
                lua_pushfstring(L, "%s\"%s\"", sep, gr_optim_history_name((gr_optim_history_id)k));
                luaL_addvalue(&b);
                sep = ", ";
            }
        luaL_pushresult(&b);
        luaL_argerror(L, 2, lua_pushfstring(L, "unknown history \"%s\" (expected %s)", name, lua_tostring(L, -1)));
    }
    lgr_check(L, gr_optim_sync(opt));
    int64_t len;
    const double *data = gr_optim_history(opt, (gr_optim_history_id)h, &len);
    float *buf = lua_newuserdata(L, (size_t)(len ? len : 1) * sizeof *buf);
    for (int64_t i = 0; i < len; i++) buf[i] = (float)data[i];
    gr_tensor *t;
    lgr_check(L, gr_tensor_from_host(gr_device_cpu(), 1, &len, buf, &t));
    lgr_push_tensor(L, t);
    return 1;
}

/* ---- state_dict --------------------------------------------------------- */

static int m_state_dict(lua_State *L)
{
    lgr_optim_box *box = check_box(L, 1);
    check_live(L, box);
    gr_optim *opt = full_optim(L, box);
    gr_optim_kind kind = box->cls->kind;
    lgr_check(L, gr_optim_sync(opt));
    lua_newtable(L);
    int sd = lua_gettop(L);
    lua_pushstring(L, gr_optim_kind_name(kind));
    lua_setfield(L, sd, "class");
    lua_pushinteger(L, STATE_FORMAT);
    lua_setfield(L, sd, "format");

    lua_newtable(L);
    const char *name;
    for (int i = 0; (name = gr_optim_option_name(kind, i)); i++) {
        gr_optim_value v;
        gr_optim_options_get(kind, gr_optim_get_options(opt), name, &v);
        push_value(L, &v);
        lua_setfield(L, -2, name);
    }
    lua_setfield(L, sd, "options");

    const gr_optim_scalars *s = gr_optim_get_scalars(opt);
    for (int i = 0; (name = gr_optim_scalar_name(i, NULL)); i++) {
        lua_pushnumber(L, gr_optim_scalar_get(s, i));
        lua_setfield(L, sd, name);
    }
    for (int h = 0; h < GR_OPTIM_NHIST; h++) {
        push_history_array(L, opt, (gr_optim_history_id)h);
        lua_pushfstring(L, "%s_history", gr_optim_history_name((gr_optim_history_id)h));
        lua_insert(L, -2);
        lua_settable(L, sd);
    }

    int n = gr_optim_param_count(opt);
    lua_createtable(L, n, 0);
    for (int i = 0; i < n; i++) {
        lua_newtable(L);
        for (int k = 0; k < GR_OPTIM_NSLOTS; k++) {
            gr_tensor *slot = gr_optim_state_slot(opt, i, (gr_optim_slot)k), *copy;
            if (!slot) continue;
            lgr_check(L, gr_tensor_clone(slot, &copy));
            lgr_push_tensor(L, copy);
            lua_setfield(L, -2, gr_optim_slot_name((gr_optim_slot)k));
        }
        lua_rawseti(L, -2, i + 1);
    }
    lua_setfield(L, sd, "state");
    return 1;
}

static int is_top_level_key(const char *key)
{
    static const char *const fixed[] = {"class", "format", "options", "state"};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        if (!strcmp(key, fixed[i])) return 1;
    const char *name;
    for (int i = 0; (name = gr_optim_scalar_name(i, NULL)); i++)
        if (!strcmp(key, name)) return 1;
    for (int h = 0; h < GR_OPTIM_NHIST; h++) {
        const char *hn = gr_optim_history_name((gr_optim_history_id)h);
        size_t len = strlen(hn);
        if (!strncmp(key, hn, len) && !strcmp(key + len, "_history")) return 1;
    }
    return 0;
}

/* Raises "bad argument #1 to 'load_state_dict' (...)". */
static int bad_state(lua_State *L, const char *msg)
{
    return luaL_argerror(L, 2, msg);
}

static void read_scalars(lua_State *L, int sd, gr_optim_scalars *s)
{
    const char *name;
    for (int i = 0; (name = gr_optim_scalar_name(i, NULL)); i++) {
        lua_getfield(L, sd, name);
        if (lua_type(L, -1) != LUA_TNUMBER)
            bad_state(L, lua_pushfstring(L, "field '%s' must be a number, got %s", name, type_of(L, -1)));
        lgr_check_arg(L, gr_optim_scalar_set(s, i, lua_tonumber(L, -1)), 2);
        lua_pop(L, 1);
    }
}

/* The history arrays as doubles, in scratch userdata left on the stack. */
static void read_histories(lua_State *L, int sd, gr_optim_state *st)
{
    for (int h = 0; h < GR_OPTIM_NHIST; h++) {
        const char *name = lua_pushfstring(L, "%s_history", gr_optim_history_name((gr_optim_history_id)h));
        lua_getfield(L, sd, name);
        if (lua_type(L, -1) != LUA_TTABLE)
            bad_state(L, lua_pushfstring(L, "field '%s' must be an array of numbers, got %s", name, type_of(L, -1)));
        int arr = lua_gettop(L), len = (int)lua_objlen(L, arr);
        double *data = lua_newuserdata(L, (size_t)(len ? len : 1) * sizeof *data);
        for (int i = 0; i < len; i++) {
            lua_rawgeti(L, arr, i + 1);
            if (lua_type(L, -1) != LUA_TNUMBER)
                bad_state(L, lua_pushfstring(L, "field '%s' must be an array of numbers (entry %d is %s)", name,
                                             i + 1, type_of(L, -1)));
            data[i] = lua_tonumber(L, -1);
            lua_pop(L, 1);
        }
        st->history[h] = data;
        st->history_len[h] = len;
        lua_replace(L, arr - 1);   /* keep the scratch, drop the name */
        lua_pop(L, 1);
    }
}

/* The per-parameter tensors, borrowed from the state table. */
static gr_tensor **read_slots(lua_State *L, int sd, int n)
{
    lua_getfield(L, sd, "state");
    if (lua_type(L, -1) != LUA_TTABLE)
        bad_state(L, lua_pushfstring(L, "field 'state' must be an array of per-parameter tables, got %s",
                                     type_of(L, -1)));
    int arr = lua_gettop(L), len = (int)lua_objlen(L, arr);
    if (len != n)
        bad_state(L, lua_pushfstring(L, "state holds %d parameter%s, the optimizer has %d", len,
                                     len == 1 ? "" : "s", n));
    gr_tensor **slots = lua_newuserdata(L, (size_t)(n ? n : 1) * GR_OPTIM_NSLOTS * sizeof *slots);
    for (int i = 0; i < n; i++) {
        lua_rawgeti(L, arr, i + 1);
        int entry = lua_gettop(L);
        if (lua_type(L, entry) != LUA_TTABLE)
            bad_state(L, lua_pushfstring(L, "state[%d] must be a table, got %s", i + 1, type_of(L, entry)));
        for (lua_pushnil(L); lua_next(L, entry); lua_pop(L, 1)) {
            int known = 0;
            for (int k = 0; k < GR_OPTIM_NSLOTS && lua_type(L, -2) == LUA_TSTRING; k++)
                known |= !strcmp(lua_tostring(L, -2), gr_optim_slot_name((gr_optim_slot)k));
            if (!known)
                bad_state(L, lua_pushfstring(L, "state[%d] has an unknown key '%s'", i + 1, key_text(L, -2)));
        }
        for (int k = 0; k < GR_OPTIM_NSLOTS; k++) {
            const char *sn = gr_optim_slot_name((gr_optim_slot)k);
            lua_getfield(L, entry, sn);
            gr_tensor *t = lgr_test_tensor(L, -1);
            if (!t && !lua_isnil(L, -1))
                bad_state(L, lua_pushfstring(L, "state[%d].%s must be a grilly.Tensor, got %s", i + 1, sn,
                                             lgr_testudata(L, -1, LGR_TENSOR_MT) ? "a freed grilly.Tensor" : type_of(L, -1)));
            slots[(size_t)i * GR_OPTIM_NSLOTS + (size_t)k] = t;
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
    }
    lua_remove(L, arr);
    return slots;
}

static int m_load_state_dict(lua_State *L)
{
    lgr_optim_box *box = check_box(L, 1);
    gr_optim *opt = check_live(L, box);
    gr_optim_kind kind = box->cls->kind;
    if (lua_type(L, 2) != LUA_TTABLE)
        bad_state(L, lua_pushfstring(L, "state table expected, got %s", type_of(L, 2)));
    lua_settop(L, 2);
    lua_getfield(L, 2, "class");
    const char *cls = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "(none)";
    if (strcmp(cls, gr_optim_kind_name(kind)))
        bad_state(L, lua_pushfstring(L, "state of class %s cannot be loaded into a %s", cls, gr_optim_kind_name(kind)));
    lua_getfield(L, 2, "format");
    if (lua_tonumber(L, -1) != STATE_FORMAT || lua_type(L, -1) != LUA_TNUMBER)
        bad_state(L, lua_pushfstring(L, "unsupported state format (expected format = %d)", STATE_FORMAT));
    lua_pop(L, 2);
    for (lua_pushnil(L); lua_next(L, 2); lua_pop(L, 1))
        if (lua_type(L, -2) != LUA_TSTRING || !is_top_level_key(lua_tostring(L, -2)))
            bad_state(L, lua_pushfstring(L, "unknown field '%s'", key_text(L, -2)));

    gr_optim_state st;
    memset(&st, 0, sizeof st);
    lua_getfield(L, 2, "options");
    if (lua_type(L, -1) != LUA_TTABLE)
        bad_state(L, lua_pushfstring(L, "field 'options' must be a table, got %s", type_of(L, -1)));
    st.options = read_options(L, lua_gettop(L), kind, 2);
    read_scalars(L, 2, &st.scalars);
    read_histories(L, 2, &st);
    st.nparams = param_count(box);
    st.slots = read_slots(L, 2, st.nparams);
    if (!box->dist) {
        lgr_check(L, gr_optim_load_state(opt, &st));
        return 0;
    }
    /* Validated into a full optimizer, which the data-parallel one then takes over. */
    int list = push_own_params(L, 1);
    gr_tensor **ps = param_array(L, list, st.nparams);
    gr_optim *full;
    lgr_check(L, gr_optim_new(kind, ps, st.nparams, &st.options, &full));
    gr_status s = gr_optim_load_state(full, &st);
    if (s != GR_OK) gr_optim_free(full);
    else s = gr_optim_dist_load(box->dist, full);
    box->opt = gr_optim_dist_optim(box->dist);
    lgr_check(L, s);
    return 0;
}

static int m_save(lua_State *L)
{
    lgr_optim_box *box = check_box(L, 1);
    gr_optim *opt = check_live(L, box);
    const char *path = lgr_check_path(L, 2);
    lgr_check_file(L, box->dist ? gr_optim_dist_save(box->dist, path) : gr_optim_save(opt, path), "save");
    return 0;
}

/* ---- module helpers ------------------------------------------------------ */

/* load(path, params): the optimizer saved at path, continuing over params. */
static int l_load(lua_State *L)
{
    const char *path = lgr_check_path(L, 1);
    lua_settop(L, 2);
    int n = push_param_list(L, 2), list = lua_gettop(L);
    gr_tensor **ps = param_array(L, list, n);
    lgr_optim_box *box = push_box(L, list, n);
    gr_optim *opt;
    lgr_check_file(L, gr_optim_load(path, ps, n, &opt), "load");
    for (int i = 0; i < nclasses; i++)
        if (classes[i]->kind == gr_optim_get_kind(opt)) {
            box->opt = opt;
            adopt(L, lua_gettop(L), box, classes[i]);
        }
    return 1;
}


/* distribute(opt, comm, shard_state, bucket_elems): makes opt data-parallel
 * over comm, in place; returns opt. grilly.optim.distributed checks the
 * options and passes them on. */
static int l_distribute(lua_State *L)
{
    lgr_optim_box *box = check_box(L, 1);
    gr_optim *opt = check_live(L, box);
    gr_comm *comm = lgr_check_comm(L, 2);
    if (box->dist) return luaL_error(L, "%s: the optimizer is distributed already", gr_optim_kind_name(box->cls->kind));
    gr_optim_dist_options o = {lua_toboolean(L, 3), (int64_t)luaL_checknumber(L, 4)};
    lgr_check(L, gr_optim_dist_new(opt, comm, &o, &box->dist));
    box->opt = gr_optim_dist_optim(box->dist);
    lua_getfenv(L, 1);
    lua_pushvalue(L, 2);
    lua_setfield(L, -2, "comm");
    lua_settop(L, 1);
    return 1;
}

/* collect_grads(params [, grads]): the gradient each parameter would use. */
static int l_collect_grads(lua_State *L)
{
    lua_settop(L, 2);
    if (!lua_isnil(L, 2) && !lua_istable(L, 2))
        luaL_argerror(L, 2, lua_pushfstring(L, "table of gradients keyed by parameter expected, got %s", type_of(L, 2)));
    int n = push_param_list(L, 1), list = lua_gettop(L);
    lua_newtable(L);
    for (int i = 0; i < n; i++) {
        lua_rawgeti(L, list, i + 1);
        if (push_grad(L, list, i, lua_isnil(L, 2) ? 0 : 2)) lua_rawset(L, -3);
        else lua_pop(L, 2);
    }
    return 1;
}

/* compute_update_directions(opt): the current direction d of each parameter. */
static int l_compute_update_directions(lua_State *L)
{
    lgr_optim_box *box = check_box(L, 1);
    check_live(L, box);
    gr_optim *opt = full_optim(L, box);
    int list = push_own_params(L, 1), n = param_count(box);
    lua_newtable(L);
    for (int i = 0; i < n; i++) {
        gr_tensor *d;
        lua_rawgeti(L, list, i + 1);
        lgr_check(L, gr_optim_direction(opt, i, &d));
        lgr_push_tensor(L, d);
        lua_rawset(L, -3);
    }
    return 1;
}

/* ---- registration -------------------------------------------------------- */

static const luaL_Reg optim_methods[] = {
    {"step", m_step},
    {"zero_grad", m_zero_grad},
    {"history", m_history},
    {"state_dict", m_state_dict},
    {"load_state_dict", m_load_state_dict},
    {"save", m_save},
    {"free", m_free},
    {NULL, NULL},
};

static const luaL_Reg optim_meta[] = {
    {"__gc", m_free},
    {"__index", m_index},
    {"__newindex", m_newindex},
    {"__tostring", m_tostring},
    {NULL, NULL},
};

static const luaL_Reg optim_functions[] = {
    {"collect_grads", l_collect_grads},
    {"compute_update_directions", l_compute_update_directions},
    {"load", l_load},
    {"distribute", l_distribute},
    {NULL, NULL},
};

static void add_name(lua_State *L, int *n, const char *name)
{
    lua_pushstring(L, name);
    lua_rawseti(L, -2, ++*n);
}

/* Pushes the array of cls's readable fields (properties, histories and
 * hyperparameters), which tools such as the REPL's completion list. */
static void push_field_names(lua_State *L, const lgr_optim_class *cls)
{
    int n = 0;
    lua_newtable(L);
    for (const lgr_optim_property *p = common_properties; p->name; p++) add_name(L, &n, p->name);
    for (const lgr_optim_property *p = cls->properties; p && p->name; p++) add_name(L, &n, p->name);
    for (int h = 0; h < GR_OPTIM_NHIST; h++) {
        if (!(cls->histories & (1u << h))) continue;
        lua_pushfstring(L, "%s_history", gr_optim_history_name((gr_optim_history_id)h));
        lua_rawseti(L, -2, ++n);
    }
    const char *name;
    for (int i = 0; (name = gr_optim_option_name(cls->kind, i)) != NULL; i++) add_name(L, &n, name);
    add_name(L, &n, "beta1");
    add_name(L, &n, "beta2");
    for (int i = 0; dist_fields[i]; i++) add_name(L, &n, dist_fields[i]);
}

void lgr_optim_register(lua_State *L, const lgr_optim_class *cls, lua_CFunction ctor)
{
    int known = 0;
    for (int i = 0; i < nclasses; i++) known |= classes[i] == cls;
    if (!known && nclasses < (int)(sizeof classes / sizeof classes[0])) classes[nclasses++] = cls;
    luaL_newmetatable(L, cls->metatable);
    luaL_register(L, NULL, optim_meta);
    lua_pushstring(L, cls->metatable);
    lua_setfield(L, -2, "__name");
    lua_newtable(L);
    luaL_register(L, NULL, optim_methods);
    lua_setfield(L, -2, "methods");
    push_field_names(L, cls);
    lua_setfield(L, -2, "__fields");
    lua_pop(L, 1);
    lua_pushcfunction(L, ctor);
    lua_setfield(L, -2, gr_optim_kind_name(cls->kind));
}

void lgr_optim_open(lua_State *L)
{
    lua_newtable(L);
    lgr_adamw_open(L);
    lgr_hypergradient_adamw_open(L);
    lgr_auto_hypergradient_adamw_open(L);
    luaL_register(L, NULL, optim_functions);
    lua_setfield(L, -2, "optim");
}

/* grilly.save and grilly.load: a tensor, or a table of tensors, in a grilly
 * file. Each tensor becomes one record named by the path of keys leading to
 * it (docs/file-format.md, "Lua values"). */
#include "lgr.h"
#include "gr_file.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_INT_KEY 9007199254740992.0   /* 2^53: integer keys above it lose precision */

void lgr_check_file(lua_State *L, gr_status s, const char *fname)
{
    if (s == GR_OK) return;
    char msg[512];
    snprintf(msg, sizeof msg, "%s", gr_last_error());
    lgr_check(L, gr_fail(s, "%s: %s", fname, msg));
}

const char *lgr_check_path(lua_State *L, int idx)
{
    size_t len;
    const char *path = luaL_checklstring(L, idx, &len);
    if (strlen(path) != len) luaL_argerror(L, idx, "file name contains a NUL byte");
    return path;
}

/* ---- save: tables to record names ----------------------------------------- */

typedef struct save_walk {
    char name[GR_FILE_MAX_NAME + 1];  /* record name of the table being walked */
    size_t len;
    int list;      /* stack index: the pairs found so far, name at 2i-1, tensor at 2i */
    int visiting;  /* stack index: set of the tables on the current path */
    int pairs;
} save_walk;

typedef struct table_key {
    int is_int;
    lua_Number num;
    const char *str;   /* anchored by the table, which is not modified */
    size_t len;
} table_key;

static int key_order(const void *pa, const void *pb)
{
    const table_key *a = pa, *b = pb;
    if (a->is_int != b->is_int) return a->is_int ? -1 : 1;
    if (a->is_int) return (a->num > b->num) - (a->num < b->num);
    size_t n = a->len < b->len ? a->len : b->len;
    int c = memcmp(a->str, b->str, n);
    return c ? c : (a->len > b->len) - (a->len < b->len);
}

/* The record name reached so far, for messages: shortened when long. */
static const char *shown_name(lua_State *L, const save_walk *sw)
{
    if (sw->len <= 80) {
        lua_pushlstring(L, sw->name, sw->len);
        return lua_tostring(L, -1);
    }
    lua_pushlstring(L, sw->name, 60);
    lua_pushliteral(L, "...");
    lua_concat(L, 2);
    return lua_tostring(L, -1);
}

static const char *table_at(lua_State *L, const save_walk *sw)
{
    return sw->len ? lua_pushfstring(L, "the table at '%s'", shown_name(L, sw)) : "the top-level table";
}

/* Appends one key to sw->name: integers as decimal digits; strings with '%',
 * '.', NUL and a leading digit written as %XX, so every name decodes back to
 * its keys. Returns the previous length, for restoring. */
static size_t push_segment(lua_State *L, save_walk *sw, const table_key *k)
{
    char seg[GR_FILE_MAX_NAME + 4];   /* room for one escape past the limit, which then fails */
    size_t n = 0;
    if (k->is_int) {
        n = (size_t)snprintf(seg, sizeof seg, "%.0f", (double)k->num);
    } else {
        for (size_t i = 0; i < k->len && n <= GR_FILE_MAX_NAME; i++) {
            unsigned char c = (unsigned char)k->str[i];
            if (c == '%' || c == '.' || c == 0 || (i == 0 && c >= '0' && c <= '9'))
                n += (size_t)snprintf(seg + n, sizeof seg - n, "%%%02X", c);
            else
                seg[n++] = (char)c;
        }
    }
    size_t old = sw->len, add = (old ? 1 : 0) + n;
    if (old + add > GR_FILE_MAX_NAME) {
        sw->name[old] = 0;
        luaL_argerror(L, 2, lua_pushfstring(L, "a key in %s makes a record name longer than %d bytes",
                                            table_at(L, sw), GR_FILE_MAX_NAME));
    }
    if (old) sw->name[sw->len++] = '.';
    memcpy(sw->name + sw->len, seg, n);
    sw->len += n;
    sw->name[sw->len] = 0;
    return old;
}

/* The keys of the table at idx, checked and in a fixed order (integers
 * ascending, then strings bytewise), so that equal tables give equal files.
 * The array lives in a userdata left on the stack. */
static table_key *sorted_keys(lua_State *L, int idx, const save_walk *sw, size_t *count)
{
    size_t n = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) { lua_pop(L, 1); n++; }
    table_key *keys = lua_newuserdata(L, (n ? n : 1) * sizeof *keys);
    size_t i = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        table_key *k = &keys[i++];
        if (lua_type(L, -1) == LUA_TNUMBER) {
            lua_Number d = lua_tonumber(L, -1);
            if (!(d >= 1 && d <= MAX_INT_KEY && d == floor(d))) {
                const char *key = lua_tostring(L, -1);
                luaL_argerror(L, 2, lua_pushfstring(L, "key %s in %s is not a positive integer (up to 2^53) or a string",
                                                    key, table_at(L, sw)));
            }
            *k = (table_key){.is_int = 1, .num = d};
        } else if (lua_type(L, -1) == LUA_TSTRING) {
            size_t len;
            const char *str = lua_tolstring(L, -1, &len);
            *k = (table_key){.is_int = 0, .str = str, .len = len};
            if (len == 0)
                luaL_argerror(L, 2, lua_pushfstring(L, "the empty string key in %s cannot be saved", table_at(L, sw)));
        } else {
            const char *type = luaL_typename(L, -1);
            luaL_argerror(L, 2, lua_pushfstring(L, "a %s key in %s cannot be saved (keys must be strings or positive integers)",
                                                type, table_at(L, sw)));
        }
    }
    qsort(keys, n, sizeof *keys, key_order);
    *count = n;
    return keys;
}

static void collect(lua_State *L, save_walk *sw, int idx);

static void collect_table(lua_State *L, save_walk *sw, int idx)
{
    luaL_checkstack(L, 8, "tables nested too deeply");
    lua_pushvalue(L, idx);
    lua_rawget(L, sw->visiting);
    if (lua_toboolean(L, -1))
        luaL_argerror(L, 2, lua_pushfstring(L, "value at '%s' is a table that contains itself (a cycle), which cannot be saved",
                                            shown_name(L, sw)));
    lua_pop(L, 1);
    lua_pushvalue(L, idx);
    lua_pushboolean(L, 1);
    lua_rawset(L, sw->visiting);

    size_t n;
    table_key *keys = sorted_keys(L, idx, sw, &n);
    for (size_t i = 0; i < n; i++) {
        if (keys[i].is_int) lua_pushnumber(L, keys[i].num);
        else lua_pushlstring(L, keys[i].str, keys[i].len);
        lua_rawget(L, idx);
        size_t old = push_segment(L, sw, &keys[i]);
        collect(L, sw, lua_gettop(L));
        sw->len = old;
        sw->name[old] = 0;
        lua_pop(L, 1);
    }
    lua_pop(L, 1);   /* the keys */

    lua_pushvalue(L, idx);
    lua_pushnil(L);
    lua_rawset(L, sw->visiting);
}

static void collect(lua_State *L, save_walk *sw, int idx)
{
    if (lua_istable(L, idx)) { collect_table(L, sw, idx); return; }
    if (lgr_testudata(L, idx, LGR_TENSOR_MT)) {
        if (!lgr_test_tensor(L, idx))
            luaL_argerror(L, 2, lua_pushfstring(L, "use of freed grilly.Tensor at '%s'", shown_name(L, sw)));
        lua_pushlstring(L, sw->name, sw->len);
        lua_rawseti(L, sw->list, 2 * sw->pairs + 1);
        lua_pushvalue(L, idx);
        lua_rawseti(L, sw->list, 2 * sw->pairs + 2);
        sw->pairs++;
        return;
    }
    const char *type = luaL_typename(L, idx);
    luaL_argerror(L, 2, lua_pushfstring(L, "value at '%s' must be a grilly.Tensor or a table, got %s",
                                        shown_name(L, sw), type));
}

static int l_save(lua_State *L)
{
    const char *path = lgr_check_path(L, 1);
    if (!lua_istable(L, 2) && !lgr_testudata(L, 2, LGR_TENSOR_MT))
        luaL_argerror(L, 2, lua_pushfstring(L, "grilly.Tensor or table of tensors expected, got %s", luaL_typename(L, 2)));
    if (!lua_istable(L, 2)) lgr_check_tensor(L, 2);
    lua_settop(L, 2);

    /* Everything is checked before the file is opened, so that no Lua error
     * can leave a writer (and its temporary file) behind. */
    save_walk *sw = lua_newuserdata(L, sizeof *sw);
    sw->len = 0;
    sw->name[0] = 0;
    sw->pairs = 0;
    lua_newtable(L);
    sw->list = lua_gettop(L);
    lua_newtable(L);
    sw->visiting = lua_gettop(L);
    collect(L, sw, 2);

    gr_file_writer *w;
    lgr_check_file(L, gr_file_writer_open(path, &w), "grilly.save");
    for (int i = 0; i < sw->pairs; i++) {
        lua_rawgeti(L, sw->list, 2 * i + 1);
        lua_rawgeti(L, sw->list, 2 * i + 2);
        gr_status s = gr_file_write_tensor(w, lua_tostring(L, -2), lgr_test_tensor(L, -1));
        lua_pop(L, 2);
        if (s != GR_OK) {
            gr_file_writer_abort(w);
            lgr_check_file(L, s, "grilly.save");
        }
    }
    lgr_check_file(L, gr_file_writer_commit(w), "grilly.save");
    return 0;
}

/* ---- load: record names back to tables ------------------------------------ */

typedef struct load_job {
    gr_file_reader *r;
    gr_device *dev;
} load_job;

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Pushes the key that one segment of a record name stands for. */
static void push_key(lua_State *L, const char *seg, size_t len)
{
    if (len >= 1 && len <= 16 && seg[0] >= '1' && seg[0] <= '9') {
        double v = 0;
        size_t i = 0;
        while (i < len && seg[i] >= '0' && seg[i] <= '9') v = v * 10 + (seg[i++] - '0');
        if (i == len && v <= MAX_INT_KEY) { lua_pushnumber(L, v); return; }
    }
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (size_t i = 0; i < len; i++) {
        int hi, lo;
        if (seg[i] == '%' && i + 2 < len && (hi = hex_digit(seg[i + 1])) >= 0 && (lo = hex_digit(seg[i + 2])) >= 0) {
            luaL_addchar(&b, (char)(hi * 16 + lo));
            i += 2;
        } else {
            luaL_addchar(&b, seg[i]);
        }
    }
    luaL_pushresult(&b);
}

static void push_array(lua_State *L, load_job *job, const gr_file_record *rec)
{
    const char *path = gr_file_reader_path(job->r);
    if (rec->count > 0x7fffffff)
        luaL_error(L, "grilly.load: record '%s' of '%s' has %lld elements, too many for a Lua table",
                   rec->name, path, (long long)rec->count);
    int n = (int)rec->count;
    if (rec->type == GR_FILE_BYTES) {
        char *buf = lua_newuserdata(L, (size_t)n);
        lgr_check_file(L, gr_file_read_string(job->r, rec->name, buf, (size_t)n), "grilly.load");
        lua_pushlstring(L, buf, (size_t)n);
    } else {
        void *buf = lua_newuserdata(L, (size_t)n * 8);
        gr_status s = rec->type == GR_FILE_ARRAY_F64 ? gr_file_read_f64(job->r, rec->name, buf, n)
                                                     : gr_file_read_i64(job->r, rec->name, buf, n);
        lgr_check_file(L, s, "grilly.load");
        lua_createtable(L, n, 0);
        for (int i = 0; i < n; i++) {
            /* int64 values beyond 2^53 round to the nearest double. */
            lua_pushnumber(L, rec->type == GR_FILE_ARRAY_F64 ? ((double *)buf)[i] : (lua_Number)((int64_t *)buf)[i]);
            lua_rawseti(L, -2, i + 1);
        }
    }
    lua_remove(L, -2);   /* the buffer */
}

static void push_record(lua_State *L, load_job *job, const gr_file_record *rec)
{
    if (rec->type != GR_FILE_TENSOR_F32) { push_array(L, job, rec); return; }
    gr_tensor *t;
    lgr_check_file(L, gr_file_read_tensor(job->r, rec->name, job->dev, &t), "grilly.load");
    lgr_push_tensor(L, t);
}

static void clash(lua_State *L, load_job *job, const gr_file_record *rec)
{
    luaL_error(L, "grilly.load: '%s' cannot be loaded as one value (record '%s' clashes with an earlier record)",
               gr_file_reader_path(job->r), rec->name);
}

/* Stores the record's value in the table at root, under the keys its name spells. */
static void place_record(lua_State *L, load_job *job, int root, const gr_file_record *rec)
{
    luaL_checkstack(L, 8, "record name nested too deeply");
    lua_pushvalue(L, root);
    const char *seg = rec->name;
    for (;;) {
        const char *dot = strchr(seg, '.');
        size_t len = dot ? (size_t)(dot - seg) : strlen(seg);
        push_key(L, seg, len);
        lua_pushvalue(L, -1);
        lua_rawget(L, -3);
        if (!dot) {
            if (!lua_isnil(L, -1)) clash(L, job, rec);
            lua_pop(L, 1);
            push_record(L, job, rec);
            lua_rawset(L, -3);
            lua_pop(L, 1);
            return;
        }
        if (lua_isnil(L, -1)) {
            lua_pop(L, 1);
            lua_newtable(L);
            lua_pushvalue(L, -2);
            lua_pushvalue(L, -2);
            lua_rawset(L, -5);
        } else if (!lua_istable(L, -1)) {
            clash(L, job, rec);
        }
        lua_remove(L, -2);   /* the key */
        lua_remove(L, -2);   /* the parent */
        seg = dot + 1;
    }
}

/* Runs under lua_pcall, so that the reader is closed whatever happens. */
static int build_value(lua_State *L)
{
    load_job *job = lua_touserdata(L, 1);
    size_t n = gr_file_reader_count(job->r);
    const gr_file_record *first = gr_file_reader_record(job->r, 0);
    if (n == 1 && first->name[0] == 0) {
        push_record(L, job, first);
        return 1;
    }
    lua_newtable(L);
    int root = lua_gettop(L);
    for (size_t i = 0; i < n; i++) place_record(L, job, root, gr_file_reader_record(job->r, i));
    return 1;
}

static int l_load(lua_State *L)
{
    const char *path = lgr_check_path(L, 1);
    load_job job = {NULL, lgr_opt_device(L, 2)};
    lua_pushcfunction(L, build_value);    /* before the reader opens: may raise */
    lgr_check_file(L, gr_file_reader_open(path, &job.r), "grilly.load");
    lua_pushlightuserdata(L, &job);
    int status = lua_pcall(L, 1, 1, 0);
    gr_file_reader_close(job.r);
    if (status != 0) lua_error(L);
    return 1;
}

static const luaL_Reg file_functions[] = {
    {"save", l_save},
    {"load", l_load},
    {NULL, NULL},
};

void lgr_file_open(lua_State *L)
{
    luaL_register(L, NULL, file_functions);
}

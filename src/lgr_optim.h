/* What the three optimizer userdata types share (lgr_optim.c); each type's
 * file describes its class with an lgr_optim_class. */
#ifndef LGR_OPTIM_H
#define LGR_OPTIM_H

#include "lgr.h"
#include "gr_optim.h"

/* A read-only field of one class, e.g. current_surprise. */
typedef struct lgr_optim_property {
    const char *name;
    void (*push)(lua_State *L, const gr_optim *opt);
} lgr_optim_property;

typedef struct lgr_optim_class {
    gr_optim_kind kind;
    const char *metatable;             /* "grilly.AdamW" */
    unsigned histories;                /* bit per gr_optim_history_id the class exposes */
    const lgr_optim_property *properties;  /* NULL-terminated, or NULL */
} lgr_optim_class;

/* The constructor shared by the three classes: cls(params, options). */
int lgr_optim_new(lua_State *L, const lgr_optim_class *cls);

/* Registers cls's metatable and puts ctor into the table on top of the
 * stack under the class name. */
void lgr_optim_register(lua_State *L, const lgr_optim_class *cls, lua_CFunction ctor);

void lgr_adamw_open(lua_State *L);
void lgr_hypergradient_adamw_open(lua_State *L);
void lgr_auto_hypergradient_adamw_open(lua_State *L);

#endif

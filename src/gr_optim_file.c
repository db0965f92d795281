/* Optimizer files: the complete state of an optimizer in a grilly file.
 * Records are named like the keys of the Lua state_dict ("class", "format",
 * "nparams", "options.<name>", one per scalar, "<name>_history" and
 * "state.<i>.<slot>"), so grilly.load shows the same layout. */
#include "gr_optim_impl.h"
#include "gr_file.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OPTIM_FILE_FORMAT 1
#define NAME_LEN 96

static gr_status write_option(gr_file_writer *w, const char *name, const gr_optim_value *v)
{
    char rec[NAME_LEN];
    snprintf(rec, sizeof rec, "options.%s", name);
    switch (v->type) {
    case GR_OPTV_NUMBER: return gr_file_write_f64(w, rec, v->num, 1);
    case GR_OPTV_PAIR: return gr_file_write_f64(w, rec, v->num, 2);
    case GR_OPTV_BOOL: {
        int64_t b = v->boolean;
        return gr_file_write_i64(w, rec, &b, 1);
    }
    default: return gr_file_write_string(w, rec, v->str, strlen(v->str));
    }
}

static gr_status write_all(gr_file_writer *w, const gr_optim *opt)
{
    const char *cls = gr_optim_kind_name(opt->kind), *name;
    int64_t format = OPTIM_FILE_FORMAT, nparams = opt->n;
    GR_TRY(gr_file_write_string(w, "class", cls, strlen(cls)));
    GR_TRY(gr_file_write_i64(w, "format", &format, 1));
    GR_TRY(gr_file_write_i64(w, "nparams", &nparams, 1));
    for (int i = 0; (name = gr_optim_option_name(opt->kind, i)); i++) {
        gr_optim_value v;
        gr_optim_options_get(opt->kind, &opt->o, name, &v);
        GR_TRY(write_option(w, name, &v));
    }
    int is_count;
    for (int i = 0; (name = gr_optim_scalar_name(i, &is_count)); i++) {
        double x = gr_optim_scalar_get(&opt->s, i);
        if (is_count) {
            int64_t k = (int64_t)x;   /* a count, below 2^53: exact */
            GR_TRY(gr_file_write_i64(w, name, &k, 1));
        } else {
            GR_TRY(gr_file_write_f64(w, name, &x, 1));
        }
    }
    char rec[NAME_LEN];
    for (int h = 0; h < GR_OPTIM_NHIST; h++) {
        snprintf(rec, sizeof rec, "%s_history", gr_optim_history_name((gr_optim_history_id)h));
        GR_TRY(gr_file_write_f64(w, rec, opt->hist[h].data, opt->hist[h].len));
    }
    for (int i = 0; i < opt->n; i++)
        for (int k = 0; k < GR_OPTIM_NSLOTS; k++) {
            const gr_tensor *t = opt->params[i].slot[k];
            if (!t) continue;
            snprintf(rec, sizeof rec, "state.%d.%s", i + 1, gr_optim_slot_name((gr_optim_slot)k));
            GR_TRY(gr_file_write_tensor(w, rec, t));
        }
    return GR_OK;
}

gr_status gr_optim_save(gr_optim *opt, const char *path)
{
    GR_TRY(gr_optim_sync(opt));
    gr_file_writer *w;
    GR_TRY(gr_file_writer_open(path, &w));
    gr_status s = write_all(w, opt);
    if (s != GR_OK) {
        gr_file_writer_abort(w);
        return s;
    }
    return gr_file_writer_commit(w);
}

/* ---- loading ------------------------------------------------------------ */

static gr_status bad_file(gr_file_reader *r, const char *what)
{
    return gr_fail(GR_ECORRUPT, "'%s' is not a valid optimizer file (%s)", gr_file_reader_path(r), what);
}

/* The value of a one-element int64 record. */
static gr_status read_count(gr_file_reader *r, const char *name, int64_t *out)
{
    const gr_file_record *rec = gr_file_reader_find(r, name);
    char what[NAME_LEN + 48];
    snprintf(what, sizeof what, "record '%s' missing or not one integer", name);
    if (!rec || rec->type != GR_FILE_ARRAY_I64 || rec->count != 1) return bad_file(r, what);
    return gr_file_read_i64(r, name, out, 1);
}

static gr_status read_class(gr_file_reader *r, gr_optim_kind *kind)
{
    const gr_file_record *rec = gr_file_reader_find(r, "class");
    char cls[64] = "";
    if (!rec || rec->type != GR_FILE_BYTES || rec->count >= (int64_t)sizeof cls)
        return bad_file(r, "no 'class' record");
    GR_TRY(gr_file_read_string(r, "class", cls, (size_t)rec->count));
    for (int k = GR_OPTIM_ADAMW; k <= GR_OPTIM_AUTO; k++)
        if (strcmp(cls, gr_optim_kind_name((gr_optim_kind)k)) == 0) {
            *kind = (gr_optim_kind)k;
            int64_t format;
            GR_TRY(read_count(r, "format", &format));
            if (format != OPTIM_FILE_FORMAT)
                return gr_fail(GR_ECORRUPT, "'%s' holds optimizer state of format %lld; this build reads format %d",
                               gr_file_reader_path(r), (long long)format, OPTIM_FILE_FORMAT);
            return GR_OK;
        }
    char what[96];
    snprintf(what, sizeof what, "unknown class '%.40s'", cls);
    return bad_file(r, what);
}

/* Options of the file, on top of the class defaults, validated. Strings are
 * read into `text`, which must outlive the call. */
static gr_status read_options(gr_file_reader *r, gr_optim_kind kind, gr_optim_options *o)
{
    const char *names[64], *name;
    gr_optim_value values[64];
    char text[64][32];
    int n = 0;
    gr_optim_options_default(kind, o);
    for (int i = 0; (name = gr_optim_option_name(kind, i)) && n < 64; i++) {
        char rec_name[NAME_LEN];
        snprintf(rec_name, sizeof rec_name, "options.%s", name);
        const gr_file_record *rec = gr_file_reader_find(r, rec_name);
        if (!rec) continue;
        gr_optim_value v = {0};
        if (rec->type == GR_FILE_ARRAY_F64 && (rec->count == 1 || rec->count == 2)) {
            v.type = rec->count == 1 ? GR_OPTV_NUMBER : GR_OPTV_PAIR;
            GR_TRY(gr_file_read_f64(r, rec_name, v.num, rec->count));
        } else if (rec->type == GR_FILE_ARRAY_I64 && rec->count == 1) {
            int64_t b;
            GR_TRY(gr_file_read_i64(r, rec_name, &b, 1));
            v.type = GR_OPTV_BOOL;
            v.boolean = b != 0;
        } else if (rec->type == GR_FILE_BYTES && rec->count < (int64_t)sizeof text[n]) {
            memset(text[n], 0, sizeof text[n]);
            GR_TRY(gr_file_read_string(r, rec_name, text[n], (size_t)rec->count));
            v.type = GR_OPTV_STRING;
            v.str = text[n];
        } else {
            char what[NAME_LEN + 32];
            snprintf(what, sizeof what, "record '%s' has the wrong type", rec_name);
            return bad_file(r, what);
        }
        v.type_name = "a value from the file";
        names[n] = name;
        values[n++] = v;
    }
    return gr_optim_options_apply(kind, o, names, values, n);
}

static gr_status read_scalars(gr_file_reader *r, gr_optim_scalars *s)
{
    const char *name;
    int is_count;
    memset(s, 0, sizeof *s);
    for (int i = 0; (name = gr_optim_scalar_name(i, &is_count)); i++) {
        const gr_file_record *rec = gr_file_reader_find(r, name);
        char what[NAME_LEN + 48];
        snprintf(what, sizeof what, "record '%s' missing or of the wrong type", name);
        if (!rec || rec->count != 1 || rec->type != (is_count ? GR_FILE_ARRAY_I64 : GR_FILE_ARRAY_F64))
            return bad_file(r, what);
        double x;
        if (is_count) {
            int64_t k;
            GR_TRY(gr_file_read_i64(r, name, &k, 1));
            x = (double)k;
        } else {
            GR_TRY(gr_file_read_f64(r, name, &x, 1));
        }
        if (gr_optim_scalar_set(s, i, x) != GR_OK) {
            char what[NAME_LEN + 48];
            snprintf(what, sizeof what, "record '%s' must be an integer >= 0", name);
            return bad_file(r, what);
        }
    }
    return GR_OK;
}

/* Everything read, owned here until released. */
typedef struct loaded {
    double *history[GR_OPTIM_NHIST];
    gr_tensor **slots;
    int nslots;
} loaded;

static void loaded_release(loaded *ld)
{
    for (int h = 0; h < GR_OPTIM_NHIST; h++) free(ld->history[h]);
    for (int j = 0; ld->slots && j < ld->nslots; j++) gr_tensor_release(ld->slots[j]);
    free(ld->slots);
}

static gr_status read_histories(gr_file_reader *r, loaded *ld, gr_optim_state *st)
{
    for (int h = 0; h < GR_OPTIM_NHIST; h++) {
        char name[NAME_LEN];
        snprintf(name, sizeof name, "%s_history", gr_optim_history_name((gr_optim_history_id)h));
        const gr_file_record *rec = gr_file_reader_find(r, name);
        char what[NAME_LEN + 48];
        snprintf(what, sizeof what, "record '%s' missing or of the wrong type", name);
        if (!rec || rec->type != GR_FILE_ARRAY_F64) return bad_file(r, what);
        ld->history[h] = malloc((size_t)(rec->count ? rec->count : 1) * sizeof(double));
        if (!ld->history[h]) return gr_fail(GR_ENOMEM, "out of host memory reading '%s'", name);
        GR_TRY(gr_file_read_f64(r, name, ld->history[h], rec->count));
        st->history[h] = ld->history[h];
        st->history_len[h] = rec->count;
    }
    return GR_OK;
}

static gr_status read_slots(gr_file_reader *r, const gr_optim *opt, loaded *ld)
{
    ld->nslots = opt->n * GR_OPTIM_NSLOTS;
    ld->slots = calloc((size_t)ld->nslots, sizeof *ld->slots);
    if (!ld->slots) return gr_fail(GR_ENOMEM, "out of host memory");
    for (int i = 0; i < opt->n; i++)
        for (int k = 0; k < GR_OPTIM_NSLOTS; k++) {
            char name[NAME_LEN];
            snprintf(name, sizeof name, "state.%d.%s", i + 1, gr_optim_slot_name((gr_optim_slot)k));
            if (!gr_file_reader_find(r, name)) continue;
            GR_TRY(gr_file_read_tensor(r, name, opt->device, &ld->slots[i * GR_OPTIM_NSLOTS + k]));
        }
    return GR_OK;
}

/* Whether rn is "state.<i>.<slot>" for a parameter 1 <= i <= nparams (no
 * leading zeros) and a slot name. Parsed rather than compared against every
 * i, which a file may claim to be 2^62. */
static int is_state_name(const char *rn, int64_t nparams)
{
    if (nparams < 1 || strncmp(rn, "state.", 6) != 0) return 0;
    const char *p = rn + 6;
    if (*p < '1' || *p > '9') return 0;
    int64_t i = 0;
    for (; *p >= '0' && *p <= '9'; p++) {
        int64_t digit = *p - '0';
        if (nparams - digit < 0 || i > (nparams - digit) / 10) return 0;   /* i * 10 + digit > nparams */
        i = i * 10 + digit;
    }
    if (*p != '.') return 0;
    for (int k = 0; k < GR_OPTIM_NSLOTS; k++)
        if (!strcmp(p + 1, gr_optim_slot_name((gr_optim_slot)k))) return 1;
    return 0;
}

/* Whether every record of the file is one this format defines. */
static gr_status check_names(gr_file_reader *r, gr_optim_kind kind, int64_t nparams)
{
    for (size_t j = 0; j < gr_file_reader_count(r); j++) {
        const char *rn = gr_file_reader_record(r, j)->name, *name;
        int known = !strcmp(rn, "class") || !strcmp(rn, "format") || !strcmp(rn, "nparams");
        for (int i = 0; !known && (name = gr_optim_option_name(kind, i)); i++)
            known = !strncmp(rn, "options.", 8) && !strcmp(rn + 8, name);
        for (int i = 0; !known && (name = gr_optim_scalar_name(i, NULL)); i++) known = !strcmp(rn, name);
        for (int h = 0; !known && h < GR_OPTIM_NHIST; h++) {
            char hn[NAME_LEN];
            snprintf(hn, sizeof hn, "%s_history", gr_optim_history_name((gr_optim_history_id)h));
            known = !strcmp(rn, hn);
        }
        if (!known) known = is_state_name(rn, nparams);
        if (!known) {
            char what[160];
            snprintf(what, sizeof what, "unexpected record '%.100s'", rn);
            return bad_file(r, what);
        }
    }
    return GR_OK;
}

static gr_status load_from(gr_file_reader *r, gr_tensor *const *params, int n, gr_optim **out)
{
    gr_optim_kind kind = GR_OPTIM_ADAMW;
    int64_t nparams;
    GR_TRY(read_class(r, &kind));
    GR_TRY(read_count(r, "nparams", &nparams));
    GR_TRY(check_names(r, kind, nparams));
    if (nparams != n)
        return gr_fail(GR_EINVAL, "'%s' holds the state of %lld parameter%s, %d were given", gr_file_reader_path(r),
                       (long long)nparams, nparams == 1 ? "" : "s", n);
    gr_optim_state st;
    memset(&st, 0, sizeof st);
    GR_TRY(read_options(r, kind, &st.options));
    GR_TRY(read_scalars(r, &st.scalars));
    gr_optim *opt;
    GR_TRY(gr_optim_new(kind, params, n, &st.options, &opt));
    loaded ld;
    memset(&ld, 0, sizeof ld);
    gr_status s = read_histories(r, &ld, &st);
    if (s == GR_OK) s = read_slots(r, opt, &ld);
    if (s == GR_OK) {
        st.slots = ld.slots;
        st.nparams = n;
        s = gr_optim_load_state(opt, &st);
    }
    loaded_release(&ld);
    if (s != GR_OK) {
        gr_optim_free(opt);
        return s;
    }
    *out = opt;
    return GR_OK;
}

gr_status gr_optim_load(const char *path, gr_tensor *const *params, int n, gr_optim **out)
{
    gr_file_reader *r;
    GR_TRY(gr_file_reader_open(path, &r));
    gr_status s = load_from(r, params, n, out);
    gr_file_reader_close(r);
    return s;
}

/* options.c: option tables (struct pf_opt_spec) and their values (struct pf_opts).
 * One table per learner drives validation of presets and flags, the TUI form and --help. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "engine/core/pf_alloc.h"
#include "engine/core/pf_status.h"
#include "learners/common/ddpg.h"
#include "learners/learner.h"

int pf_opts_init(struct pf_opts *o, const struct pf_opt_spec *const *tables)
{
    memset(o, 0, sizeof *o);
    for (int t = 0; tables[t]; t++) {
        if (o->n_tables == PF_OPTS_MAX_TABLES)
            return PF_ERR(PF_EINVAL, "too many option tables");
        o->tables[o->n_tables++] = tables[t];
        for (const struct pf_opt_spec *s = tables[t]; s->key; s++)
            o->n++;
    }
    o->vals = pf_calloc((size_t)(o->n ? o->n : 1), sizeof *o->vals);
    return o->vals ? 0 : -PF_ENOMEM;
}

int pf_learner_opts_init(struct pf_opts *o, const struct pf_learner_ops *ops)
{
    const struct pf_opt_spec *tables[] = {pf_run_common_opts, ops->opts,
                                          ops->rl ? pf_ddpg_opts : NULL, NULL};
    return pf_opts_init(o, tables);
}

void pf_opts_deinit(struct pf_opts *o)
{
    for (int i = 0; o->vals && i < o->n; i++)
        free(o->vals[i]);
    free(o->vals);
    memset(o, 0, sizeof *o);
}

const struct pf_opt_spec *pf_opts_row(const struct pf_opts *o, int i)
{
    for (int t = 0; t < o->n_tables; t++)
        for (const struct pf_opt_spec *s = o->tables[t]; s->key; s++)
            if (i-- == 0)
                return s;
    return NULL;
}

const struct pf_opt_spec *pf_opts_find(const struct pf_opts *o, const char *key, int *index)
{
    int i = 0;
    for (int t = 0; t < o->n_tables; t++)
        for (const struct pf_opt_spec *s = o->tables[t]; s->key; s++, i++)
            if (!strcmp(s->key, key)) {
                if (index)
                    *index = i;
                return s;
            }
    return NULL;
}

static bool choice_ok(const char *choices, const char *v)
{
    size_t n = strlen(v);
    for (const char *p = choices; p && *p;) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && !strncmp(p, v, n))
            return true;
        p = bar ? bar + 1 : NULL;
    }
    return false;
}

/* Checks text against spec; 0 or -PF_EINVAL with a message prefixed by where. */
static int check_value(const struct pf_opt_spec *s, const char *text, const char *where)
{
    char *end;
    errno = 0;
    switch (s->type) {
    case PF_OPT_INT: {
        long v = strtol(text, &end, 10);
        if (errno || end == text || *end)
            return PF_ERR(PF_EINVAL, "%s: %s must be an integer, got '%s'", where, s->key, text);
        if (v < s->min || v > s->max)
            return PF_ERR(PF_EINVAL, "%s: %s = %ld is outside %g..%g", where, s->key, v, s->min,
                          s->max);
        return 0;
    }
    case PF_OPT_FLOAT: {
        double v = strtod(text, &end);
        if (errno || end == text || *end || !isfinite(v))
            return PF_ERR(PF_EINVAL, "%s: %s must be a number, got '%s'", where, s->key, text);
        if (v < s->min || v > s->max)
            return PF_ERR(PF_EINVAL, "%s: %s = %g is outside %g..%g", where, s->key, v, s->min,
                          s->max);
        return 0;
    }
    case PF_OPT_BOOL:
        if (!strcasecmp(text, "true") || !strcasecmp(text, "false") || !strcmp(text, "1") ||
            !strcmp(text, "0"))
            return 0;
        return PF_ERR(PF_EINVAL, "%s: %s must be True or False, got '%s'", where, s->key, text);
    case PF_OPT_ENUM:
        if (choice_ok(s->choices, text))
            return 0;
        return PF_ERR(PF_EINVAL, "%s: %s must be one of %s, got '%s'", where, s->key, s->choices,
                      text);
    case PF_OPT_STR:
        return 0;
    }
    return 0;
}

int pf_opts_set(struct pf_opts *o, const char *key, const char *text, const char *where)
{
    int i;
    const struct pf_opt_spec *s = pf_opts_find(o, key, &i);
    if (!s)
        return PF_ERR(PF_EINVAL, "%s: unknown option '%s'", where, key);
    int rc = check_value(s, text, where);
    if (rc < 0)
        return rc;
    char *v = pf_strdup(text);
    if (!v)
        return -PF_ENOMEM;
    free(o->vals[i]);
    o->vals[i] = v;
    return 0;
}

int pf_opts_set_cfg(struct pf_opts *o, const struct pf_cfg *map, const char *prefix)
{
    if (map->kind != PF_CFG_MAP)
        return pf_cfg_err(map, "options must be a map of name: value");
    for (size_t i = 0; i < map->n; i++) {
        const struct pf_cfg *c = map->items[i];
        char key[128], where[512];
        snprintf(key, sizeof key, "%s", c->key);
        if (!pf_opts_find(o, key, NULL) && prefix && prefix[0])
            snprintf(key, sizeof key, "%s%s", prefix, c->key);
        snprintf(where, sizeof where, "%s:%d:%d", c->file, c->line, c->col);
        if (c->kind != PF_CFG_SCALAR)
            return PF_ERR(PF_EINVAL, "%s: %s must be a single value", where, c->key);
        if (!pf_opts_find(o, key, NULL))
            return PF_ERR(PF_EINVAL, "%s: unknown option '%s'", where, c->key);
        int rc = pf_opts_set(o, key, c->str, where);
        if (rc < 0)
            return rc;
    }
    return 0;
}

const char *pf_opts_text(const struct pf_opts *o, int i)
{
    const struct pf_opt_spec *s = pf_opts_row(o, i);
    return o->vals[i] ? o->vals[i] : (s && s->def ? s->def : "");
}

static const char *lookup(const struct pf_opts *o, const char *key)
{
    int i;
    const struct pf_opt_spec *s = pf_opts_find(o, key, &i);
    PF_ASSERT(s != NULL);
    return pf_opts_text(o, i);
}

long pf_opts_int(const struct pf_opts *o, const char *key)
{
    return strtol(lookup(o, key), NULL, 10);
}
double pf_opts_float(const struct pf_opts *o, const char *key)
{
    return strtod(lookup(o, key), NULL);
}
const char *pf_opts_str(const struct pf_opts *o, const char *key)
{
    return lookup(o, key);
}

bool pf_opts_bool(const struct pf_opts *o, const char *key)
{
    const char *v = lookup(o, key);
    return !strcasecmp(v, "true") || !strcmp(v, "1");
}

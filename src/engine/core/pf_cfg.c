/* pf_cfg.c: libyaml events -> pf_cfg tree. libyaml's 1 = ok / 0 = error convention is
 * translated here and nowhere else; its 0-based marks become 1-based lines and columns. */
#include "engine/core/pf_cfg.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "engine/core/pf_alloc.h"
#include "engine/core/pf_status.h"

#define MAX_DEPTH 64

void pf_cfg_free(struct pf_cfg *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++)
        pf_cfg_free(c->items[i]);
    free(c->items);
    free(c->str);
    free(c->key);
    free(c->file_own);
    free(c);
}

static struct pf_cfg *node_new(enum pf_cfg_kind kind, const yaml_mark_t *m, const char *file)
{
    struct pf_cfg *c = pf_calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->kind = kind;
    c->line = (int)m->line + 1;
    c->col = (int)m->column + 1;
    c->file = file;
    return c;
}

static int node_push(struct pf_cfg *parent, struct pf_cfg *child)
{
    struct pf_cfg **items = pf_realloc_array(parent->items, parent->n + 1, sizeof *items);
    if (!items)
        return -PF_ENOMEM;
    parent->items = items;
    parent->items[parent->n++] = child;
    return 0;
}

int pf_cfg_err(const struct pf_cfg *at, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (at)
        return PF_ERR(PF_EPARSE, "%s:%d:%d: %s", at->file ? at->file : "?", at->line, at->col, msg);
    return PF_ERR(PF_EPARSE, "%s", msg);
}

static int parser_err(const yaml_parser_t *p, const char *name)
{
    const yaml_mark_t *m = p->context ? &p->context_mark : &p->problem_mark;
    if (p->error == YAML_MEMORY_ERROR)
        return PF_ERR(PF_ENOMEM, "%s: out of memory parsing YAML", name);
    return PF_ERR(PF_EPARSE, "%s:%zu:%zu: YAML error: %s%s%s", name, p->problem_mark.line + 1,
                  p->problem_mark.column + 1, p->problem ? p->problem : "syntax error",
                  p->context ? " " : "", p->context ? p->context : "");
    (void)m;
}

/* Builds the tree from the event stream with an explicit stack. A map collects alternating key
 * scalars and values: pending_key holds the key until its value arrives. */
int pf_cfg_parse(const char *text, size_t len, const char *name, struct pf_cfg **out)
{
    yaml_parser_t p;
    yaml_event_t ev;
    struct pf_cfg *stack[MAX_DEPTH];
    char *pending_key[MAX_DEPTH] = {0};
    int depth = 0, rc = 0, done = 0;
    struct pf_cfg *root = NULL;
    char *file = NULL;

    *out = NULL;
    file = pf_strdup(name ? name : "<yaml>");
    if (!file)
        return -PF_ENOMEM;
    if (!yaml_parser_initialize(&p)) {
        free(file);
        return PF_ERR(PF_ENOMEM, "cannot initialise YAML parser");
    }
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    while (!done) {
        if (!yaml_parser_parse(&p, &ev)) {
            rc = parser_err(&p, file);
            goto fail;
        }
        struct pf_cfg *node = NULL;
        switch (ev.type) {
        case YAML_STREAM_END_EVENT:
            done = 1;
            break;
        case YAML_DOCUMENT_END_EVENT:
            done = 1;
            break;
        case YAML_ALIAS_EVENT:
            rc = PF_ERR(PF_EPARSE, "%s:%zu:%zu: YAML aliases are not supported", file,
                        ev.start_mark.line + 1, ev.start_mark.column + 1);
            yaml_event_delete(&ev);
            goto fail;
        case YAML_SCALAR_EVENT:
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT: {
            enum pf_cfg_kind k = ev.type == YAML_SCALAR_EVENT           ? PF_CFG_SCALAR
                                 : ev.type == YAML_SEQUENCE_START_EVENT ? PF_CFG_SEQ
                                                                        : PF_CFG_MAP;
            if (ev.type == YAML_SCALAR_EVENT && depth > 0 && stack[depth - 1]->kind == PF_CFG_MAP &&
                !pending_key[depth - 1]) {
                /* a key of the enclosing map */
                pending_key[depth - 1] = pf_strdup((const char *)ev.data.scalar.value);
                if (!pending_key[depth - 1]) {
                    rc = -PF_ENOMEM;
                    yaml_event_delete(&ev);
                    goto fail;
                }
                for (size_t i = 0; i < stack[depth - 1]->n; i++) {
                    if (strcmp(stack[depth - 1]->items[i]->key, pending_key[depth - 1]) == 0) {
                        rc = PF_ERR(PF_EPARSE, "%s:%zu:%zu: duplicate key '%s'", file,
                                    ev.start_mark.line + 1, ev.start_mark.column + 1,
                                    pending_key[depth - 1]);
                        yaml_event_delete(&ev);
                        goto fail;
                    }
                }
                break;
            }
            if (depth > 0 && stack[depth - 1]->kind == PF_CFG_MAP && !pending_key[depth - 1]) {
                rc = PF_ERR(PF_EPARSE, "%s:%zu:%zu: a map key must be a plain scalar", file,
                            ev.start_mark.line + 1, ev.start_mark.column + 1);
                yaml_event_delete(&ev);
                goto fail;
            }
            node = node_new(k, &ev.start_mark, file);
            if (!node) {
                rc = -PF_ENOMEM;
                yaml_event_delete(&ev);
                goto fail;
            }
            if (k == PF_CFG_SCALAR) {
                node->str = pf_strdup((const char *)ev.data.scalar.value);
                if (!node->str) {
                    pf_cfg_free(node);
                    rc = -PF_ENOMEM;
                    yaml_event_delete(&ev);
                    goto fail;
                }
            }
            if (depth == 0) {
                if (root) {
                    pf_cfg_free(node);
                    break;
                }
                root = node;
            } else {
                struct pf_cfg *parent = stack[depth - 1];
                if (parent->kind == PF_CFG_MAP) {
                    node->key = pending_key[depth - 1];
                    pending_key[depth - 1] = NULL;
                }
                if ((rc = node_push(parent, node)) < 0) {
                    pf_cfg_free(node);
                    yaml_event_delete(&ev);
                    goto fail;
                }
            }
            if (k != PF_CFG_SCALAR) {
                if (depth == MAX_DEPTH) {
                    rc = PF_ERR(PF_EPARSE, "%s:%zu: YAML nested deeper than %d levels", file,
                                ev.start_mark.line + 1, MAX_DEPTH);
                    yaml_event_delete(&ev);
                    goto fail;
                }
                stack[depth++] = node;
            }
            break;
        }
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
            depth--;
            break;
        default:
            break;
        }
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&p);
    if (!root) {
        yaml_mark_t m = {0};
        root = node_new(PF_CFG_MAP, &m, file);
        if (!root) {
            free(file);
            return -PF_ENOMEM;
        }
    }
    root->file_own = file;
    *out = root;
    return 0;
fail:
    for (int i = 0; i < MAX_DEPTH; i++)
        free(pending_key[i]);
    pf_cfg_free(root);
    yaml_parser_delete(&p);
    free(file);
    return rc;
}

int pf_cfg_load(const char *path, struct pf_cfg **out)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return PF_ERR(PF_EIO, "%s: cannot open: %s", path, strerror(errno));
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len + 4096 > cap) {
            char *nb = pf_realloc_array(buf, cap ? cap * 2 : 8192, 1);
            if (!nb) {
                free(buf);
                fclose(f);
                return -PF_ENOMEM;
            }
            buf = nb;
            cap = cap ? cap * 2 : 8192;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0)
            break;
        if (len > (64u << 20)) {
            free(buf);
            fclose(f);
            return PF_ERR(PF_EPARSE, "%s: larger than 64 MiB; not a YAML config", path);
        }
    }
    int err = ferror(f);
    fclose(f);
    if (err) {
        free(buf);
        return PF_ERR(PF_EIO, "%s: read error", path);
    }
    int rc = pf_cfg_parse(buf, len, path, out);
    free(buf);
    return rc;
}

const struct pf_cfg *pf_cfg_get(const struct pf_cfg *c, const char *key)
{
    if (!c || c->kind != PF_CFG_MAP)
        return NULL;
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->items[i]->key, key) == 0)
            return c->items[i];
    return NULL;
}

int pf_cfg_as_str(const struct pf_cfg *c, const char *what, const char **out)
{
    if (c->kind != PF_CFG_SCALAR)
        return pf_cfg_err(c, "%s must be a single value, not a %s", what,
                          c->kind == PF_CFG_MAP ? "map" : "list");
    *out = c->str;
    return 0;
}

int pf_cfg_as_int(const struct pf_cfg *c, const char *what, long *out)
{
    const char *s = NULL;
    int rc = pf_cfg_as_str(c, what, &s);
    if (rc < 0)
        return rc;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end)
        return pf_cfg_err(c, "%s must be an integer, got '%s'", what, s);
    *out = v;
    return 0;
}

int pf_cfg_as_float(const struct pf_cfg *c, const char *what, double *out)
{
    const char *s = NULL;
    int rc = pf_cfg_as_str(c, what, &s);
    if (rc < 0)
        return rc;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v))
        return pf_cfg_err(c, "%s must be a finite number, got '%s'", what, s);
    *out = v;
    return 0;
}

int pf_cfg_as_bool(const struct pf_cfg *c, const char *what, bool *out)
{
    const char *s = NULL;
    int rc = pf_cfg_as_str(c, what, &s);
    if (rc < 0)
        return rc;
    if (!strcasecmp(s, "true") || !strcasecmp(s, "yes") || !strcmp(s, "1"))
        *out = true;
    else if (!strcasecmp(s, "false") || !strcasecmp(s, "no") || !strcmp(s, "0"))
        *out = false;
    else
        return pf_cfg_err(c, "%s must be true or false, got '%s'", what, s);
    return 0;
}

int pf_cfg_int(const struct pf_cfg *map, const char *key, const char *what, long *out)
{
    const struct pf_cfg *c = pf_cfg_get(map, key);
    return c ? pf_cfg_as_int(c, what, out) : 0;
}

int pf_cfg_float(const struct pf_cfg *map, const char *key, const char *what, double *out)
{
    const struct pf_cfg *c = pf_cfg_get(map, key);
    return c ? pf_cfg_as_float(c, what, out) : 0;
}

int pf_cfg_bool(const struct pf_cfg *map, const char *key, const char *what, bool *out)
{
    const struct pf_cfg *c = pf_cfg_get(map, key);
    return c ? pf_cfg_as_bool(c, what, out) : 0;
}

int pf_cfg_str(const struct pf_cfg *map, const char *key, const char *what, const char **out)
{
    const struct pf_cfg *c = pf_cfg_get(map, key);
    return c ? pf_cfg_as_str(c, what, out) : 0;
}

int pf_cfg_check_keys(const struct pf_cfg *map, const char *const *allowed, const char *what)
{
    if (map->kind != PF_CFG_MAP)
        return pf_cfg_err(map, "%s must be a map of key: value", what);
    for (size_t i = 0; i < map->n; i++) {
        const char *k = map->items[i]->key;
        int ok = 0;
        for (size_t j = 0; allowed[j]; j++)
            if (strcmp(k, allowed[j]) == 0)
                ok = 1;
        if (!ok) {
            char list[400] = "";
            size_t used = 0;
            for (size_t j = 0; allowed[j] && used < sizeof list - 40; j++)
                used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", j ? ", " : "",
                                         allowed[j]);
            return pf_cfg_err(map->items[i], "%s: unknown key '%s' (allowed: %s)", what, k, list);
        }
    }
    return 0;
}

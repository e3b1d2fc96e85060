/* pf_cfg.h: a YAML document as a small tree (the only wrapper around libyaml).
 *
 * Netdefs, presets and plans are parsed into pf_cfg nodes that remember their file, line and
 * column, so every later validation error can name the place ("net.yaml:7:5: conv1: unknown
 * key 'filter'"). Anchors and aliases are refused; tags are ignored. */
#ifndef PF_ENGINE_CORE_PF_CFG_H
#define PF_ENGINE_CORE_PF_CFG_H

#include <stdbool.h>
#include <stddef.h>

enum pf_cfg_kind { PF_CFG_SCALAR, PF_CFG_SEQ, PF_CFG_MAP };

struct pf_cfg {
    enum pf_cfg_kind kind;
    char *str;             /* scalar text (NULL for seq/map) */
    char *key;             /* key under which this node sits in a map, else NULL */
    struct pf_cfg **items; /* children: seq items or map values (with ->key) */
    size_t n;              /* number of children */
    int line, col;         /* 1-based position in the source */
    const char *file;      /* source name, shared by the whole tree (owned by the root) */
    char *file_own;        /* root only: the owned copy of the file name */
};

/* Parses YAML text (len bytes); name is used in messages. On success *out is the root (an empty
 * map for an empty document); caller frees with pf_cfg_free. Returns 0 or -PF_EPARSE. */
int pf_cfg_parse(const char *text, size_t len, const char *name, struct pf_cfg **out);
/* Reads and parses a file. Returns 0, -PF_EIO or -PF_EPARSE. */
int pf_cfg_load(const char *path, struct pf_cfg **out);
void pf_cfg_free(struct pf_cfg *c);

/* Map lookup; NULL if c is not a map or has no such key. */
const struct pf_cfg *pf_cfg_get(const struct pf_cfg *c, const char *key);

/* Typed reads of a scalar node; each fails with -PF_EPARSE naming file:line and `what`. */
int pf_cfg_as_int(const struct pf_cfg *c, const char *what, long *out);
int pf_cfg_as_float(const struct pf_cfg *c, const char *what, double *out);
int pf_cfg_as_bool(const struct pf_cfg *c, const char *what, bool *out);
int pf_cfg_as_str(const struct pf_cfg *c, const char *what, const char **out);

/* Optional keys of a map: if absent, *out keeps its default and 0 is returned. */
int pf_cfg_int(const struct pf_cfg *map, const char *key, const char *what, long *out);
int pf_cfg_float(const struct pf_cfg *map, const char *key, const char *what, double *out);
int pf_cfg_bool(const struct pf_cfg *map, const char *key, const char *what, bool *out);
int pf_cfg_str(const struct pf_cfg *map, const char *key, const char *what, const char **out);

/* Fails with -PF_EPARSE naming the first key of map not in allowed[0..n) (NULL-terminated
 * list), e.g. "net.yaml:4:28: conv1: unknown key 'filter' (allowed: name, type, ...)". */
int pf_cfg_check_keys(const struct pf_cfg *map, const char *const *allowed, const char *what);

/* Error helper: sets -PF_EPARSE with "file:line:col: " + message, and returns it. */
int pf_cfg_err(const struct pf_cfg *at, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif

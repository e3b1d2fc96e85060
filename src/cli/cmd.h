/* cmd.h: the option-table subcommands shared by src/main.c and src/cli/cmd_*.c.
 *
 * Every subcommand is one struct cmd with one option table (struct opt rows, NULL-ended) that
 * parse_args in main.c fills and that prints --help. Subcommands too large for main.c live in
 * src/cli/cmd_<name>.c, define their table there and read options through the accessors
 * below (values were validated by the parser, so the conversions cannot fail). */
#ifndef PF_CLI_CMD_H
#define PF_CLI_CMD_H

#include <stdbool.h>
#include <stddef.h>

#include "engine/model/graph.h"

enum opt_type { OPT_STR, OPT_INT, OPT_FLOAT, OPT_FLAG };

struct opt {
    const char *name; /* without leading dashes */
    enum opt_type type;
    const char *def; /* default as text; NULL = none */
    const char *help;
    const char *val; /* parsed value (argv text, or "1" for flags) */
};

struct cmd {
    const char *name;
    const char *usage; /* positional part */
    const char *summary;
    struct opt *opts;
    int (*run)(struct cmd *c, const char *pos);
};

/* Rows every subcommand has (main.c's parse_args reads them). */
#define COMMON_OPTS                                                                                \
    {"threads", OPT_INT, "2", "threads for OpenBLAS and oneDNN", NULL},                            \
        {"seed", OPT_INT, "0", "random seed (initialisation, shuffling, augmentation)", NULL},     \
        {"device", OPT_STR, "cpu", "backend: cpu, cpu_ref (the slow oracle), cuda", NULL},         \
    {                                                                                              \
        "help", OPT_FLAG, NULL, "show this help", NULL                                             \
    }

/* Option accessors (main.c): the value as typed or the default; NULL / 0 when neither. */
const char *pf_cli_opt_str(struct cmd *c, const char *name);
bool pf_cli_opt_set(struct cmd *c, const char *name);
long pf_cli_opt_int(struct cmd *c, const char *name);
double pf_cli_opt_float(struct cmd *c, const char *name);

/* Prints s to stdout as a JSON string: quoted, with what JSON needs escaped (paths, layer and
 * model names are the user's). */
void pf_cli_json_str(const char *s);

/* Monotonic seconds. */
/* A model from a .h5 file, or a fresh one (zero params) from a netdef .yaml / .yml; dataset (if
 * not NULL) receives the model file's dataset name. Caller frees *m. */
int pf_cli_load_any(const char *path, struct pf_model **m, char *dataset, size_t dlen);

/* "CxHxW" -> shape; -PF_EINVAL with a message naming --input. */
int pf_cli_parse_shape(const char *s, struct pf_shape *out);
/* Rebuilds *m (from its netdef) for another input size; params are zero. The old model is
 * freed on success; on failure *m is unchanged. */
int pf_cli_reinput(struct pf_model **m, const struct pf_shape *in);

/* ---- subcommands in src/cli/ ---- */

/* info (cmd_info.c): per-layer profile table, with a plan the before / after. */
extern struct opt pf_cli_info_opts[];
int pf_cli_info(struct cmd *c, const char *pos);
/* bench --layers (cmd_bench_layers.c): per-layer timing; called by main.c's bench. */
int pf_cli_bench_layers(struct cmd *c, const char *pos);
/* sensitivity (cmd_sensitivity.c): L1 pruning of each channel group at each ratio. */
extern struct opt pf_cli_sensitivity_opts[];
int pf_cli_sensitivity(struct cmd *c, const char *pos);

#endif

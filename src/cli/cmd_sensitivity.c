/* cmd_sensitivity.c: `pocketflow sensitivity MODEL --data fmnist [--ratios 0.1,...,0.9]
 * [--csv F]`: for each prunable channel group (residual-coupled layers prune together), remove
 * round(C x ratio) channels chosen by L1 norm of the producers' filters (no fine-tuning), and
 * evaluate on the validation split (the first 5000 training images, PocketFlow's split). Prints
 * the accuracy table (groups x ratios) and writes one CSV row per cell; progress and ETA on
 * stderr. Each cell prunes its own clone of the model physically, so MACs are real too. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd.h"
#include "engine/core/pf_alloc.h"
#include "engine/core/pf_status.h"
#include "engine/core/pf_time.h"
#include "engine/io/dataset.h"
#include "engine/model/groups.h"
#include "engine/model/plan.h"
#include "engine/model/train.h"

#define MAX_RATIOS 64
#define VAL_IMAGES 5000 /* PocketFlow's nb_smpls_val */

struct opt pf_cli_sensitivity_opts[] = {
    {"data", OPT_STR, NULL, "dataset (default: the one recorded in the model file)", NULL},
    {"ratios", OPT_STR, "0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9",
     "prune ratios to try, comma-separated, each in (0, 1)", NULL},
    {"csv", OPT_STR, NULL, "also write the table as CSV to this file", NULL},
    {"batch", OPT_INT, "250", "evaluation batch size", NULL},
    COMMON_OPTS,
    {NULL, 0, NULL, NULL, NULL},
};

static int parse_ratios(const char *s, double *r, int *n)
{
    *n = 0;
    while (*s) {
        char *end;
        errno = 0;
        double v = strtod(s, &end);
        if (end == s || errno || !(v > 0.0 && v < 1.0))
            return PF_ERR(PF_EINVAL,
                          "sensitivity: --ratios wants numbers in (0, 1) separated by "
                          "commas, got '%s'",
                          s);
        if (*n >= MAX_RATIOS)
            return PF_ERR(PF_EINVAL, "sensitivity: at most %d ratios", MAX_RATIOS);
        r[(*n)++] = v;
        s = end;
        if (*s == ',')
            s++;
        else if (*s)
            return PF_ERR(PF_EINVAL, "sensitivity: --ratios: unexpected '%s'", s);
    }
    if (!*n)
        return PF_ERR(PF_EINVAL, "sensitivity: --ratios is empty");
    return 0;
}

/* "conv1+s1b1_conv2+..." naming a group by its producers, truncated to fit n. */
static void group_name(const struct pf_model *m, const struct pf_group *g, char *buf, size_t n)
{
    size_t used = 0;
    buf[0] = 0;
    for (int k = 0; k < g->n_producers && used + 4 < n; k++) {
        int w =
            snprintf(buf + used, n - used, "%s%s", k ? "+" : "", m->layers[g->producers[k]].name);
        used += w > 0 ? (size_t)w : 0;
    }
    if (used >= n - 1 && n > 4)
        memcpy(buf + n - 4, "...", 4);
}

/* Prunes group gi of a clone of m to `keep` channels (L1) and evaluates it. */
static int cell(const struct pf_model *m, int gi, int keep, const struct pf_dataset *d,
                const uint32_t *idx, uint32_t n, int batch, struct pf_eval_result *r,
                uint64_t *macs)
{
    struct pf_model *s = NULL;
    struct pf_groups *g = NULL;
    uint8_t *kv = NULL;
    int rc = pf_model_clone(m, &s);
    if (rc < 0)
        return rc;
    if ((rc = pf_groups_build(s, &g)) < 0)
        goto done;
    if (!(kv = pf_malloc((size_t)g->groups[gi].channels))) {
        rc = -PF_ENOMEM;
        goto done;
    }
    if ((rc = pf_group_l1_keep(s, g, gi, keep, kv)) < 0 ||
        (rc = pf_model_prune_group(s, g, gi, kv)) < 0 ||
        (rc = pf_evaluate(s, d, idx, n, batch, r, NULL)) < 0)
        goto done;
    struct pf_count cnt;
    pf_model_count(s, &cnt);
    *macs = cnt.macs;
done:
    free(kv);
    pf_groups_free(g);
    pf_model_free(s);
    return rc;
}

int pf_cli_sensitivity(struct cmd *c, const char *pos)
{
    struct pf_model *m = NULL;
    struct pf_groups *g = NULL;
    struct pf_dataset *d = NULL;
    uint32_t *tr_idx = NULL, *val_idx = NULL, n_tr = 0, n_val = 0;
    double ratios[MAX_RATIOS], *acc = NULL;
    int *cells_g = NULL, n_ratios, rc;
    FILE *csv = NULL;
    char dataset[64] = "";
    const char *csv_path = pf_cli_opt_str(c, "csv");
    int batch = (int)pf_cli_opt_int(c, "batch");
    if (!pos)
        return PF_ERR(PF_EINVAL, "sensitivity: which model? usage: pocketflow sensitivity "
                                 "MODEL.h5 --data fmnist");
    if (batch < 1)
        return PF_ERR(PF_EINVAL, "sensitivity: --batch must be at least 1");
    if ((rc = parse_ratios(pf_cli_opt_str(c, "ratios"), ratios, &n_ratios)) < 0)
        return rc;
    if ((rc = pf_cli_load_any(pos, &m, dataset, sizeof dataset)) < 0)
        return rc;
    if (strstr(pos, ".yaml") || strstr(pos, ".yml")) {
        fprintf(stderr,
                "note: %s is a netdef: its weights are random, so the accuracies only "
                "exercise the machinery\n",
                pos);
        pf_model_init_params(m, (unsigned long long)pf_cli_opt_int(c, "seed"));
    }
    const char *data = pf_cli_opt_str(c, "data");
    if (!data)
        data = dataset[0] ? dataset : "fmnist";
    if ((rc = pf_dataset_load(data, PF_SPLIT_TRAIN, &d)) < 0)
        goto done;
    if (d->c != m->input.c || d->h != m->input.h || d->w != m->input.w) {
        rc = PF_ERR(PF_ESHAPE, "sensitivity: %s takes %dx%dx%d inputs, %s has %dx%dx%d images", pos,
                    m->input.c, m->input.h, m->input.w, data, d->c, d->h, d->w);
        goto done;
    }
    int nv = d->n > VAL_IMAGES ? VAL_IMAGES : d->n / 5;
    if ((rc = pf_dataset_split(d, nv, &tr_idx, &n_tr, &val_idx, &n_val)) < 0)
        goto done;
    if ((rc = pf_groups_build(m, &g)) < 0)
        goto done;
    int n_groups = 0;
    cells_g = pf_calloc((size_t)g->n_groups + 1, sizeof *cells_g);
    if (!cells_g) {
        rc = -PF_ENOMEM;
        goto done;
    }
    for (int gi = 0; gi < g->n_groups; gi++)
        if (!g->groups[gi].fixed && g->groups[gi].n_consumers > 0 && g->groups[gi].channels > 1)
            cells_g[n_groups++] = gi;
    acc = pf_calloc((size_t)n_groups * n_ratios + 1, sizeof *acc);
    if (!acc) {
        rc = -PF_ENOMEM;
        goto done;
    }
    if (csv_path && !(csv = fopen(csv_path, "w"))) {
        rc = PF_ERR(PF_EIO, "%s: cannot write: %s", csv_path, strerror(errno));
        goto done;
    }
    struct pf_eval_result base;
    double t0 = pf_now_s();
    if ((rc = pf_evaluate(m, d, val_idx, n_val, batch, &base, NULL)) < 0)
        goto done;
    struct pf_count full;
    pf_model_count(m, &full);
    fprintf(stderr, "%s: baseline accuracy %.4f on %u validation images; %d groups x %d ratios\n",
            pos, base.accuracy, n_val, n_groups, n_ratios);
    if (csv)
        fprintf(csv,
                "group,layers,channels,ratio,keep,accuracy,loss,macs,macs_ratio\n"
                "-1,baseline,0,0,0,%.6f,%.6f,%llu,1\n",
                base.accuracy, base.loss, (unsigned long long)full.macs);
    int total = n_groups * n_ratios, done_cells = 0;
    for (int a = 0; a < n_groups; a++) {
        int gi = cells_g[a];
        const struct pf_group *gr = &g->groups[gi];
        char name[256];
        group_name(m, gr, name, sizeof name);
        for (int b = 0; b < n_ratios; b++) {
            int keep = pf_plan_keep_count(gr->channels, ratios[b]);
            keep = keep < 1 ? 1 : keep;
            struct pf_eval_result r;
            uint64_t macs = 0;
            if ((rc = cell(m, gi, keep, d, val_idx, n_val, batch, &r, &macs)) < 0)
                goto done;
            acc[(size_t)a * n_ratios + b] = r.accuracy;
            done_cells++;
            double el = pf_now_s() - t0;
            fprintf(stderr,
                    "[%d/%d] group %d (%s) ratio %.2f keeps %d/%d: accuracy %.4f  "
                    "elapsed %.0fs  eta %.0fs\n",
                    done_cells, total, gi, name, ratios[b], keep, gr->channels, r.accuracy, el,
                    el / done_cells * (total - done_cells));
            if (csv)
                fprintf(csv, "%d,\"%s\",%d,%.6g,%d,%.6f,%.6f,%llu,%.6f\n", gi, name, gr->channels,
                        ratios[b], keep, r.accuracy, r.loss, (unsigned long long)macs,
                        full.macs ? (double)macs / full.macs : 0.0);
        }
    }
    printf("%s on %s (validation split, %u images): accuracy after L1-norm pruning of each "
           "channel group, no fine-tuning; baseline %.4f\n\n%5s %-30s %5s",
           pos, data, n_val, base.accuracy, "group", "producers", "C");
    for (int b = 0; b < n_ratios; b++)
        printf(" %6.2f", ratios[b]);
    printf("\n");
    for (int a = 0; a < n_groups; a++) {
        const struct pf_group *gr = &g->groups[cells_g[a]];
        char name[31];
        group_name(m, gr, name, sizeof name);
        printf("%5d %-30s %5d", cells_g[a], name, gr->channels);
        for (int b = 0; b < n_ratios; b++)
            printf(" %6.4f", acc[(size_t)a * n_ratios + b]);
        printf("\n");
    }
    if (csv) {
        bool ok = !ferror(csv);
        ok = fclose(csv) == 0 && ok;
        csv = NULL;
        if (!ok) {
            rc = PF_ERR(PF_EIO, "%s: write failed", csv_path);
            goto done;
        }
    }
    rc = 0;
done:
    if (csv)
        fclose(csv);
    free(acc);
    free(cells_g);
    free(tr_idx);
    free(val_idx);
    pf_groups_free(g);
    pf_dataset_free(d);
    pf_model_free(m);
    return rc;
}

/* profile_speed.c: how fast the profiler answers a what-if (engine/model/profile.h). For every
 * conv2d / dense layer of a netdef it edits the prune ratio (then the weight bits) and times
 * pf_profile_update, reporting the median and the worst single update, the number of rows each
 * update recomputed on average, and a full pf_profile_update_all for comparison. A timing
 * program, not a test: it asserts nothing.
 *
 * Build and run (from the repository root, after `make`):
 *   python3 bench/gen_profile_net.py 200 > /tmp/resnet200.yaml
 *   cc -O2 -std=c11 -D_GNU_SOURCE -Isrc bench/profile_speed.c build/libpocketflow.a \
 *      $(pkg-config --libs yaml-0.1 openblas hdf5 zlib) -ldnnl -fopenmp -lpthread -lm \
 *      -o build/profile_speed && build/profile_speed /tmp/resnet200.yaml */
#include <stdio.h>
#include <stdlib.h>

#include "engine/core/pf_status.h"
#include "engine/core/pf_time.h"
#include "engine/model/profile.h"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void report(const char *what, double *t, int n)
{
    qsort(t, (size_t)n, sizeof *t, cmp_double);
    printf("%-34s %6d edits: median %8.2f us, p99 %8.2f us, worst %8.2f us\n", what, n,
           t[n / 2] * 1e6, t[(int)(n * 0.99)] * 1e6, t[n - 1] * 1e6);
}

int main(int argc, char **argv)
{
    struct pf_model *m = NULL;
    struct pf_groups *g = NULL;
    struct pf_plan plan;
    struct pf_profile *p = NULL;
    if (argc < 2) {
        fprintf(stderr, "usage: profile_speed NETDEF.yaml\n");
        return 2;
    }
    double t0 = pf_now_s();
    if (pf_model_from_file(argv[1], &m) < 0 || pf_groups_build(m, &g) < 0 ||
        pf_plan_init(&plan, m) < 0 || pf_profile_new(m, g, &plan, &p) < 0) {
        fprintf(stderr, "%s\n", pf_err_msg());
        return 1;
    }
    double t_build = pf_now_s() - t0;
    int n = 0, rows = 0;
    double *tr = calloc((size_t)m->n_layers * 2, sizeof *tr);
    double *tb = calloc((size_t)m->n_layers * 2, sizeof *tb);
    for (int i = 0; i < m->n_layers; i++) {
        if (!pf_plan_has_weights(&m->layers[i]) || i == 0)
            continue;
        for (int k = 0; k < 2; k++) { /* set, then undo: both are single-layer edits */
            plan.layers[i].prune_ratio = k ? 0.0 : 0.5;
            double a = pf_now_s();
            pf_profile_update(p, i);
            tr[n * 2 + k] = pf_now_s() - a;
            plan.layers[i].w_bits = k ? 32 : 4;
            a = pf_now_s();
            pf_profile_update(p, i);
            tb[n * 2 + k] = pf_now_s() - a;
        }
        int gi = pf_groups_in_group(g, m, i);
        rows += gi >= 0 ? g->groups[gi].n_touch : 1;
        n++;
    }
    double a = pf_now_s();
    const int reps = 20;
    for (int r = 0; r < reps; r++)
        pf_profile_update_all(p);
    double t_all = (pf_now_s() - a) / reps;
    printf("%s: %d layers, %d channel groups; model + groups + profile built in %.2f ms\n", argv[1],
           m->n_layers, g->n_groups, t_build * 1e3);
    report("prune_ratio edit (pf_profile_update)", tr, 2 * n);
    report("w_bits edit (pf_profile_update)", tb, 2 * n);
    printf("rows recomputed per prune edit: %.1f on average (of %d)\n", (double)rows / n,
           m->n_layers);
    printf("full recompute (pf_profile_update_all): %.2f us\n", t_all * 1e6);
    free(tr);
    free(tb);
    pf_profile_free(p);
    pf_plan_deinit(&plan);
    pf_groups_free(g);
    pf_model_free(m);
    return 0;
}

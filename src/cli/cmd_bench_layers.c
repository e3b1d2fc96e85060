/* cmd_bench_layers.c: `pocketflow bench --layers MODEL [--plan P] [--input CxHxW]`: measured
 * forward time of every layer (median of --steps runs after --warmup) beside its MACs and the
 * GFLOP/s it achieves, and the whole model's measured time. With a plan it builds the shrunk
 * model (channels really removed with pf_model_prune_group, L1-norm choice; weights random for a
 * netdef) and reports the measured speed-up beside the MACs ratio, so a user sees whether a
 * pruning plan pays on this machine. Timing is of the CLI's own per-layer loop, which is what
 * pf_model_forward does, layer by layer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd.h"
#include "engine/backend/backend.h"
#include "engine/core/pf_alloc.h"
#include "engine/core/pf_rng.h"
#include "engine/core/pf_status.h"
#include "engine/core/pf_time.h"
#include "engine/model/groups.h"
#include "engine/model/infer.h"
#include "engine/model/int8.h"
#include "engine/model/plan.h"
#include "engine/model/profile.h"
#include "engine/model/train.h"

struct timing {
    double *layer_s; /* n_layers medians */
    double model_s;  /* median of whole forwards */
    double infer_s;  /* median of whole forwards of the inference network (infer.h) */
    double int8_s;   /* the same for the int8 network (int8.h) of a model with quantized
                        activations, instead of the inference network */
};

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The median time of fwd(net) on x (N samples, classes logits each); runs has `steps` slots. */
static int time_net(pf_forward_fn fwd, void *net, int classes, const float *x, int N, int warm,
                    int steps, double *runs, double *out)
{
    float *logits = pf_malloc((size_t)N * classes * sizeof *logits);
    int rc = logits ? 0 : -PF_ENOMEM;
    for (int s = 0; rc == 0 && s < warm + steps; s++) {
        double t0 = pf_now_s();
        rc = fwd(net, x, N, logits);
        if (s >= warm)
            runs[s - warm] = pf_now_s() - t0;
    }
    if (rc == 0) {
        qsort(runs, (size_t)steps, sizeof *runs, cmp_double);
        *out = runs[steps / 2];
    }
    free(logits);
    return rc;
}

/* The network that serves m, timed: the int8 network when some activation is quantized, else
 * the float inference network. One that cannot run m is said on stderr and left at 0. */
static int time_serving(const struct pf_model *m, const float *x, int N, int warm, int steps,
                        double *runs, struct timing *t)
{
    bool q = pf_model_actq_first(m) >= 0;
    struct pf_int8_net *n8 = NULL;
    struct pf_infer_net *nf = NULL;
    int rc = q ? pf_int8_net_new(m, &n8) : pf_infer_net_new(m, &nf);
    if (rc == 0)
        rc = q ? time_net(pf_int8_forward, n8, m->classes, x, N, warm, steps, runs, &t->int8_s)
               : time_net(pf_infer_forward, nf, m->classes, x, N, warm, steps, runs, &t->infer_s);
    pf_int8_net_free(n8);
    pf_infer_net_free(nf);
    if (rc == -PF_EUNSUPPORTED || rc == -PF_EINVAL) { /* the training-graph timing still stands */
        fprintf(stderr, "no %s timing: %s\n", q ? "int8-network" : "inference-network",
                pf_err_user_msg());
        rc = 0;
    }
    return rc;
}

/* Times m on x (N samples): per-layer medians, the whole forward's median and the inference
 * network's. */
static int time_model(struct pf_model *m, const float *x, int N, int warm, int steps,
                      struct timing *t)
{
    int L = m->n_layers, rc;
    double *runs = pf_calloc((size_t)L * (size_t)steps + (size_t)steps, sizeof *runs);
    t->layer_s = pf_calloc((size_t)L, sizeof *t->layer_s);
    if (!runs || !t->layer_s) {
        free(runs);
        return -PF_ENOMEM;
    }
    if ((rc = pf_model_set_batch(m, N)) < 0)
        goto done;
    for (int s = 0; s < warm + steps; s++) {
        for (int i = 0; i < L; i++) {
            struct pf_layer *l = &m->layers[i];
            const float *xs[PF_LAYER_MAX_INPUTS];
            for (int k = 0; k < l->n_in; k++)
                xs[k] = l->in_idx[k] < 0 ? x : m->y[l->in_idx[k]];
            double t0 = pf_now_s();
            if ((rc = l->ops->forward(l, xs, m->y[i], N, false)) < 0)
                goto done;
            if (s >= warm)
                runs[(size_t)i * steps + (s - warm)] = pf_now_s() - t0;
        }
    }
    for (int i = 0; i < L; i++) {
        qsort(runs + (size_t)i * steps, (size_t)steps, sizeof *runs, cmp_double);
        t->layer_s[i] = runs[(size_t)i * steps + steps / 2];
    }
    double *whole = runs + (size_t)L * steps;
    for (int s = 0; s < warm + steps; s++) {
        double t0 = pf_now_s();
        if ((rc = pf_model_forward(m, x, N, false)) < 0)
            goto done;
        if (s >= warm)
            whole[s - warm] = pf_now_s() - t0;
    }
    qsort(whole, (size_t)steps, sizeof *whole, cmp_double);
    t->model_s = whole[steps / 2];
    rc = time_serving(m, x, N, warm, steps, whole, t);
done:
    free(runs);
    return rc;
}

/* `, "key": ms` (null when not measured). */
static void json_ms(const char *key, double s)
{
    if (s > 0)
        printf(", \"%s\": %.6f", key, s * 1e3);
    else
        printf(", \"%s\": null", key);
}

/* `, "key": before / after` (null unless both were measured). */
static void json_speedup(const char *key, double before, double after)
{
    if (before > 0 && after > 0)
        printf(", \"%s\": %.4f", key, before / after);
    else
        printf(", \"%s\": null", key);
}

/* The physically shrunk copy of m under the profile's group keep counts. */
static int shrink(const struct pf_model *m, const struct pf_profile *p, struct pf_model **out)
{
    struct pf_model *s = NULL;
    struct pf_groups *g = NULL;
    uint8_t *keep = NULL;
    int rc = pf_model_clone(m, &s);
    if (rc < 0)
        return rc;
    if ((rc = pf_groups_build(s, &g)) < 0)
        goto fail;
    for (int gi = 0; gi < g->n_groups; gi++) {
        int C = g->groups[gi].channels, k = p->groups[gi].keep;
        if (k >= C)
            continue;
        uint8_t *kb = pf_realloc_array(keep, (size_t)C, 1);
        if (!kb) {
            rc = -PF_ENOMEM;
            goto fail;
        }
        keep = kb;
        if ((rc = pf_group_l1_keep(s, g, gi, k, keep)) < 0 ||
            (rc = pf_model_prune_group(s, g, gi, keep)) < 0)
            goto fail;
    }
    free(keep);
    pf_groups_free(g);
    *out = s;
    return 0;
fail:
    free(keep);
    pf_groups_free(g);
    pf_model_free(s);
    return rc;
}

/* The same plan with round_to PF_BLK (whole blocks), shrunk and timed: what a user trades by
 * rounding a plan whose counts fall between blocks. *macs_ratio gets its kept MACs share. */
static int time_rounded(const struct pf_model *m, const struct pf_groups *g,
                        const struct pf_plan *plan, const float *x, int N, int warm, int steps,
                        double *macs_ratio, struct timing *t)
{
    struct pf_plan r = {0};
    struct pf_profile *p = NULL;
    struct pf_model *s = NULL;
    int rc = pf_plan_copy(&r, plan);
    if (rc == 0) {
        r.round_to = PF_BLK;
        rc = pf_profile_new(m, g, &r, &p);
    }
    if (rc == 0)
        rc = shrink(m, p, &s);
    if (rc == 0) {
        *macs_ratio = p->before.macs ? (double)p->after.macs / p->before.macs : 0.0;
        fprintf(stderr, "timing the plan rounded to whole %d-channel blocks\n", PF_BLK);
        rc = time_model(s, x, N, warm, steps, t);
    }
    pf_model_free(s);
    pf_profile_free(p);
    pf_plan_deinit(&r);
    return rc;
}

int pf_cli_bench_layers(struct cmd *c, const char *pos)
{
    struct pf_model *m = NULL, *s = NULL;
    struct pf_groups *g = NULL;
    struct pf_profile *p = NULL;
    struct pf_plan plan = {0};
    struct timing tb = {0}, ta = {0}, tr = {0};
    double rounded_ratio = 0;
    float *x = NULL;
    const char *path = pf_cli_opt_str(c, "layers"), *plan_path = pf_cli_opt_str(c, "plan");
    const char *input = pf_cli_opt_str(c, "input");
    bool json = pf_cli_opt_set(c, "json");
    int N = pf_cli_opt_set(c, "batch") ? (int)pf_cli_opt_int(c, "batch") : 1;
    int steps = (int)pf_cli_opt_int(c, "steps"), warm = (int)pf_cli_opt_int(c, "warmup");
    struct pf_shape in;
    int rc;
    if (pos)
        return PF_ERR(PF_EINVAL, "bench: unexpected argument '%s' (the model goes after --layers)",
                      pos);
    if (N < 1 || steps < 1 || N > 65536 || steps > 100000 || warm > 100000)
        return PF_ERR(PF_EINVAL, "bench: --batch and --steps must be at least 1");
    if (input && (rc = pf_cli_parse_shape(input, &in)) < 0)
        return rc;
    if ((rc = pf_cli_load_any(path, &m, NULL, 0)) < 0)
        return rc;
    if (input && (rc = pf_cli_reinput(&m, &in)) < 0)
        goto done;
    if (pf_cli_opt_set(c, "seed") || strstr(path, ".yaml") || strstr(path, ".yml"))
        pf_model_init_params(m, (unsigned long long)pf_cli_opt_int(c, "seed"));
    if ((rc = pf_groups_build(m, &g)) < 0 || (rc = pf_plan_init(&plan, m)) < 0)
        goto done;
    if (plan_path && (rc = pf_plan_load(&plan, m, plan_path)) < 0)
        goto done;
    if ((rc = pf_profile_new(m, g, &plan, &p)) < 0)
        goto done;
    size_t in_n = pf_shape_numel(m->input) * (size_t)N;
    if (!(x = pf_malloc_aligned(in_n * sizeof *x))) {
        rc = -PF_ENOMEM;
        goto done;
    }
    struct pf_rng rng;
    pf_rng_seed(&rng, 1);
    for (size_t i = 0; i < in_n; i++)
        x[i] = 2.0f * pf_rng_uniform(&rng) - 1.0f;
    fprintf(stderr, "timing %s: %d layers, batch %d, %d runs after %d warm-up\n", m->name,
            m->n_layers, N, steps, warm);
    if ((rc = time_model(m, x, N, warm, steps, &tb)) < 0)
        goto done;
    if (plan_path) {
        if ((rc = shrink(m, p, &s)) < 0)
            goto done;
        fprintf(stderr, "timing the shrunk model\n");
        if ((rc = time_model(s, x, N, warm, steps, &ta)) < 0)
            goto done;
        if (pf_profile_n_odd(p) &&
            (rc = time_rounded(m, g, &plan, x, N, warm, steps, &rounded_ratio, &tr)) < 0)
            goto done;
    }
    double sum_b = 0, sum_a = 0;
    for (int i = 0; i < m->n_layers; i++) {
        sum_b += tb.layer_s[i];
        sum_a += plan_path ? ta.layer_s[i] : 0;
    }
    if (json) {
        printf("{\"model\": ");
        pf_cli_json_str(m->name);
        printf(", \"batch\": %d, \"threads\": %ld, \"device\": \"%s\", "
               "\"steps\": %d, \"layers\": [",
               N, pf_cli_opt_int(c, "threads"), pf_backend()->name, steps);
        for (int i = 0; i < m->n_layers; i++) {
            const struct pf_prof_row *r = &p->rows[i];
            double gf = tb.layer_s[i] > 0 ? 2.0 * r->before.macs * N / tb.layer_s[i] / 1e9 : 0;
            printf("%s{\"index\": %d, \"name\": ", i ? ", " : "", i);
            pf_cli_json_str(m->layers[i].name);
            printf(", \"type\": \"%s\", \"macs\": %llu, "
                   "\"ms\": %.6f, \"gflops\": %.3f",
                   m->layers[i].ops->name, (unsigned long long)r->before.macs, tb.layer_s[i] * 1e3,
                   gf);
            if (plan_path)
                printf(", \"after_macs\": %llu, \"after_ms\": %.6f",
                       (unsigned long long)r->after.macs, ta.layer_s[i] * 1e3);
            printf("}");
        }
        printf("], \"macs\": %llu, \"model_ms\": %.6f, \"sum_layers_ms\": %.6f",
               (unsigned long long)p->before.macs, tb.model_s * 1e3, sum_b * 1e3);
        json_ms("infer_ms", tb.infer_s);
        json_ms("int8_ms", tb.int8_s);
        if (plan_path)
            printf(", \"after_macs\": %llu, \"after_model_ms\": %.6f, \"macs_ratio\": %.6f, "
                   "\"speedup\": %.4f",
                   (unsigned long long)p->after.macs, ta.model_s * 1e3,
                   p->before.macs ? (double)p->after.macs / p->before.macs : 0.0,
                   ta.model_s > 0 ? tb.model_s / ta.model_s : 0.0);
        if (plan_path) {
            json_ms("after_infer_ms", ta.infer_s);
            json_speedup("infer_speedup", tb.infer_s, ta.infer_s);
            json_ms("after_int8_ms", ta.int8_s);
            json_speedup("int8_speedup", tb.int8_s, ta.int8_s);
            printf(", \"odd_groups\": %d", pf_profile_n_odd(p));
        }
        if (tr.model_s > 0) {
            printf(", \"rounded\": {\"round_to\": %d, \"macs_ratio\": %.6f, \"speedup\": %.4f",
                   PF_BLK, rounded_ratio, tb.model_s / tr.model_s);
            json_speedup("infer_speedup", tb.infer_s, tr.infer_s);
            json_speedup("int8_speedup", tb.int8_s, tr.int8_s);
            printf("}");
        }
        printf("}\n");
        rc = 0;
        goto done;
    }
    printf("%s: forward per layer, batch %d, %ld threads, %s backend, median of %d runs\n\n",
           m->name, N, pf_cli_opt_int(c, "threads"), pf_backend()->name, steps);
    printf("%3s  %-18s %-9s %12s %10s %9s %6s", "#", "layer", "type", "MACs", "time ms", "GFLOP/s",
           "time%");
    if (plan_path)
        printf("  %12s %10s %8s", "MACs after", "ms after", "speed-up");
    printf("\n");
    for (int i = 0; i < m->n_layers; i++) {
        const struct pf_prof_row *r = &p->rows[i];
        double gf = tb.layer_s[i] > 0 ? 2.0 * r->before.macs * N / tb.layer_s[i] / 1e9 : 0;
        printf("%3d  %-18.18s %-9s %12llu %10.4f %9.2f %5.1f%%", i, m->layers[i].name,
               m->layers[i].ops->name, (unsigned long long)r->before.macs, tb.layer_s[i] * 1e3, gf,
               sum_b > 0 ? 100 * tb.layer_s[i] / sum_b : 0.0);
        if (plan_path)
            printf("  %12llu %10.4f %7.2fx", (unsigned long long)r->after.macs, ta.layer_s[i] * 1e3,
                   ta.layer_s[i] > 0 ? tb.layer_s[i] / ta.layer_s[i] : 0.0);
        printf("\n");
    }
    printf("\nmodel: %llu MACs, measured %.4f ms per forward (sum of layers %.4f ms), %.2f "
           "GFLOP/s\n",
           (unsigned long long)p->before.macs, tb.model_s * 1e3, sum_b * 1e3,
           tb.model_s > 0 ? 2.0 * p->before.macs * N / tb.model_s / 1e9 : 0.0);
    if (tb.infer_s > 0)
        printf("inference network (batch norm folded, blocked layout): %.4f ms per forward, "
               "%.2f GFLOP/s\n",
               tb.infer_s * 1e3, 2.0 * p->before.macs * N / tb.infer_s / 1e9);
    if (tb.int8_s > 0)
        printf("int8 network (integer convolutions): %.4f ms per forward, %.2f GOP/s, %.2fx the "
               "training graph's simulated quantization\n",
               tb.int8_s * 1e3, 2.0 * p->before.macs * N / tb.int8_s / 1e9, tb.model_s / tb.int8_s);
    if (plan_path) {
        double mr = p->before.macs ? (double)p->after.macs / p->before.macs : 0.0;
        printf("shrunk: %llu MACs, measured %.4f ms per forward (sum of layers %.4f ms)\n",
               (unsigned long long)p->after.macs, ta.model_s * 1e3, sum_a * 1e3);
        printf("MACs ratio %.4f (%.2fx fewer); measured speed-up %.2fx\n", mr,
               mr > 0 ? 1.0 / mr : 0.0, ta.model_s > 0 ? tb.model_s / ta.model_s : 0.0);
        if (tb.infer_s > 0 && ta.infer_s > 0)
            printf("inference network: shrunk %.4f ms per forward; measured speed-up %.2fx\n",
                   ta.infer_s * 1e3, tb.infer_s / ta.infer_s);
        if (tb.int8_s > 0 && ta.int8_s > 0)
            printf("int8 network: shrunk %.4f ms per forward; measured speed-up %.2fx\n",
                   ta.int8_s * 1e3, tb.int8_s / ta.int8_s);
        int odd = pf_profile_n_odd(p);
        if (odd)
            printf("note: %d pruned channel group%s keep%s a count that is not a multiple of "
                   "%d, which the CPU's kernels pad to one; `round_to: %d` in the plan keeps "
                   "whole blocks\n",
                   odd, odd == 1 ? "" : "s", odd == 1 ? "s" : "", PF_BLK, PF_BLK);
        if (tr.model_s > 0) {
            printf("with round_to %d: MACs ratio %.4f (%.2fx fewer); measured speed-up %.2fx",
                   PF_BLK, rounded_ratio, rounded_ratio > 0 ? 1.0 / rounded_ratio : 0.0,
                   tb.model_s / tr.model_s);
            if (tb.infer_s > 0 && tr.infer_s > 0)
                printf(", inference network %.2fx", tb.infer_s / tr.infer_s);
            if (tb.int8_s > 0 && tr.int8_s > 0)
                printf(", int8 network %.2fx", tb.int8_s / tr.int8_s);
            printf("\n");
        }
    }
    rc = 0;
done:
    free(x);
    free(tb.layer_s);
    free(ta.layer_s);
    free(tr.layer_s);
    pf_profile_free(p);
    pf_plan_deinit(&plan);
    pf_groups_free(g);
    pf_model_free(s);
    pf_model_free(m);
    return rc;
}

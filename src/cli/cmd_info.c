/* cmd_info.c: `pocketflow info MODEL|NETDEF [--plan P] [--input CxHxW] [--flops|--macs]
 * [--json|--csv]`: the profiler's per-layer table (engine/model/profile.h) as text, JSON or
 * CSV. Text shows human-sized numbers (K, M, G) with the unit in the header and exact totals;
 * JSON and CSV carry the exact numbers. With a plan, each quantity is shown before and after,
 * with totals, ratios and the channel groups whose consumers asked for different ratios. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cmd.h"
#include "engine/core/pf_status.h"
#include "engine/model/groups.h"
#include "engine/model/plan.h"
#include "engine/model/profile.h"
#include "engine/qtensor.h"

struct opt pf_cli_info_opts[] = {
    {"plan", OPT_STR, NULL, "plan YAML or PocketFlow ratio.list: show before / after", NULL},
    {"input", OPT_STR, NULL, "input size CxHxW instead of the model's (e.g. 3x224x224)", NULL},
    {"flops", OPT_FLAG, NULL, "report FLOPs (= 2 x MACs) instead of MACs", NULL},
    {"macs", OPT_FLAG, NULL, "report multiply-accumulates (the default)", NULL},
    {"json", OPT_FLAG, NULL, "print one JSON object: per-layer rows, groups, totals", NULL},
    {"csv", OPT_FLAG, NULL, "print CSV: one row per layer, then a total row", NULL},
    COMMON_OPTS,
    {NULL, 0, NULL, NULL, NULL},
};

/* ---- shared with bench --layers ---- */

int pf_cli_parse_shape(const char *s, struct pf_shape *out)
{
    int c, h, w, n = 0;
    if (sscanf(s, "%dx%dx%d%n", &c, &h, &w, &n) != 3 || s[n] || c < 1 || h < 1 || w < 1 ||
        c > 65536 || h > 65536 || w > 65536)
        return PF_ERR(PF_EINVAL,
                      "--input wants CxHxW with each in 1..65536 (e.g. 3x32x32), got "
                      "'%s'",
                      s);
    *out = (struct pf_shape){c, h, w};
    return 0;
}

int pf_cli_reinput(struct pf_model **m, const struct pf_shape *in)
{
    char *yaml = NULL, *text = NULL;
    struct pf_model *n = NULL;
    int rc = pf_model_to_yaml(*m, &yaml);
    if (rc < 0)
        return rc;
    /* line 2 of pf_model_to_yaml's text is "input: [C, H, W]" */
    char *p = strstr(yaml, "\ninput: [");
    char *e = p ? strchr(p + 1, '\n') : NULL;
    if (!p || !e) {
        free(yaml);
        return PF_ERR(PF_EINVAL, "--input: cannot rewrite the netdef of %s", (*m)->name);
    }
    size_t len = strlen(yaml) + 64;
    text = malloc(len);
    if (!text) {
        free(yaml);
        return PF_ERR(PF_ENOMEM, "out of memory");
    }
    snprintf(text, len, "%.*s\ninput: [%d, %d, %d]%s", (int)(p - yaml), yaml, in->c, in->h, in->w,
             e);
    char name[64];
    snprintf(name, sizeof name, "netdef at input %dx%dx%d", in->c, in->h, in->w);
    rc = pf_model_from_yaml(text, strlen(text), name, &n);
    free(text);
    free(yaml);
    if (rc < 0)
        return rc;
    pf_model_free(*m);
    *m = n;
    return 0;
}

/* ---- formatting ---- */

static const char *human(uint64_t v, char *buf, size_t n)
{
    if (v >= 1000000000ull)
        snprintf(buf, n, "%.2fG", v / 1e9);
    else if (v >= 1000000ull)
        snprintf(buf, n, "%.2fM", v / 1e6);
    else if (v >= 10000ull)
        snprintf(buf, n, "%.1fK", v / 1e3);
    else
        snprintf(buf, n, "%llu", (unsigned long long)v);
    return buf;
}

static const char *shape_str(struct pf_shape s, char *buf, size_t n)
{
    snprintf(buf, n, "%dx%dx%d", s.c, s.h, s.w);
    return buf;
}

static void bar(double share, char *buf, int width)
{
    int k = (int)(share * width + 0.5);
    for (int i = 0; i < width; i++)
        buf[i] = i < k ? '#' : '.';
    buf[width] = 0;
}

static const char *group_str(const struct pf_prof_row *r, char *buf, size_t n)
{
    char a[16] = "-", b[16] = "-";
    if (r->group_in >= 0)
        snprintf(a, sizeof a, "%d", r->group_in);
    if (r->group_out >= 0)
        snprintf(b, sizeof b, "%d", r->group_out);
    snprintf(buf, n, "%s>%s", a, b);
    return buf;
}

static double ratio(uint64_t a, uint64_t b)
{
    return b ? (double)a / (double)b : 0.0;
}

/* ---- text ---- */

static void print_text(const struct pf_profile *p, const char *path, const char *dataset,
                       bool flops, bool plan)
{
    const struct pf_model *m = p->m;
    unsigned f = flops ? 2u : 1u;
    const char *unit = flops ? "FLOPs" : "MACs";
    char s1[32], s2[32], s3[32], s4[32], s5[32], s6[32], s7[32], s8[16];
    printf("%s (%s): input %dx%dx%d, %d classes%s%s\n", path, m->name, m->input.c, m->input.h,
           m->input.w, m->classes, dataset[0] ? ", trained on " : "", dataset);
    printf("%s%s; other ops (BN, pooling, activations, adds) in their own column; act = output "
           "activation bytes;\nbytes = stored size at the layer's bits and sparsity; group = "
           "channel group in>out\n\n",
           unit,
           flops ? " (2 x multiply-accumulates, conv and dense)"
                 : " (multiply-accumulates of conv and dense)");
    if (!plan) {
        printf("%3s  %-18s %-9s %-11s %-11s %9s %9s %9s %9s %9s  %-10s %6s  %s\n", "#", "layer",
               "type", "input", "output", "params", unit, "other ops", "act", "bytes", "share", "",
               "group");
        for (int i = 0; i < p->n_layers; i++) {
            const struct pf_prof_row *r = &p->rows[i];
            const struct pf_prof_cell *c = &r->before;
            double sh = pf_profile_share(c->macs, p->before.macs);
            char b[16], g[32];
            bar(sh, b, 10);
            printf("%3d  %-18.18s %-9s %-11s %-11s %9s %9s %9s %9s %9s  %s %5.1f%%  %s\n", i,
                   m->layers[i].name, m->layers[i].ops->name, shape_str(c->in, s1, sizeof s1),
                   shape_str(c->out, s2, sizeof s2), human(c->params, s3, sizeof s3),
                   human(f * c->macs, s4, sizeof s4), human(c->other_ops, s5, sizeof s5),
                   human(c->act_bytes, s6, sizeof s6), human(c->bytes, s7, sizeof s7), b, 100 * sh,
                   group_str(r, g, sizeof g));
        }
    } else {
        printf("%3s  %-18s %-9s %-11s %7s %-19s %-19s %-19s %5s  %-10s %6s  %s\n", "#", "layer",
               "type", "output", "pruned", "params", unit, "bytes", "w/a", "share", "", "group");
        for (int i = 0; i < p->n_layers; i++) {
            const struct pf_prof_row *r = &p->rows[i];
            const struct pf_prof_cell *b4 = &r->before, *af = &r->after;
            double sh = pf_profile_share(af->macs, p->after.macs);
            char b[16], g[32], pr[16], pa[72], ma[72], by[72], bits[16];
            bar(sh, b, 10);
            if (r->skipped)
                snprintf(pr, sizeof pr, "skip");
            else if (r->eff_prune > 0)
                snprintf(pr, sizeof pr, "%.1f%%", 100 * r->eff_prune);
            else
                snprintf(pr, sizeof pr, "-");
            snprintf(pa, sizeof pa, "%s>%s", human(b4->params, s1, sizeof s1),
                     human(af->params, s2, sizeof s2));
            snprintf(ma, sizeof ma, "%s>%s", human(f * b4->macs, s3, sizeof s3),
                     human(f * af->macs, s4, sizeof s4));
            snprintf(by, sizeof by, "%s>%s", human(b4->bytes, s5, sizeof s5),
                     human(af->bytes, s6, sizeof s6));
            snprintf(bits, sizeof bits, "%d/%d", af->w_bits, af->a_bits);
            printf("%3d  %-18.18s %-9s %-11s %7s %-19s %-19s %-19s %5s  %s %5.1f%%  %s\n", i,
                   m->layers[i].name, m->layers[i].ops->name, shape_str(af->out, s7, sizeof s7), pr,
                   pa, ma, by, bits, b, 100 * sh, group_str(r, g, sizeof g));
        }
        (void)s8;
    }
    const struct pf_prof_totals *t = &p->before;
    printf("\ntotal: %llu MACs (FLOPs = 2 x MACs = %llu), %llu params, %llu bytes (%.2f MiB), "
           "%llu other ops, %llu activation bytes\n",
           (unsigned long long)t->macs, (unsigned long long)(2 * t->macs),
           (unsigned long long)t->params, (unsigned long long)t->bytes, t->bytes / 1048576.0,
           (unsigned long long)t->other_ops, (unsigned long long)t->act_bytes);
    if (!plan)
        return;
    const struct pf_prof_totals *a = &p->after;
    printf("after: %llu MACs (FLOPs = 2 x MACs = %llu), %llu params, %llu bytes (%.2f MiB), "
           "%llu other ops, %llu activation bytes\n",
           (unsigned long long)a->macs, (unsigned long long)(2 * a->macs),
           (unsigned long long)a->params, (unsigned long long)a->bytes, a->bytes / 1048576.0,
           (unsigned long long)a->other_ops, (unsigned long long)a->act_bytes);
    printf("ratio after/before: MACs %.4f, params %.4f, bytes %.4f (%.2fx smaller), "
           "activations %.4f\n",
           ratio(a->macs, t->macs), ratio(a->params, t->params), ratio(a->bytes, t->bytes),
           a->bytes ? (double)t->bytes / a->bytes : 0.0, ratio(a->act_bytes, t->act_bytes));
    for (int gi = 0; gi < p->n_groups; gi++) {
        const struct pf_prof_group *g = &p->groups[gi];
        if (g->conflict)
            printf("group %d: its consumers asked for prune ratios %.4g..%.4g; it keeps %d of %d "
                   "channels (the smallest keep count wins)\n",
                   gi, g->min_ratio, g->max_ratio, g->keep, g->channels);
        else if (g->keep < g->channels && p->plan->round_to > 1)
            printf("group %d: keeps %d of %d channels (round_to %d)\n", gi, g->keep, g->channels,
                   p->plan->round_to);
    }
}

/* ---- what the model file holds: real sparsity and stored bits ---- */

/* Visits every weight param with a mask or a stored quantized form: its layer, the fraction of
 * masked-out entries (0 without a mask), and the quantized form (NULL if float). */
static int stored_rows(const struct pf_model *m, bool json)
{
    int n = 0;
    for (int i = 0; i < m->n_layers; i++)
        for (int j = 0; j < m->layers[i].n_params; j++) {
            const struct pf_param *q = &m->layers[i].params[j];
            if (!q->mask && !q->quant)
                continue;
            size_t numel = pf_tensor_numel(&q->w), zeros = 0;
            for (size_t k = 0; q->mask && k < numel; k++)
                zeros += q->mask[k] == 0;
            double sp = numel ? (double)zeros / (double)numel : 0.0;
            if (json) {
                printf("%s{\"layer\": ", n ? ", " : "");
                pf_cli_json_str(m->layers[i].name);
                printf(", \"param\": \"%s\", \"sparsity\": %.6f, \"bits\": %d, \"mode\": \"%s\", "
                       "\"bucket\": \"%s\", \"stored_bytes\": %zu}",
                       q->name, sp, q->quant ? q->quant->bits : 32,
                       q->quant ? pf_qmode_name(q->quant->mode) : "float",
                       q->quant ? pf_qbucket_name(q->quant->bucket) : "-",
                       q->quant ? pf_qtensor_stored_bytes(q->quant) : numel * sizeof(float));
            } else {
                if (!n)
                    printf("\nstored in the model file (real values, not a plan):\n");
                char form[64] = "float32";
                if (q->quant)
                    snprintf(form, sizeof form, "%d-bit %s per %s", q->quant->bits,
                             pf_qmode_name(q->quant->mode), pf_qbucket_name(q->quant->bucket));
                printf("  %-16s %-8s sparsity %5.1f%%  %s\n", m->layers[i].name, q->name,
                       100.0 * sp, form);
            }
            n++;
        }
    return n;
}

/* ---- JSON ---- */

static void json_cell(const struct pf_prof_cell *c)
{
    printf("{\"input\": [%d, %d, %d], \"output\": [%d, %d, %d], \"params\": %llu, \"macs\": %llu, "
           "\"flops\": %llu, \"other_ops\": %llu, \"act_bytes\": %llu, \"bytes\": %llu, "
           "\"w_bits\": %d, \"a_bits\": %d, \"sparsity\": %.17g}",
           c->in.c, c->in.h, c->in.w, c->out.c, c->out.h, c->out.w, (unsigned long long)c->params,
           (unsigned long long)c->macs, (unsigned long long)(2 * c->macs),
           (unsigned long long)c->other_ops, (unsigned long long)c->act_bytes,
           (unsigned long long)c->bytes, c->w_bits, c->a_bits, c->sparsity);
}

static void json_totals(const struct pf_prof_totals *t)
{
    printf("{\"macs\": %llu, \"flops\": %llu, \"other_ops\": %llu, \"params\": %llu, "
           "\"bytes\": %llu, \"act_bytes\": %llu}",
           (unsigned long long)t->macs, (unsigned long long)(2 * t->macs),
           (unsigned long long)t->other_ops, (unsigned long long)t->params,
           (unsigned long long)t->bytes, (unsigned long long)t->act_bytes);
}

static void print_json(const struct pf_profile *p, const char *path, bool flops, bool plan)
{
    const struct pf_model *m = p->m;
    printf("{\"model\": ");
    pf_cli_json_str(path);
    printf(", \"name\": ");
    pf_cli_json_str(m->name);
    printf(", \"input\": [%d, %d, %d], \"classes\": %d, \"unit\": \"%s\", \"layers\": [",
           m->input.c, m->input.h, m->input.w, m->classes, flops ? "flops" : "macs");
    for (int i = 0; i < p->n_layers; i++) {
        const struct pf_prof_row *r = &p->rows[i];
        const struct pf_prof_cell *c = &r->before;
        printf("%s{\"index\": %d, \"name\": ", i ? ", " : "", i);
        pf_cli_json_str(m->layers[i].name);
        printf(", \"type\": \"%s\", \"input\": [%d, %d, %d], \"output\": [%d, %d, %d], "
               "\"params\": %llu, \"macs\": %llu, \"flops\": %llu, \"other_ops\": %llu, "
               "\"act_bytes\": %llu, \"bytes\": %llu, \"share\": %.6f, \"group_in\": %d, "
               "\"group_out\": %d",
               m->layers[i].ops->name, c->in.c, c->in.h, c->in.w, c->out.c, c->out.h, c->out.w,
               (unsigned long long)c->params, (unsigned long long)c->macs,
               (unsigned long long)(2 * c->macs), (unsigned long long)c->other_ops,
               (unsigned long long)c->act_bytes, (unsigned long long)c->bytes,
               pf_profile_share(c->macs, p->before.macs), r->group_in, r->group_out);
        if (plan) {
            printf(", \"after\": ");
            json_cell(&r->after);
            printf(", \"after_share\": %.6f, \"prune_ratio\": %.6f, \"skipped\": %s",
                   pf_profile_share(r->after.macs, p->after.macs), r->eff_prune,
                   r->skipped ? "true" : "false");
        }
        printf("}");
    }
    printf("], \"groups\": [");
    for (int gi = 0; gi < p->n_groups; gi++) {
        const struct pf_prof_group *g = &p->groups[gi];
        const struct pf_group *gg = &p->g->groups[gi];
        printf("%s{\"index\": %d, \"channels\": %d, \"keep\": %d, \"prunable\": %s, "
               "\"requests\": %d, \"min_ratio\": %.6f, \"max_ratio\": %.6f, \"conflict\": %s, "
               "\"producers\": [",
               gi ? ", " : "", gi, g->channels, g->keep, gg->fixed ? "false" : "true",
               g->n_requests, g->min_ratio, g->max_ratio, g->conflict ? "true" : "false");
        for (int k = 0; k < gg->n_producers; k++) {
            printf(k ? ", " : "");
            pf_cli_json_str(m->layers[gg->producers[k]].name);
        }
        printf("], \"consumers\": [");
        for (int k = 0; k < gg->n_consumers; k++) {
            printf(k ? ", " : "");
            pf_cli_json_str(m->layers[gg->consumers[k]].name);
        }
        printf("]}");
    }
    printf("], \"totals\": ");
    json_totals(&p->before);
    if (plan) {
        printf(", \"after_totals\": ");
        json_totals(&p->after);
        printf(", \"ratios\": {\"macs\": %.6f, \"params\": %.6f, \"bytes\": %.6f, "
               "\"act_bytes\": %.6f}",
               ratio(p->after.macs, p->before.macs), ratio(p->after.params, p->before.params),
               ratio(p->after.bytes, p->before.bytes),
               ratio(p->after.act_bytes, p->before.act_bytes));
    }
    printf(", \"stored\": [");
    stored_rows(m, true);
    printf("]}\n");
}

/* ---- CSV ---- */

static void csv_cell(const struct pf_prof_cell *c)
{
    printf(",%d,%d,%d,%d,%d,%d,%llu,%llu,%llu,%llu,%llu,%llu,%d,%d,%.6g", c->in.c, c->in.h, c->in.w,
           c->out.c, c->out.h, c->out.w, (unsigned long long)c->params, (unsigned long long)c->macs,
           (unsigned long long)(2 * c->macs), (unsigned long long)c->other_ops,
           (unsigned long long)c->act_bytes, (unsigned long long)c->bytes, c->w_bits, c->a_bits,
           c->sparsity);
}

static void print_csv(const struct pf_profile *p, bool plan)
{
    static const char *const cols =
        "in_c,in_h,in_w,out_c,out_h,out_w,params,macs,flops,other_ops,act_bytes,bytes,w_bits,"
        "a_bits,sparsity";
    printf("index,name,type,%s,share,group_in,group_out", cols);
    if (plan) {
        const char *c = cols;
        while (*c) {
            size_t n = strcspn(c, ",");
            printf(",after_%.*s", (int)n, c);
            c += n + (c[n] == ',');
        }
        printf(",after_share,prune_ratio,skipped");
    }
    printf("\n");
    for (int i = 0; i < p->n_layers; i++) {
        const struct pf_prof_row *r = &p->rows[i];
        /* names are netdef identifiers; quote them in case they hold a comma */
        printf("%d,\"%s\",%s", i, p->m->layers[i].name, p->m->layers[i].ops->name);
        csv_cell(&r->before);
        printf(",%.6f,%d,%d", pf_profile_share(r->before.macs, p->before.macs), r->group_in,
               r->group_out);
        if (plan) {
            csv_cell(&r->after);
            printf(",%.6f,%.6f,%d", pf_profile_share(r->after.macs, p->after.macs), r->eff_prune,
                   r->skipped);
        }
        printf("\n");
    }
    const struct pf_prof_totals *t = &p->before, *a = &p->after;
    printf("total,,,,,,,,,%llu,%llu,%llu,%llu,%llu,%llu,,,,1,,", (unsigned long long)t->params,
           (unsigned long long)t->macs, (unsigned long long)(2 * t->macs),
           (unsigned long long)t->other_ops, (unsigned long long)t->act_bytes,
           (unsigned long long)t->bytes);
    if (plan)
        printf(",,,,,,,%llu,%llu,%llu,%llu,%llu,%llu,,,,1,%.6f,", (unsigned long long)a->params,
               (unsigned long long)a->macs, (unsigned long long)(2 * a->macs),
               (unsigned long long)a->other_ops, (unsigned long long)a->act_bytes,
               (unsigned long long)a->bytes, 1.0 - ratio(a->macs, t->macs));
    printf("\n");
}

/* ---- the command ---- */

int pf_cli_info(struct cmd *c, const char *pos)
{
    struct pf_model *m = NULL;
    struct pf_groups *g = NULL;
    struct pf_profile *p = NULL;
    struct pf_plan plan = {0};
    char dataset[64] = "";
    const char *path = pos ? pos : PF_DEFAULT_MODEL;
    const char *plan_path = pf_cli_opt_str(c, "plan"), *input = pf_cli_opt_str(c, "input");
    bool json = pf_cli_opt_set(c, "json"), csv = pf_cli_opt_set(c, "csv");
    bool flops = pf_cli_opt_set(c, "flops");
    int rc;
    if (json && csv)
        return PF_ERR(PF_EINVAL, "info: give --json or --csv, not both");
    if (flops && pf_cli_opt_set(c, "macs"))
        return PF_ERR(PF_EINVAL, "info: give --flops or --macs, not both");
    struct pf_shape in;
    if (input && (rc = pf_cli_parse_shape(input, &in)) < 0)
        return rc;
    if ((rc = pf_cli_load_any(path, &m, dataset, sizeof dataset)) < 0)
        return rc;
    if (input && (rc = pf_cli_reinput(&m, &in)) < 0)
        goto done;
    if ((rc = pf_groups_build(m, &g)) < 0 || (rc = pf_plan_init(&plan, m)) < 0)
        goto done;
    if (plan_path && (rc = pf_plan_load(&plan, m, plan_path)) < 0)
        goto done;
    if ((rc = pf_profile_new(m, g, &plan, &p)) < 0)
        goto done;
    if (json)
        print_json(p, path, flops, plan_path != NULL);
    else if (csv)
        print_csv(p, plan_path != NULL);
    else
        print_text(p, path, dataset, flops, plan_path != NULL);
    if (!json && !csv)
        stored_rows(m, false);
    rc = 0;
done:
    pf_profile_free(p);
    pf_plan_deinit(&plan);
    pf_groups_free(g);
    pf_model_free(m);
    return rc;
}

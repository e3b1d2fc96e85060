/* check_model_profile.c: the per-layer profiler. MACs and params of every layer kind against
 * independent formulas (stride, padding, groups, depthwise, dense after conv); the reference
 * totals of the built-in nets; plans on top: channel resolution (smallest keep count wins,
 * round_to), stored bytes accounting, a plan's "after" numbers equal to the physically pruned
 * model's own counts, and incremental updates equal to full recomputes. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "engine/core/pf_rng.h"
#include "engine/core/pf_status.h"
#include "engine/model/profile.h"

struct fixture {
    struct pf_model *m;
    struct pf_groups *g;
    struct pf_plan plan;
    struct pf_profile *p;
};

static void open_model(struct fixture *f, struct pf_model *m)
{
    memset(f, 0, sizeof *f);
    f->m = m;
    ck_assert_int_eq(pf_groups_build(m, &f->g), 0);
    ck_assert_int_eq(pf_plan_init(&f->plan, m), 0);
    ck_assert_msg(pf_profile_new(m, f->g, &f->plan, &f->p) == 0, "%s", pf_err_msg());
}

static void open_yaml(struct fixture *f, const char *yaml)
{
    struct pf_model *m = NULL;
    int rc = pf_model_from_yaml(yaml, strlen(yaml), "t.yaml", &m);
    ck_assert_msg(rc == 0, "%s", pf_err_msg());
    open_model(f, m);
}

static void open_file(struct fixture *f, const char *path)
{
    struct pf_model *m = NULL;
    ck_assert_msg(pf_model_from_file(path, &m) == 0, "%s", pf_err_msg());
    open_model(f, m);
}

static void close_all(struct fixture *f)
{
    pf_profile_free(f->p);
    pf_plan_deinit(&f->plan);
    pf_groups_free(f->g);
    pf_model_free(f->m);
}

static const struct pf_prof_row *row(const struct fixture *f, const char *name)
{
    int i = pf_model_find(f->m, name);
    ck_assert_msg(i >= 0, "no layer %s", name);
    return &f->p->rows[i];
}

#define HEAD "name: t\ninput: [4, 9, 9]\nclasses: 10\nlayers:\n"

/* Every kind, with sizes whose formulas differ when stride, padding or groups are wrong. */
static const char *const kinds =
    HEAD "  - {name: c_s2, type: conv2d, filters: 8, kernel: 3, stride: 2, pad: same}\n"
         "  - {name: c_pad, type: conv2d, filters: 6, kernel: [3, 1], pad: [2, 0], bias: false}\n"
         "  - {name: c_grp, type: conv2d, filters: 4, kernel: 3, groups: 2, pad: valid}\n"
         "  - {name: bn, type: batchnorm, act: relu}\n"
         "  - {name: dw, type: conv2d, filters: 8, kernel: 3, pad: 1, groups: 4}\n"
         "  - {name: mp, type: maxpool, kernel: 2}\n"
         "  - {name: fc, type: dense, units: 10}\n";

START_TEST(test_kinds_formulas)
{
    struct fixture f;
    open_yaml(&f, kinds);
    /* c_s2: SAME, stride 2: out ceil(9/2) = 5; MACs = K C R S OH OW */
    const struct pf_prof_row *r = row(&f, "c_s2");
    ck_assert_int_eq(r->before.out.h, 5);
    ck_assert_uint_eq(r->before.macs, 8ull * 4 * 3 * 3 * 5 * 5);
    ck_assert_uint_eq(r->before.params, 8ull * 4 * 9 + 8);
    /* c_pad: kernel 3x1, pad 2 rows: out (5 + 4 - 3 + 1) x 5 = 7 x 5 */
    r = row(&f, "c_pad");
    ck_assert_int_eq(r->before.out.h, 7);
    ck_assert_int_eq(r->before.out.w, 5);
    ck_assert_uint_eq(r->before.macs, 6ull * 8 * 3 * 1 * 7 * 5);
    ck_assert_uint_eq(r->before.params, 6ull * 8 * 3);
    /* c_grp: groups 2: each output reads C / 2 = 3 channels; out 5 x 3 */
    r = row(&f, "c_grp");
    ck_assert_uint_eq(r->before.macs, 4ull * 3 * 9 * 5 * 3);
    ck_assert_uint_eq(r->before.params, 4ull * 3 * 9 + 4);
    /* BN: gamma + beta; 2 ops per element + relu */
    r = row(&f, "bn");
    ck_assert_uint_eq(r->before.params, 8);
    ck_assert_uint_eq(r->before.macs, 0);
    ck_assert_uint_eq(r->before.other_ops, 3ull * 4 * 5 * 3);
    /* depthwise with multiplier 2: each output reads one channel */
    r = row(&f, "dw");
    ck_assert_uint_eq(r->before.macs, 8ull * 1 * 9 * 5 * 3);
    ck_assert_uint_eq(r->before.params, 8ull * 9 + 8);
    r = row(&f, "mp");
    ck_assert_uint_eq(r->before.macs, 0);
    ck_assert_uint_eq(r->before.params, 0);
    ck_assert_int_eq(r->before.out.h, 2);
    /* dense reading (8, 2, 1) directly */
    r = row(&f, "fc");
    ck_assert_uint_eq(r->before.macs, 8ull * 2 * 1 * 10);
    ck_assert_uint_eq(r->before.params, 16ull * 10 + 10);
    /* bytes at the identity plan: 4 x (params + BN running statistics) */
    ck_assert_uint_eq(f.p->before.bytes, 4 * (f.p->before.params + 2 * 4));
    ck_assert_uint_eq(f.p->before.bytes, f.p->after.bytes);
    /* activation bytes: float32 outputs */
    ck_assert_uint_eq(row(&f, "c_s2")->before.act_bytes, 4ull * 8 * 25);
    close_all(&f);
}
END_TEST

START_TEST(test_reference_totals)
{
    static const struct {
        const char *path;
        unsigned long long macs, params;
    } nets[] = {
        {"assets/nets/convnet_fmnist.yaml", 13883904ull, 3274634ull},
        {"assets/nets/lenet5_fmnist.yaml", 281640ull, 44426ull},
        {"assets/nets/resnet20_cifar.yaml", 40813184ull, 0},
        {"assets/nets/resnet18.yaml", 1814073344ull, 11689512ull},
        {"assets/nets/mobilenet_v1.yaml", 568740352ull, 4231976ull},
    };
    for (size_t i = 0; i < PF_ARRAY_LEN(nets); i++) {
        struct fixture f;
        open_file(&f, nets[i].path);
        ck_assert_uint_eq(f.p->before.macs, nets[i].macs);
        ck_assert_uint_eq(f.p->after.macs, nets[i].macs);
        if (nets[i].params)
            ck_assert_uint_eq(f.p->before.params, nets[i].params);
        if (strstr(nets[i].path, "mobilenet")) { /* 4,210,088 without BN's gamma and beta */
            uint64_t bn = 0;
            for (int l = 0; l < f.m->n_layers; l++)
                if (f.m->layers[l].ops == &pf_layer_batchnorm)
                    bn += f.p->rows[l].before.params;
            ck_assert_uint_eq(f.p->before.params - bn, 4210088ull);
        }
        close_all(&f);
    }
}
END_TEST

START_TEST(test_plan_convnet)
{
    struct fixture f;
    open_file(&f, "assets/nets/convnet_fmnist.yaml");
    /* conv2 keeps half its inputs: conv1 loses half its filters */
    int c2 = pf_model_find(f.m, "conv2");
    f.plan.layers[c2].prune_ratio = 0.5;
    ck_assert_int_eq(pf_profile_update(f.p, c2), 0);
    ck_assert_uint_eq(row(&f, "conv1")->after.macs, 16ull * 1 * 25 * 28 * 28);
    ck_assert_uint_eq(row(&f, "conv2")->after.macs, 64ull * 16 * 25 * 14 * 14);
    ck_assert_uint_eq(row(&f, "fc3")->after.macs, row(&f, "fc3")->before.macs);
    ck_assert(row(&f, "conv2")->eff_prune == 0.5);
    /* fc3 keeps a quarter of conv2's 64 channels: 7x7 features each */
    int fc3 = pf_model_find(f.m, "fc3");
    f.plan.layers[fc3].prune_ratio = 0.75;
    f.plan.layers[fc3].w_bits = 4;
    ck_assert_int_eq(pf_profile_update(f.p, fc3), 0);
    ck_assert_uint_eq(row(&f, "fc3")->after.macs, 16ull * 49 * 1024);
    ck_assert_uint_eq(row(&f, "conv2")->after.macs, 16ull * 16 * 25 * 14 * 14);
    /* fc3 weights at 4 bits (+ 16-entry codebook), bias at 32 */
    ck_assert_uint_eq(row(&f, "fc3")->after.bytes, 16ull * 49 * 1024 / 2 + 64 + 4 * 1024);
    uint64_t macs = 0;
    for (int i = 0; i < f.m->n_layers; i++)
        macs += f.p->rows[i].after.macs;
    ck_assert_uint_eq(f.p->after.macs, macs);
    close_all(&f);
}
END_TEST

START_TEST(test_bytes_rule)
{
    ck_assert_uint_eq(pf_profile_weight_bytes(1000, 32, 0), 4000);
    ck_assert_uint_eq(pf_profile_weight_bytes(1000, 8, 0), 1000 + 256 * 4);
    ck_assert_uint_eq(pf_profile_weight_bytes(1000, 16, 0), 2000 + 8);
    /* 30% sparse: 700 values + a 125-byte mask */
    ck_assert_uint_eq(pf_profile_weight_bytes(1000, 32, 0.3), 2800 + 125);
    ck_assert_uint_eq(pf_profile_weight_bytes(1000, 4, 0.5), 250 + 125 + 64);
}
END_TEST

START_TEST(test_group_resolution)
{
    struct fixture f;
    open_file(&f, "assets/nets/resnet20_cifar.yaml");
    /* two consumers of the stage-1 group ask 0.25 and 0.5: the group keeps 8 of 16 */
    int a = pf_model_find(f.m, "s1b2_conv1"), b = pf_model_find(f.m, "s1b3_conv1");
    f.plan.layers[a].prune_ratio = 0.25;
    ck_assert_int_eq(pf_profile_update(f.p, a), 0);
    f.plan.layers[b].prune_ratio = 0.5;
    ck_assert_int_eq(pf_profile_update(f.p, b), 0);
    int gi = pf_groups_in_group(f.g, f.m, a);
    ck_assert_int_eq(f.p->groups[gi].keep, 8);
    ck_assert(f.p->groups[gi].conflict);
    ck_assert_int_eq(f.p->groups[gi].n_requests, 2);
    ck_assert(row(&f, "s1b2_conv1")->eff_prune == 0.5); /* realised, not requested */
    ck_assert_int_eq(row(&f, "conv1")->after.out.c, 8);
    ck_assert_int_eq(row(&f, "s1b3_add")->after.out.c, 8);
    /* round_to 3: 8 -> 9 (nearest multiple, never above 16) */
    f.plan.round_to = 3;
    ck_assert_int_eq(pf_profile_update_all(f.p), 0);
    ck_assert_int_eq(f.p->groups[gi].keep, 9);
    f.plan.round_to = 32; /* never above the original */
    ck_assert_int_eq(pf_profile_update_all(f.p), 0);
    ck_assert_int_eq(f.p->groups[gi].keep, 16);
    f.plan.round_to = 4;
    f.plan.layers[a].prune_ratio = 0.9; /* 2 channels -> never below 4 */
    ck_assert_int_eq(pf_profile_update_all(f.p), 0);
    ck_assert_int_eq(f.p->groups[gi].keep, 4);
    /* a skipped consumer's request is ignored */
    f.plan.round_to = 1;
    f.plan.layers[a].skip = true;
    ck_assert_int_eq(pf_profile_update_all(f.p), 0);
    ck_assert_int_eq(f.p->groups[gi].keep, 8);
    ck_assert(row(&f, "s1b2_conv1")->skipped);
    /* a ratio leaving no channel: refused, named, the profile stays consistent */
    f.plan.layers[b].prune_ratio = 0.99;
    ck_assert_int_eq(pf_profile_update(f.p, b), -PF_EINVAL);
    ck_assert_ptr_nonnull(strstr(pf_err_msg(), "s1b3_conv1"));
    ck_assert_int_eq(f.p->bad_layer, b);
    ck_assert_int_eq(f.p->groups[gi].keep, 1);
    f.plan.layers[b].prune_ratio = 0.5;
    ck_assert_int_eq(pf_profile_update(f.p, b), 0);
    ck_assert_int_eq(f.p->bad_layer, -1);
    /* the input of the stem cannot be pruned */
    f.plan.layers[0].prune_ratio = 0.5;
    ck_assert_int_eq(pf_profile_update(f.p, 0), -PF_EINVAL);
    ck_assert_ptr_nonnull(strstr(pf_err_msg(), "network input"));
    close_all(&f);
}
END_TEST

/* Groups between whole 16-channel blocks: pruned to a count that is not a multiple of 16. */
START_TEST(test_odd_groups)
{
    struct fixture f;
    open_file(&f, "assets/nets/resnet20_cifar.yaml"); /* stages of 16, 32, 64 channels */
    int a = pf_model_find(f.m, "s1b2_conv1"), c = pf_model_find(f.m, "s3b2_conv2");
    int ga = pf_groups_in_group(f.g, f.m, a), gc = pf_groups_in_group(f.g, f.m, c);
    ck_assert_int_eq(pf_profile_n_odd(f.p), 0); /* nothing pruned */
    f.plan.layers[a].prune_ratio = 0.5;         /* 16 -> 8 */
    f.plan.layers[c].prune_ratio = 0.25;        /* 64 -> 48: whole blocks */
    ck_assert_int_eq(pf_profile_update_all(f.p), 0);
    ck_assert(pf_profile_group_odd(f.p, ga));
    ck_assert(!pf_profile_group_odd(f.p, gc));
    ck_assert_int_eq(pf_profile_n_odd(f.p), 1);
    f.plan.layers[c].prune_ratio = 0.3; /* 64 -> 45 */
    ck_assert_int_eq(pf_profile_update_all(f.p), 0);
    ck_assert(pf_profile_group_odd(f.p, gc));
    ck_assert_int_eq(pf_profile_n_odd(f.p), 2);
    f.plan.round_to = 16; /* 8 -> 16 (never below one block), 45 -> 48 */
    ck_assert_int_eq(pf_profile_update_all(f.p), 0);
    ck_assert_int_eq(f.p->groups[gc].keep, 48);
    ck_assert_int_eq(pf_profile_n_odd(f.p), 0);
    ck_assert(!pf_profile_group_odd(f.p, -1)); /* no group */
    ck_assert(!pf_profile_group_odd(f.p, f.p->n_groups));
    close_all(&f);
}
END_TEST

/* A plan's after-numbers equal the counts of the model with those channels physically gone. */
START_TEST(test_after_equals_pruned_model)
{
    static const char *const nets[] = {"assets/nets/resnet20_cifar.yaml",
                                       "assets/nets/mobilenet_v1.yaml",
                                       "assets/nets/convnet_fmnist.yaml"};
    for (size_t n = 0; n < PF_ARRAY_LEN(nets); n++) {
        struct fixture f;
        open_file(&f, nets[n]);
        struct pf_rng rng;
        pf_rng_seed(&rng, 3 + n);
        for (int i = 0; i < f.m->n_layers; i++)
            if (pf_plan_has_weights(&f.m->layers[i]) && pf_rng_uniform(&rng) < 0.6) {
                f.plan.layers[i].prune_ratio = 0.7 * pf_rng_uniform(&rng);
                if (pf_plan_check_entry(&f.plan.layers[i], f.m, f.g, i) < 0)
                    f.plan.layers[i].prune_ratio = 0;
            }
        ck_assert_msg(pf_profile_update_all(f.p) == 0, "%s", pf_err_msg());
        struct pf_model *s = NULL;
        struct pf_groups *g = NULL;
        ck_assert_int_eq(pf_model_clone(f.m, &s), 0);
        ck_assert_int_eq(pf_groups_build(s, &g), 0);
        for (int gi = 0; gi < g->n_groups; gi++) {
            int C = g->groups[gi].channels, k = f.p->groups[gi].keep;
            if (k == C)
                continue;
            uint8_t *keep = calloc((size_t)C, 1);
            for (int c = 0; c < k; c++)
                keep[C - 1 - c] = 1; /* which channels does not matter for the counts */
            ck_assert_msg(pf_model_prune_group(s, g, gi, keep) == 0, "%s", pf_err_msg());
            free(keep);
        }
        struct pf_count cnt;
        pf_model_count(s, &cnt);
        ck_assert_msg(cnt.macs == f.p->after.macs, "%s: pruned %llu MACs, profile %llu", nets[n],
                      (unsigned long long)cnt.macs, (unsigned long long)f.p->after.macs);
        ck_assert_uint_eq(cnt.params, f.p->after.params);
        ck_assert_uint_eq(cnt.other_ops, f.p->after.other_ops);
        ck_assert_uint_lt(cnt.macs, f.p->before.macs);
        for (int i = 0; i < s->n_layers; i++) {
            ck_assert_int_eq(s->layers[i].out.c, f.p->rows[i].after.out.c);
            ck_assert_int_eq(s->layers[i].in[0].c, f.p->rows[i].after.in.c);
        }
        pf_groups_free(g);
        pf_model_free(s);
        close_all(&f);
    }
}
END_TEST

static void assert_same(const struct pf_profile *a, const struct pf_profile *b)
{
    ck_assert_int_eq(memcmp(&a->before, &b->before, sizeof a->before), 0);
    ck_assert_uint_eq(a->after.macs, b->after.macs);
    ck_assert_uint_eq(a->after.params, b->after.params);
    ck_assert_uint_eq(a->after.bytes, b->after.bytes);
    ck_assert_uint_eq(a->after.act_bytes, b->after.act_bytes);
    ck_assert_uint_eq(a->after.other_ops, b->after.other_ops);
    for (int i = 0; i < a->n_layers; i++)
        ck_assert_msg(!memcmp(&a->rows[i].after, &b->rows[i].after, sizeof a->rows[i].after),
                      "row %d differs", i);
    for (int g = 0; g < a->n_groups; g++)
        ck_assert_int_eq(a->groups[g].keep, b->groups[g].keep);
}

START_TEST(test_incremental_equals_full)
{
    struct fixture f;
    open_file(&f, "assets/nets/resnet56_cifar.yaml");
    struct pf_rng rng;
    pf_rng_seed(&rng, 9);
    f.plan.round_to = 2;
    ck_assert_int_eq(pf_profile_update_all(f.p), 0);
    for (int step = 0; step < 300; step++) {
        int i = (int)(pf_rng_uniform(&rng) * f.m->n_layers);
        struct pf_plan_layer *e = &f.plan.layers[i];
        double u = pf_rng_uniform(&rng);
        if (!pf_plan_has_weights(&f.m->layers[i]))
            e->a_bits = 1 + (int)(u * 32);
        else if (u < 0.6)
            e->prune_ratio = pf_rng_uniform(&rng) < 0.2 ? 0 : 0.8 * pf_rng_uniform(&rng);
        else if (u < 0.8)
            e->w_bits = 1 + (int)(pf_rng_uniform(&rng) * 32);
        else if (u < 0.9)
            e->sparsity = 0.9 * pf_rng_uniform(&rng);
        else
            e->skip = !e->skip;
        int rc = pf_profile_update(f.p, i);
        if (rc < 0) { /* a stem ratio: undo it */
            e->prune_ratio = 0;
            ck_assert_int_eq(pf_profile_update(f.p, i), 0);
        }
        if (step % 25 == 0 || step == 299) {
            struct pf_profile *full = NULL;
            ck_assert_int_eq(pf_profile_new(f.m, f.g, &f.plan, &full), 0);
            assert_same(f.p, full);
            pf_profile_free(full);
        }
    }
    close_all(&f);
}
END_TEST

Suite *model_profile_suite(void);
Suite *model_profile_suite(void)
{
    Suite *s = suite_create("model_profile");
    TCase *tc = tcase_create("profile");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_kinds_formulas);
    tcase_add_test(tc, test_reference_totals);
    tcase_add_test(tc, test_plan_convnet);
    tcase_add_test(tc, test_bytes_rule);
    tcase_add_test(tc, test_group_resolution);
    tcase_add_test(tc, test_odd_groups);
    tcase_add_test(tc, test_after_equals_pruned_model);
    tcase_add_test(tc, test_incremental_equals_full);
    suite_add_tcase(s, tc);
    return s;
}

/* check_model_groups.c: channel groups (resnet20's residual groups, depthwise ties, concat
 * segments, fixed groups) and physical channel removal: a pruned model's logits equal the full
 * model's with the removed channels' consumer weights zeroed, on a net with residual adds,
 * depthwise convs, concat, BN, flatten and dense; the pruned model saves, loads and evaluates. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/core/pf_rng.h"
#include "engine/core/pf_status.h"
#include "engine/io/model_h5.h"
#include "engine/model/groups.h"
#include "helpers/pf_test.h"

#define PRUNE_RTOL 1e-4 /* pruned vs zeroed logits, max relative difference */

static struct pf_model *build(const char *yaml)
{
    struct pf_model *m = NULL;
    int rc = pf_model_from_yaml(yaml, strlen(yaml), "t.yaml", &m);
    ck_assert_msg(rc == 0, "netdef failed: %s", pf_err_msg());
    return m;
}

static int group_of(const struct pf_model *m, const struct pf_groups *g, const char *layer)
{
    int i = pf_model_find(m, layer);
    ck_assert_msg(i >= 0, "no layer %s", layer);
    return pf_groups_out_group(g, i);
}

static bool has_layer(const struct pf_model *m, const int *list, int n, const char *name)
{
    for (int k = 0; k < n; k++)
        if (!strcmp(m->layers[list[k]].name, name))
            return true;
    return false;
}

START_TEST(test_resnet20_groups)
{
    struct pf_model *m = NULL;
    struct pf_groups *g = NULL;
    ck_assert_int_eq(pf_model_from_file("assets/nets/resnet20_cifar.yaml", &m), 0);
    ck_assert_int_eq(pf_groups_build(m, &g), 0);
    /* stage 1: the stem and every block's second conv feed the same chain of adds */
    int g1 = group_of(m, g, "s1b1_add");
    ck_assert_int_ge(g1, 0);
    const char *s1[] = {"conv1", "bn1", "s1b1_bn2", "s1b2_add", "s1b3_add", "s1b3_bn2"};
    for (size_t k = 0; k < PF_ARRAY_LEN(s1); k++)
        ck_assert_msg(group_of(m, g, s1[k]) == g1, "%s not in the stage-1 group", s1[k]);
    const struct pf_group *gr = &g->groups[g1];
    ck_assert_int_eq(gr->channels, 16);
    ck_assert_int_eq(gr->fixed, PF_GROUP_FREE);
    ck_assert_int_eq(gr->n_producers, 4);
    const char *prod1[] = {"conv1", "s1b1_conv2", "s1b2_conv2", "s1b3_conv2"};
    for (size_t k = 0; k < PF_ARRAY_LEN(prod1); k++)
        ck_assert(has_layer(m, gr->producers, gr->n_producers, prod1[k]));
    /* its consumers: each block's first conv and stage 2's first conv and projection */
    const char *cons1[] = {"s1b1_conv1", "s1b2_conv1", "s1b3_conv1", "s2b1_conv1", "s2b1_proj"};
    ck_assert_int_eq(gr->n_consumers, 5);
    for (size_t k = 0; k < PF_ARRAY_LEN(cons1); k++)
        ck_assert(has_layer(m, gr->consumers, gr->n_consumers, cons1[k]));
    /* stage 2: the projection shortcut joins the convs feeding its adds */
    int g2 = group_of(m, g, "s2b1_add");
    ck_assert_int_ne(g2, g1);
    gr = &g->groups[g2];
    const char *prod2[] = {"s2b1_conv2", "s2b1_proj", "s2b2_conv2", "s2b3_conv2"};
    ck_assert_int_eq(gr->n_producers, 4);
    for (size_t k = 0; k < PF_ARRAY_LEN(prod2); k++)
        ck_assert(has_layer(m, gr->producers, gr->n_producers, prod2[k]));
    /* a block's inner conv is its own group: producer conv1, consumer conv2 */
    int gi = group_of(m, g, "s1b2_conv1");
    gr = &g->groups[gi];
    ck_assert_int_eq(gr->n_producers, 1);
    ck_assert_int_eq(gr->n_consumers, 1);
    ck_assert_str_eq(m->layers[gr->consumers[0]].name, "s1b2_conv2");
    ck_assert_int_eq(group_of(m, g, "s1b2_bn1"), gi);
    /* fixed: the network input and the logits */
    ck_assert_int_eq(pf_groups_in_group(g, m, 0), 0);
    ck_assert_int_eq(g->groups[0].fixed, PF_GROUP_INPUT);
    ck_assert_int_eq(g->groups[group_of(m, g, "fc")].fixed, PF_GROUP_LOGITS);
    /* 1 input + 1 stem/stage group x 3 + 9 inner + logits */
    ck_assert_int_eq(g->n_groups, 14);
    pf_groups_free(g);
    pf_model_free(m);
}
END_TEST

START_TEST(test_mobilenet_depthwise_tied)
{
    struct pf_model *m = NULL;
    struct pf_groups *g = NULL;
    ck_assert_int_eq(pf_model_from_file("assets/nets/mobilenet_v1.yaml", &m), 0);
    ck_assert_int_eq(pf_groups_build(m, &g), 0);
    /* dw1 reads conv0's channels and writes the same ones: pw1 consumes the group of conv0 */
    int g0 = group_of(m, g, "conv0");
    ck_assert_int_eq(group_of(m, g, "dw1"), g0);
    ck_assert_int_eq(group_of(m, g, "dw1_bn"), g0);
    ck_assert_int_eq(pf_groups_in_group(g, m, pf_model_find(m, "pw1")), g0);
    const struct pf_group *gr = &g->groups[g0];
    ck_assert_int_eq(gr->n_producers, 1);
    ck_assert_int_eq(gr->n_consumers, 1); /* pw1 only: dw1 is a member, not a consumer */
    pf_groups_free(g);
    pf_model_free(m);
}
END_TEST

#define HEAD "name: t\ninput: [3, 8, 8]\nclasses: 5\nlayers:\n"

/* residual add, depthwise with multiplier 2, concat of two groups, BN, flatten, dense */
static const char *const net =
    HEAD "  - {name: c1, type: conv2d, filters: 6, kernel: 3, pad: same}\n"
         "  - {name: b1, type: batchnorm, act: relu}\n"
         "  - {name: c2, type: conv2d, filters: 6, kernel: 3, pad: 1}\n"
         "  - {name: sum, type: add, inputs: [c2, b1], act: relu}\n"
         "  - {name: dw, type: conv2d, filters: 12, kernel: 3, pad: same, groups: 6}\n"
         "  - {name: c3, type: conv2d, inputs: [sum], filters: 4, kernel: 1, stride: 2}\n"
         "  - {name: pool, type: maxpool, inputs: [dw], kernel: 2}\n"
         "  - {name: c4, type: conv2d, inputs: [pool], filters: 4, kernel: 1}\n"
         "  - {name: cat, type: concat, inputs: [c4, c3]}\n"
         "  - {name: c5, type: conv2d, filters: 5, kernel: 3, pad: same, act: relu}\n"
         "  - {name: b5, type: batchnorm}\n"
         "  - {name: flat, type: flatten}\n"
         "  - {name: fc1, type: dense, units: 7, act: relu}\n"
         "  - {name: fc2, type: dense, units: 5}\n";

START_TEST(test_segments)
{
    struct pf_model *m = build(net);
    struct pf_groups *g = NULL;
    ck_assert_int_eq(pf_groups_build(m, &g), 0);
    int n;
    const struct pf_chan_seg *s = pf_groups_out(g, pf_model_find(m, "dw"), &n);
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(s[0].group, group_of(m, g, "c1")); /* depthwise: tied to c1 and c2 */
    ck_assert_int_eq(s[0].mult, 2);
    ck_assert_int_eq(group_of(m, g, "c2"), group_of(m, g, "c1"));
    s = pf_groups_out(g, pf_model_find(m, "cat"), &n);
    ck_assert_int_eq(n, 2);
    ck_assert_int_eq(s[0].group, group_of(m, g, "c4"));
    ck_assert_int_eq(s[1].group, group_of(m, g, "c3"));
    ck_assert_int_eq(group_of(m, g, "cat"), -1);
    s = pf_groups_out(g, pf_model_find(m, "flat"), &n);
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(s[0].mult, 16); /* 5 x 4 x 4: each channel is 16 features */
    pf_groups_free(g);
    pf_model_free(m);
}
END_TEST

/* Randomises every param (BN statistics included, variances positive). */
static void randomise(struct pf_model *m, unsigned long long seed)
{
    struct pf_rng rng;
    pf_rng_seed(&rng, seed);
    for (int i = 0; i < m->n_layers; i++)
        for (int j = 0; j < m->layers[i].n_params; j++) {
            struct pf_param *p = &m->layers[i].params[j];
            float *w = pf_tensor_f32(&p->w);
            bool var = !strcmp(p->name, "running_var");
            for (size_t k = 0; k < pf_tensor_numel(&p->w); k++)
                w[k] = var ? 0.5f + pf_rng_uniform(&rng) : 2.0f * pf_rng_uniform(&rng) - 1.0f;
        }
}

/* Zeroes, in every consumer of `group`, the input slices of channels with keep[c] == 0. */
static void zero_consumers(struct pf_model *m, const struct pf_groups *g, int group,
                           const uint8_t *keep)
{
    const struct pf_group *gr = &g->groups[group];
    for (int k = 0; k < gr->n_consumers; k++) {
        struct pf_layer *l = &m->layers[gr->consumers[k]];
        int n;
        const struct pf_chan_seg *s = pf_groups_in(g, m, gr->consumers[k], &n);
        struct pf_tensor *w = &l->params[0].w;                           /* (K, Cin-ish, ...) */
        size_t K = (size_t)w->shape[0], per_in = pf_tensor_numel(w) / K; /* per output row */
        /* entries of one input channel position inside a row: conv R*S, dense 1 */
        size_t cols = (size_t)w->shape[1], inner = per_in / cols;
        size_t at = 0;
        for (int q = 0; q < n; q++) {
            int C = g->groups[s[q].group].channels;
            for (int c = 0; c < C; c++)
                for (int j = 0; j < s[q].mult; j++, at++) {
                    bool drop = s[q].group == group && !keep[c];
                    size_t hw = l->ops == &pf_layer_dense && l->in[0].h * l->in[0].w > 1
                                    ? (size_t)l->in[0].h * l->in[0].w
                                    : 1;
                    for (size_t o = 0; drop && o < K; o++)
                        memset(pf_tensor_f32(w) + o * per_in + (at * hw) * inner, 0,
                               hw * inner * sizeof(float));
                }
        }
    }
}

static void logits_of(struct pf_model *m, const float *x, int N, float *out)
{
    ck_assert_int_eq(pf_model_set_batch(m, N), 0);
    ck_assert_msg(pf_model_forward(m, x, N, false) == 0, "%s", pf_err_msg());
    memcpy(out, pf_model_logits(m), (size_t)N * m->classes * sizeof *out);
}

START_TEST(test_prune_equals_zeroed)
{
    const int N = 3;
    struct pf_model *full = build(net), *pr = NULL, *back = NULL;
    randomise(full, 7);
    struct pf_groups *g = NULL, *gp = NULL;
    ck_assert_int_eq(pf_groups_build(full, &g), 0);
    ck_assert_int_eq(pf_model_clone(full, &pr), 0);
    ck_assert_int_eq(pf_groups_build(pr, &gp), 0);
    float x[3 * 3 * 8 * 8], a[3 * 5], b[3 * 5], c[3 * 5];
    pf_test_fill(x, PF_ARRAY_LEN(x), -1, 1, 5);
    /* prune: the residual group (c1, c2, sum, dw), c4's, c3's (concat slices) and c5's */
    static const struct {
        const char *layer;
        uint8_t keep[8];
    } cuts[] = {
        {"c1", {1, 0, 1, 1, 0, 1}}, {"c4", {0, 1, 1, 0}},           {"c3", {1, 1, 0, 1}},
        {"c5", {1, 0, 1, 0, 1}},    {"fc1", {1, 1, 0, 1, 1, 0, 1}},
    };
    for (size_t k = 0; k < PF_ARRAY_LEN(cuts); k++) {
        int gi = group_of(full, g, cuts[k].layer);
        zero_consumers(full, g, gi, cuts[k].keep);
        ck_assert_msg(pf_model_prune_group(pr, gp, gi, cuts[k].keep) == 0, "%s: %s", cuts[k].layer,
                      pf_err_msg());
    }
    ck_assert_int_eq(gp->groups[group_of(full, g, "c1")].channels, 4);
    ck_assert_int_eq(pr->layers[pf_model_find(pr, "dw")].out.c, 8);
    ck_assert_int_eq(pr->layers[pf_model_find(pr, "cat")].out.c, 5);
    ck_assert_int_eq(pr->layers[pf_model_find(pr, "flat")].out.c, 3 * 16);
    logits_of(full, x, N, a);
    logits_of(pr, x, N, b);
    double rel = pf_test_max_rel(b, a, PF_ARRAY_LEN(a), 1e-3);
    ck_assert_msg(rel <= PRUNE_RTOL, "pruned vs zeroed logits differ: %g", rel);
    /* fewer MACs and params, and the netdef says so */
    struct pf_count cf, cp;
    pf_model_count(full, &cf);
    pf_model_count(pr, &cp);
    ck_assert_uint_lt(cp.macs, cf.macs);
    ck_assert_uint_lt(cp.params, cf.params);
    char *yaml = NULL;
    ck_assert_int_eq(pf_model_to_yaml(pr, &yaml), 0);
    ck_assert_msg(strstr(yaml, "{name: dw, type: conv2d, filters: 8") && strstr(yaml, "groups: 4"),
                  "%s", yaml);
    free(yaml);
    /* save and load: same logits */
    char path[] = "/tmp/pf_prune_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    ck_assert_msg(pf_model_save(pr, path, "synthetic", NULL) == 0, "%s", pf_err_msg());
    ck_assert_msg(pf_model_load(path, &back, NULL, 0) == 0, "%s", pf_err_msg());
    unlink(path);
    logits_of(back, x, N, c);
    pf_test_close(c, b, PF_ARRAY_LEN(b), 1e-6f, 1e-6f, "loaded pruned model");
    /* a pruned model still trains: backward runs at the new shapes */
    ck_assert_int_eq(pf_model_forward(pr, x, N, true), 0);
    pf_model_zero_grad(pr);
    ck_assert_int_eq(pf_model_backward(pr, x, b, N), 0);
    pf_model_free(back);
    pf_groups_free(gp);
    pf_groups_free(g);
    pf_model_free(pr);
    pf_model_free(full);
}
END_TEST

START_TEST(test_prune_refusals)
{
    struct pf_model *m = build(net);
    struct pf_groups *g = NULL;
    ck_assert_int_eq(pf_groups_build(m, &g), 0);
    uint8_t none[8] = {0}, some[8] = {1, 0, 1, 1, 1, 1, 1, 1};
    ck_assert_int_eq(pf_model_prune_group(m, g, 0, some), -PF_EINVAL); /* the input */
    ck_assert_ptr_nonnull(strstr(pf_err_msg(), "network input"));
    ck_assert_int_eq(pf_model_prune_group(m, g, group_of(m, g, "fc2"), some), -PF_EINVAL);
    ck_assert_ptr_nonnull(strstr(pf_err_msg(), "logits"));
    ck_assert_int_eq(pf_model_prune_group(m, g, group_of(m, g, "c4"), none), -PF_EINVAL);
    ck_assert_ptr_nonnull(strstr(pf_err_msg(), "all 4 channels"));
    ck_assert_int_eq(pf_model_prune_group(m, g, g->n_groups, some), -PF_EINVAL);
    pf_groups_free(g);
    pf_model_free(m);
}
END_TEST

START_TEST(test_l1_keep)
{
    struct pf_model *m = build(net);
    struct pf_groups *g = NULL;
    ck_assert_int_eq(pf_groups_build(m, &g), 0);
    int gi = group_of(m, g, "c4"); /* producer c4: weight (4, 12, 1, 1) */
    float *w = pf_tensor_f32(&m->layers[pf_model_find(m, "c4")].params[0].w);
    for (int k = 0; k < 4; k++)
        for (int c = 0; c < 12; c++)
            w[k * 12 + c] = (k == 2 ? 3.0f : k == 0 ? -2.0f : 0.5f) * (c % 2 ? 1 : -1);
    uint8_t keep[4];
    ck_assert_int_eq(pf_group_l1_keep(m, g, gi, 2, keep), 0);
    ck_assert(keep[0] && keep[2] && !keep[1] && !keep[3]);
    ck_assert_int_eq(pf_group_l1_keep(m, g, gi, 3, keep), 0);
    ck_assert(keep[0] && keep[1] && keep[2] && !keep[3]); /* tie: the lower index */
    ck_assert_int_eq(pf_group_l1_keep(m, g, gi, 0, keep), -PF_EINVAL);
    pf_groups_free(g);
    pf_model_free(m);
}
END_TEST

Suite *model_groups_suite(void);
Suite *model_groups_suite(void)
{
    Suite *s = suite_create("model_groups");
    TCase *tc = tcase_create("groups");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_resnet20_groups);
    tcase_add_test(tc, test_mobilenet_depthwise_tied);
    tcase_add_test(tc, test_segments);
    tcase_add_test(tc, test_prune_equals_zeroed);
    tcase_add_test(tc, test_prune_refusals);
    tcase_add_test(tc, test_l1_keep);
    suite_add_tcase(s, tc);
    return s;
}

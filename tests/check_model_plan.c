/* check_model_plan.c: plans: YAML and ratio.list round trips, PocketFlow's preserve_ratio
 * spelling, skip rules (first / last / name patterns), and bad plans (unknown layers, ratios
 * outside [0, 1), bits outside 1..32, weight settings on layers without weights, ratios that
 * leave zero channels or touch the network input) with errors naming file:line:col and layer. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "engine/core/pf_status.h"
#include "engine/model/plan.h"

static struct pf_model *resnet20(void)
{
    struct pf_model *m = NULL;
    ck_assert_msg(pf_model_from_file("assets/nets/resnet20_cifar.yaml", &m) == 0, "%s",
                  pf_err_msg());
    return m;
}

static void read_ok(struct pf_plan *p, struct pf_model *m, const char *yaml)
{
    int rc = pf_plan_read_yaml(p, m, yaml, strlen(yaml), "plan.yaml");
    ck_assert_msg(rc == 0, "%s", pf_err_msg());
}

static void read_bad(struct pf_model *m, const char *yaml, const char *want1, const char *want2)
{
    struct pf_plan p;
    ck_assert_int_eq(pf_plan_init(&p, m), 0);
    int rc = pf_plan_read_yaml(&p, m, yaml, strlen(yaml), "bad.yaml");
    ck_assert_msg(rc < 0, "accepted: %s", yaml);
    ck_assert_msg(strstr(pf_err_msg(), "bad.yaml:"), "no file:line in '%s'", pf_err_msg());
    ck_assert_msg(strstr(pf_err_msg(), want1), "'%s' lacks '%s'", pf_err_msg(), want1);
    if (want2)
        ck_assert_msg(strstr(pf_err_msg(), want2), "'%s' lacks '%s'", pf_err_msg(), want2);
    pf_plan_deinit(&p);
}

START_TEST(test_yaml_round_trip)
{
    struct pf_model *m = resnet20();
    struct pf_plan a, b;
    ck_assert_int_eq(pf_plan_init(&a, m), 0);
    ck_assert_int_eq(pf_plan_init(&b, m), 0);
    read_ok(&a, m,
            "round_to: 4\nskip_first: true\nskip_op_names: [\"s3*\", fc]\nlayers:\n"
            "  s1b1_conv2: {prune_ratio: 0.3, sparsity: 0.25, w_bits: 4, a_bits: 8}\n"
            "  s2b1_conv1: {preserve_ratio: 0.4}\n"
            "  s1b2_bn1: {a_bits: 6, skip: true}\n");
    int i = pf_model_find(m, "s2b1_conv1");
    ck_assert(a.layers[i].prune_ratio > 0.5999999 && a.layers[i].prune_ratio < 0.6000001);
    ck_assert_int_eq(a.round_to, 4);
    ck_assert_int_eq(a.n_skip_names, 2);
    char *text = NULL, *text2 = NULL;
    ck_assert_int_eq(pf_plan_to_yaml(&a, m, &text), 0);
    read_ok(&b, m, text);
    ck_assert_int_eq(memcmp(a.layers, b.layers, (size_t)m->n_layers * sizeof *a.layers), 0);
    ck_assert_int_eq(b.round_to, 4);
    ck_assert(b.skip_first && !b.skip_last);
    ck_assert_int_eq(b.n_skip_names, 2);
    ck_assert_str_eq(b.skip_names[0], "s3*");
    ck_assert_int_eq(pf_plan_to_yaml(&b, m, &text2), 0);
    ck_assert_str_eq(text, text2);
    /* skip rules */
    ck_assert(pf_plan_skipped(&b, m, 0));                              /* first conv */
    ck_assert(pf_plan_skipped(&b, m, pf_model_find(m, "s3b2_conv1"))); /* pattern */
    ck_assert(pf_plan_skipped(&b, m, pf_model_find(m, "fc")));
    ck_assert(pf_plan_skipped(&b, m, pf_model_find(m, "s1b2_bn1"))); /* own flag */
    ck_assert(!pf_plan_skipped(&b, m, pf_model_find(m, "s1b1_conv2")));
    ck_assert(pf_plan_effective(&b, m, pf_model_find(m, "s1b2_bn1")).a_bits == 32);
    /* PocketFlow's one comma-separated string works too */
    struct pf_plan c;
    ck_assert_int_eq(pf_plan_init(&c, m), 0);
    read_ok(&c, m, "skip_op_names: 's1*, fc'\nskip_last: true\n");
    ck_assert_int_eq(c.n_skip_names, 2);
    ck_assert_str_eq(c.skip_names[1], "fc");
    /* an empty plan writes and reads back as the identity */
    pf_plan_reset(&c);
    free(text2);
    ck_assert_int_eq(pf_plan_to_yaml(&c, m, &text2), 0);
    read_ok(&b, m, text2);
    free(text);
    free(text2);
    /* copy */
    ck_assert_int_eq(pf_plan_copy(&c, &a), 0);
    ck_assert_int_eq(memcmp(a.layers, c.layers, (size_t)m->n_layers * sizeof *a.layers), 0);
    ck_assert_str_eq(c.skip_names[1], "fc");
    pf_plan_deinit(&c);
    pf_plan_deinit(&b);
    pf_plan_deinit(&a);
    pf_model_free(m);
}
END_TEST

START_TEST(test_ratio_list)
{
    struct pf_model *m = resnet20();
    struct pf_plan a, b;
    ck_assert_int_eq(pf_plan_init(&a, m), 0);
    ck_assert_int_eq(pf_plan_init(&b, m), 0);
    /* shaped like the docs' example for ResNet-20 (theirs has 22 convs, this netdef 21) */
    const char *list = "1.0, 0.1875, 0.1875, 0.1875, 0.1875, 0.1875, 0.1875, 0.1875, 1.0, 0.25,"
                       " 1.0, 0.25, 0.21875, 0.21875, 0.21875, 1.0, 0.5625, 1.0, 0.546875,\n"
                       "0.546875, 0.546875\n";
    int rc = pf_plan_read_ratio_list(&a, m, list, strlen(list), "ratio.list");
    ck_assert_msg(rc == 0, "%s", pf_err_msg());
    ck_assert(a.layers[pf_model_find(m, "s1b1_conv1")].prune_ratio == 1.0 - 0.1875);
    ck_assert(a.layers[pf_model_find(m, "conv1")].prune_ratio == 0.0);
    char *text = NULL;
    ck_assert_int_eq(pf_plan_to_ratio_list(&a, m, &text), 0);
    ck_assert_int_eq(pf_plan_read_ratio_list(&b, m, text, strlen(text), "again.list"), 0);
    ck_assert_int_eq(memcmp(a.layers, b.layers, (size_t)m->n_layers * sizeof *a.layers), 0);
    free(text);
    /* missing entries mean 1.0 (PocketFlow's list mode) */
    pf_plan_reset(&b);
    ck_assert_int_eq(pf_plan_read_ratio_list(&b, m, "1, 0.5", 6, "short.list"), 0);
    ck_assert(b.layers[pf_model_find(m, "s1b1_conv1")].prune_ratio == 0.5);
    ck_assert(b.layers[pf_model_find(m, "s1b1_conv2")].prune_ratio == 0.0);
    /* errors name the file and the entry */
    static const struct {
        const char *text, *want;
    } bad[] = {
        {"1, 0.5, abc", "entry 3 is not a number"},
        {"1, 0, 1", "entry 2: preserve ratio 0 is outside (0, 1]"},
        {"1, 1.5", "entry 2"},
        {"0.5", "conv1: its input channels cannot be pruned"},
        {"1, 0.01", "leaves 0 of its 16 input channels"},
        {"1 1", "expected ','"},
    };
    for (size_t k = 0; k < PF_ARRAY_LEN(bad); k++) {
        rc = pf_plan_read_ratio_list(&b, m, bad[k].text, strlen(bad[k].text), "r.list");
        ck_assert_int_lt(rc, 0);
        ck_assert_msg(strstr(pf_err_msg(), bad[k].want) && strstr(pf_err_msg(), "r.list"),
                      "'%s': '%s' lacks '%s'", bad[k].text, pf_err_msg(), bad[k].want);
    }
    char many[1024] = "";
    for (int k = 0; k < 22; k++)
        strcat(many, "1,");
    ck_assert_int_lt(pf_plan_read_ratio_list(&b, m, many, strlen(many), "r.list"), 0);
    ck_assert_ptr_nonnull(strstr(pf_err_msg(), "more than 21 entries"));
    pf_plan_deinit(&b);
    pf_plan_deinit(&a);
    pf_model_free(m);
}
END_TEST

START_TEST(test_bad_plans)
{
    struct pf_model *m = resnet20();
    read_bad(m, "layers:\n  conv9: {prune_ratio: 0.5}\n", "bad.yaml:2:", "layer 'conv9' is not in");
    read_bad(m, "layers:\n  s1b1_conv2: {prune_ratio: 1.0}\n", "s1b1_conv2",
             "prune_ratio 1 is outside [0, 1)");
    read_bad(m, "layers:\n  s1b1_conv2: {prune_ratio: -0.1}\n", "s1b1_conv2", "outside");
    read_bad(m, "layers:\n  s1b1_conv2: {preserve_ratio: 0}\n", "s1b1_conv2", "outside (0, 1]");
    read_bad(m, "layers:\n  s1b1_conv2: {w_bits: 0}\n", "s1b1_conv2", "w_bits 0 is outside 1..32");
    read_bad(m, "layers:\n  s1b1_conv2: {a_bits: 33}\n", "s1b1_conv2", "a_bits 33");
    read_bad(m, "layers:\n  s1b1_conv2: {sparsity: 1}\n", "s1b1_conv2", "sparsity");
    read_bad(m, "layers:\n  s1b1_conv2: {prune_ratio: 0.99}\n", "s1b1_conv2",
             "leaves 0 of its 16 input channels");
    read_bad(m, "layers:\n  conv1: {prune_ratio: 0.5}\n", "conv1", "network input");
    read_bad(m, "layers:\n  s1b1_bn1: {prune_ratio: 0.5}\n", "s1b1_bn1", "has no weights");
    read_bad(m, "layers:\n  s1b1_conv2: {prune_ratio: 0.5, preserve_ratio: 0.5}\n", "not both",
             NULL);
    read_bad(m, "layers:\n  s1b1_conv2: {prune: 0.5}\n", "unknown key 'prune'", NULL);
    read_bad(m, "layers:\n  s1b1_conv2: {prune_ratio: half}\n", "s1b1_conv2", NULL);
    read_bad(m, "layers:\n  s1b1_conv2: 0.5\n", "must be a map", NULL);
    read_bad(m, "layers: [a, b]\n", "layers must be a map", NULL);
    read_bad(m, "round_to: 0\n", "round_to 0", NULL);
    read_bad(m, "rounding: 4\n", "unknown key 'rounding'", NULL);
    read_bad(m, "skip_first: maybe\n", "skip_first", NULL);
    /* a preset may hold other keys; the plan's own are still checked */
    struct pf_plan p;
    struct pf_cfg *c = NULL;
    const char *preset = "learner: channel\nlayers:\n  s1b1_conv2: {prune_ratio: 0.5}\n";
    ck_assert_int_eq(pf_cfg_parse(preset, strlen(preset), "preset.yaml", &c), 0);
    ck_assert_int_eq(pf_plan_init(&p, m), 0);
    ck_assert_int_eq(pf_plan_read_cfg(&p, m, c, true), 0);
    ck_assert(p.layers[pf_model_find(m, "s1b1_conv2")].prune_ratio == 0.5);
    ck_assert_int_lt(pf_plan_read_cfg(&p, m, c, false), 0);
    pf_cfg_free(c);
    /* programmatic entries */
    p.layers[3].w_bits = 40;
    ck_assert_int_eq(pf_plan_check_layer(&p, m, 3), -PF_EINVAL);
    ck_assert_ptr_nonnull(strstr(pf_err_msg(), m->layers[3].name));
    /* a missing file */
    ck_assert_int_eq(pf_plan_load(&p, m, "/nonexistent/plan.yaml"), -PF_EIO);
    ck_assert_ptr_nonnull(strstr(pf_err_msg(), "/nonexistent/plan.yaml"));
    pf_plan_deinit(&p);
    pf_model_free(m);
}
END_TEST

Suite *model_plan_suite(void);
Suite *model_plan_suite(void)
{
    Suite *s = suite_create("model_plan");
    TCase *tc = tcase_create("plan");
    tcase_add_test(tc, test_yaml_round_trip);
    tcase_add_test(tc, test_ratio_list);
    tcase_add_test(tc, test_bad_plans);
    suite_add_tcase(s, tc);
    return s;
}

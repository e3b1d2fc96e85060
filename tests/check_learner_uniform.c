/* check_learner_uniform.c: the `uniform` learner on a small trained model and the synthetic set:
 * at most 2^bits distinct weight values per bucket (tensor, channel, split), the first and last
 * weight layers kept float unless uql_quantize_all_layers, per-layer bits from a plan,
 * activation quantization, a saved model that is smaller and reloads to identical logits, and
 * clear errors for bad options. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/core/pf_status.h"
#include "engine/io/model_h5.h"
#include "helpers/pf_test_compress.h"
#include "learners/common/quant.h"

static char dir[64];
static void setup(void)
{
    pf_test_tmpdir(dir, sizeof dir);
}
static void teardown(void)
{
    pf_test_tmpdir_remove(dir);
}

static struct pf_param *weight(struct pf_model *m, const char *layer)
{
    int i = pf_model_find(m, layer);
    ck_assert_int_ge(i, 0);
    return pf_layer_param(&m->layers[i], "weight");
}

/* Asserts layer's weight is quantized at bits with at most 2^bits values per bucket. */
static void check_quantized(struct pf_model *m, const char *layer, int bits, enum pf_qbucket bucket)
{
    struct pf_param *p = weight(m, layer);
    ck_assert_msg(p->quant != NULL, "%s is not quantized", layer);
    ck_assert_int_eq(p->quant->bits, bits);
    ck_assert_int_eq(p->quant->bucket, bucket);
    size_t d = pf_quant_max_distinct(p->quant, pf_tensor_f32(&p->w));
    ck_assert_msg(d <= ((size_t)1 << bits), "%s: %zu distinct values in a bucket at %d bits", layer,
                  d, bits);
}

START_TEST(test_per_tensor_4bit)
{
    const char *model = pf_test_trained(dir, "lenet", pf_test_lenet_yaml, 2);
    struct pf_run *r = pf_test_run("uniform", model);
    ck_assert_int_eq(pf_opts_set(&r->opts, "uql_quant_epochs", "1", "t"), 0);
    ck_assert_msg(pf_run_exec(r) == 0, "%s", pf_err_msg());
    check_quantized(r->model, "conv2", 4, PF_QBUCKET_TENSOR);
    check_quantized(r->model, "fc3", 4, PF_QBUCKET_TENSOR);
    check_quantized(r->model, "fc4", 4, PF_QBUCKET_TENSOR);
    ck_assert_ptr_null(weight(r->model, "conv1")->quant); /* first and last stay float */
    ck_assert_ptr_null(weight(r->model, "fc5")->quant);
    ck_assert_msg(r->final_accuracy > 0.6, "accuracy %.3f", r->final_accuracy);
    long q = pf_test_save_load_same(r->model, dir, "q.h5");
    struct pf_model *base = NULL;
    ck_assert_int_eq(pf_model_load(model, &base, NULL, 0), 0);
    long f = pf_test_save_load_same(base, dir, "f.h5");
    ck_assert_msg(q * 3 < f, "4-bit file %ld bytes vs float %ld", q, f);
    pf_model_free(base);
    pf_run_free(r);
}
END_TEST

START_TEST(test_channel_all_layers_acts)
{
    const char *model = pf_test_trained(dir, "lenet", pf_test_lenet_yaml, 2);
    struct pf_run *r = pf_test_run("uniform", model);
    ck_assert_int_eq(pf_opts_set(&r->opts, "uql_quant_epochs", "1", "t"), 0);
    ck_assert_int_eq(pf_opts_set(&r->opts, "uql_weight_bits", "2", "t"), 0);
    ck_assert_int_eq(pf_opts_set(&r->opts, "uql_use_buckets", "True", "t"), 0);
    ck_assert_int_eq(pf_opts_set(&r->opts, "uql_quantize_all_layers", "True", "t"), 0);
    ck_assert_int_eq(pf_opts_set(&r->opts, "uql_activation_bits", "8", "t"), 0);
    ck_assert_msg(pf_run_exec(r) == 0, "%s", pf_err_msg());
    const char *all[] = {"conv1", "conv2", "fc3", "fc4", "fc5"};
    for (int k = 0; k < 5; k++)
        check_quantized(r->model, all[k], 2, PF_QBUCKET_CHANNEL);
    /* ReLU outputs are quantized with frozen ranges; the logits are not */
    ck_assert_ptr_nonnull(r->model->actq);
    ck_assert_int_eq(r->model->actq[pf_model_find(r->model, "conv1")].bits, 8);
    ck_assert(r->model->actq[pf_model_find(r->model, "conv1")].frozen);
    ck_assert_int_eq(r->model->actq[pf_model_find(r->model, "fc5")].bits, 0);
    pf_test_save_load_same(r->model, dir, "q.h5");
    pf_run_free(r);
}
END_TEST

START_TEST(test_split_buckets)
{
    const char *model = pf_test_trained(dir, "lenet", pf_test_lenet_yaml, 1);
    struct pf_run *r = pf_test_run("uniform", model);
    ck_assert_int_eq(pf_opts_set(&r->opts, "uql_quant_epochs", "0.5", "t"), 0);
    ck_assert_int_eq(pf_opts_set(&r->opts, "uql_weight_bits", "3", "t"), 0);
    ck_assert_int_eq(pf_opts_set(&r->opts, "uql_use_buckets", "True", "t"), 0);
    ck_assert_int_eq(pf_opts_set(&r->opts, "uql_bucket_type", "split", "t"), 0);
    ck_assert_int_eq(pf_opts_set(&r->opts, "uql_bucket_size", "64", "t"), 0);
    ck_assert_msg(pf_run_exec(r) == 0, "%s", pf_err_msg());
    check_quantized(r->model, "fc3", 3, PF_QBUCKET_SPLIT);
    struct pf_param *p = weight(r->model, "fc3");
    ck_assert_int_eq(p->quant->n_buckets, (int)((pf_tensor_numel(&p->w) + 63) / 64));
    pf_test_save_load_same(r->model, dir, "q.h5");
    pf_run_free(r);
}
END_TEST

START_TEST(test_plan_bits)
{
    char path[128];
    snprintf(path, sizeof path, "%s/plan.yaml", dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("layers:\n  conv2: {w_bits: 2}\n  fc3: {w_bits: 6, a_bits: 4}\n", f);
    fclose(f);
    struct pf_run *r = pf_test_run("uniform", "assets/nets/lenet5_fmnist.yaml");
    ck_assert_int_eq(pf_opts_set(&r->opts, "uql_quant_epochs", "0", "t"), 0);
    ck_assert_int_eq(pf_opts_set(&r->opts, "plan", path, "t"), 0);
    ck_assert_msg(pf_run_exec(r) == 0, "%s", pf_err_msg());
    check_quantized(r->model, "conv2", 2, PF_QBUCKET_TENSOR);
    check_quantized(r->model, "fc3", 6, PF_QBUCKET_TENSOR);
    ck_assert_ptr_null(weight(r->model, "fc4")->quant);
    ck_assert_int_eq(r->model->actq[pf_model_find(r->model, "fc3")].bits, 4);
    ck_assert_int_eq(r->model->actq[pf_model_find(r->model, "fc4")].bits, 0);
    pf_run_free(r);
}
END_TEST

START_TEST(test_bad_options)
{
    struct pf_run *r = pf_test_run("uniform", "assets/nets/lenet5_fmnist.yaml");
    ck_assert_int_eq(pf_opts_set(&r->opts, "uql_weight_bits", "0", "--uql_weight_bits"),
                     -PF_EINVAL);
    ck_assert_ptr_nonnull(strstr(pf_err_msg(), "uql_weight_bits = 0 is outside 1..32"));
    ck_assert_int_eq(pf_opts_set(&r->opts, "uql_weight_bits", "33", "t"), -PF_EINVAL);
    ck_assert_int_eq(pf_opts_set(&r->opts, "uql_activation_bits", "64", "t"), -PF_EINVAL);
    ck_assert_int_eq(pf_opts_set(&r->opts, "uql_bucket_type", "rows", "--uql_bucket_type"),
                     -PF_EINVAL);
    ck_assert_ptr_nonnull(strstr(pf_err_msg(), "channel|split"));
    ck_assert_int_eq(pf_opts_set(&r->opts, "uql_bucket_size", "0", "t"), -PF_EINVAL);
    pf_run_free(r);
}
END_TEST

Suite *learner_uniform_suite(void);
Suite *learner_uniform_suite(void)
{
    Suite *s = suite_create("learner_uniform");
    TCase *tc = tcase_create("uq");
    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_per_tensor_4bit);
    tcase_add_test(tc, test_channel_all_layers_acts);
    tcase_add_test(tc, test_split_buckets);
    tcase_add_test(tc, test_plan_bits);
    tcase_add_test(tc, test_bad_options);
    suite_add_tcase(s, tc);
    return s;
}

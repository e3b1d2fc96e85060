/* check_learner_non_uniform.c: the `non-uniform` learner on a small trained model and the
 * synthetic set: at most 2^bits distinct values per tensor / bucket, codebooks from quantiles
 * or k-means, `cluster` mode keeps every weight's assignment and moves only the centroids (by
 * the sum of their members' gradients), the codebook model is smaller on disk and reloads to
 * identical logits, and too many bits for a codebook fail clearly. */
#include <check.h>
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
    return pf_layer_param(&m->layers[pf_model_find(m, layer)], "weight");
}

START_TEST(test_quantile_3bit)
{
    const char *model = pf_test_trained(dir, "lenet", pf_test_lenet_yaml, 2);
    struct pf_run *r = pf_test_run("non-uniform", model);
    ck_assert_int_eq(pf_opts_set(&r->opts, "nuql_quant_epochs", "1", "t"), 0);
    ck_assert_int_eq(pf_opts_set(&r->opts, "nuql_weight_bits", "3", "t"), 0);
    ck_assert_msg(pf_run_exec(r) == 0, "%s", pf_err_msg());
    const char *names[] = {"conv2", "fc3", "fc4"};
    for (int k = 0; k < 3; k++) {
        struct pf_param *p = weight(r->model, names[k]);
        ck_assert_ptr_nonnull(p->quant);
        ck_assert_int_eq(p->quant->mode, PF_QMODE_CODEBOOK);
        ck_assert_uint_le(pf_quant_max_distinct(p->quant, pf_tensor_f32(&p->w)), 8);
    }
    ck_assert_ptr_null(weight(r->model, "conv1")->quant);
    ck_assert_msg(r->final_accuracy > 0.6, "accuracy %.3f", r->final_accuracy);
    long q = pf_test_save_load_same(r->model, dir, "q.h5");
    struct pf_model *base = NULL;
    ck_assert_int_eq(pf_model_load(model, &base, NULL, 0), 0);
    long f = pf_test_save_load_same(base, dir, "f.h5");
    ck_assert_msg(q * 3 < f, "3-bit file %ld bytes vs float %ld", q, f);
    pf_model_free(base);
    pf_run_free(r);
}
END_TEST

START_TEST(test_cluster_mode_keeps_assignment)
{
    const char *model = pf_test_trained(dir, "lenet", pf_test_lenet_yaml, 1);
    struct pf_model *m0 = NULL;
    ck_assert_int_eq(pf_model_load(model, &m0, NULL, 0), 0);
    struct pf_param *p0 = weight(m0, "fc3");
    size_t n = pf_tensor_numel(&p0->w);
    /* the assignment the learner starts from, computed here independently of the run */
    struct pf_qtensor *q0 = NULL;
    ck_assert_int_eq(
        pf_qtensor_new(&q0, PF_QMODE_CODEBOOK, PF_QBUCKET_CHANNEL, 2, 0, n, p0->w.shape[0]), 0);
    ck_assert_int_eq(pf_quant_codebook_init(q0, pf_tensor_f32(&p0->w), PF_CB_KMEANS), 0);
    struct pf_run *r = pf_test_run("non-uniform", model);
    ck_assert_int_eq(pf_opts_set(&r->opts, "nuql_quant_epochs", "1", "t"), 0);
    ck_assert_int_eq(pf_opts_set(&r->opts, "nuql_weight_bits", "2", "t"), 0);
    ck_assert_int_eq(pf_opts_set(&r->opts, "nuql_opt_mode", "cluster", "t"), 0);
    ck_assert_int_eq(pf_opts_set(&r->opts, "nuql_init_style", "kmeans", "t"), 0);
    ck_assert_int_eq(pf_opts_set(&r->opts, "nuql_use_buckets", "True", "t"), 0);
    ck_assert_int_eq(pf_opts_set(&r->opts, "nuql_bucket_type", "channel", "t"), 0);
    ck_assert_msg(pf_run_exec(r) == 0, "%s", pf_err_msg());
    struct pf_param *p = weight(r->model, "fc3");
    ck_assert_ptr_nonnull(p->quant);
    int moved = 0;
    for (size_t i = 0; i < n; i++)
        ck_assert_uint_eq(pf_qtensor_get(p->quant, i), pf_qtensor_get(q0, i));
    for (size_t k = 0; k < ((size_t)q0->n_buckets << 2); k++)
        moved += p->quant->codebook[k] != q0->codebook[k];
    ck_assert_int_gt(moved, 0); /* the centroids learned */
    ck_assert_uint_le(pf_quant_max_distinct(p->quant, pf_tensor_f32(&p->w)), 4);
    pf_test_save_load_same(r->model, dir, "q.h5");
    pf_qtensor_free(q0);
    pf_model_free(m0);
    pf_run_free(r);
}
END_TEST

START_TEST(test_bad_options)
{
    struct pf_run *r = pf_test_run("non-uniform", "assets/nets/lenet5_fmnist.yaml");
    ck_assert_int_eq(pf_opts_set(&r->opts, "nuql_weight_bits", "17", "t"), 0);
    ck_assert_int_eq(pf_run_exec(r), -PF_EINVAL);
    ck_assert_ptr_nonnull(strstr(pf_err_msg(), "too many for a codebook"));
    ck_assert_int_eq(pf_opts_set(&r->opts, "nuql_opt_mode", "clusters", "t"), -PF_EINVAL);
    ck_assert_int_eq(pf_opts_set(&r->opts, "nuql_init_style", "random", "t"), -PF_EINVAL);
    ck_assert_int_eq(pf_opts_set(&r->opts, "nuql_weight_bits", "0", "t"), -PF_EINVAL);
    pf_run_free(r);
}
END_TEST

Suite *learner_non_uniform_suite(void);
Suite *learner_non_uniform_suite(void)
{
    Suite *s = suite_create("learner_non_uniform");
    TCase *tc = tcase_create("nuq");
    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_quantile_3bit);
    tcase_add_test(tc, test_cluster_mode_keeps_assignment);
    tcase_add_test(tc, test_bad_options);
    suite_add_tcase(s, tc);
    return s;
}

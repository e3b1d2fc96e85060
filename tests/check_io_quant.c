/* check_io_quant.c: /quant in model files: every quantization mode and bucket layout and the
 * activation entries round-trip (same decoded values, same logits), quantized params are stored
 * instead of their float32 values (the file shrinks), a param trained after quantization is
 * written as float, and a corrupt /quant entry is a clear error. Tests never include <hdf5.h>:
 * the corrupt file is a byte-patched copy (HDF5 stores attribute text verbatim). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "engine/core/pf_status.h"
#include "engine/io/model_h5.h"
#include "helpers/pf_test.h"
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

static struct pf_model *lenet(void)
{
    struct pf_model *m = NULL;
    ck_assert_int_eq(pf_model_from_yaml(pf_test_lenet_yaml, strlen(pf_test_lenet_yaml), "t", &m),
                     0);
    pf_model_init_params(m, 5);
    return m;
}

/* Quantizes layer's param `name` in place with the given mode / layout. */
static void quantize(struct pf_model *m, const char *layer, const char *name, enum pf_qmode mode,
                     enum pf_qbucket bucket, int bits, int bsize)
{
    struct pf_param *p = pf_layer_param(&m->layers[pf_model_find(m, layer)], name);
    float *w = pf_tensor_f32(&p->w);
    size_t n = pf_tensor_numel(&p->w);
    struct pf_qtensor *q = NULL;
    ck_assert_int_eq(pf_qtensor_new(&q, mode, bucket, bits, bsize, n, p->w.shape[0]), 0);
    if (mode == PF_QMODE_UNIFORM)
        pf_quant_uniform(q, w, NULL, true);
    else if (mode == PF_QMODE_AFFINE)
        pf_quant_symmetric(q, w, NULL, true);
    else
        ck_assert_int_eq(pf_quant_codebook_init(q, w, PF_CB_QUANTILE), 0);
    pf_qtensor_dequantize(q, w);
    p->quant = q;
}

START_TEST(test_roundtrip_all_modes)
{
    struct pf_model *m = lenet();
    long f = pf_test_save_load_same(m, dir, "float.h5");
    quantize(m, "conv1", "weight", PF_QMODE_AFFINE, PF_QBUCKET_CHANNEL, 8, 0);
    quantize(m, "conv2", "weight", PF_QMODE_UNIFORM, PF_QBUCKET_TENSOR, 4, 0);
    quantize(m, "fc3", "weight", PF_QMODE_CODEBOOK, PF_QBUCKET_SPLIT, 3, 256);
    quantize(m, "fc4", "weight", PF_QMODE_UNIFORM, PF_QBUCKET_SPLIT, 2, 100);
    quantize(m, "fc5", "weight", PF_QMODE_CODEBOOK, PF_QBUCKET_CHANNEL, 1, 0);
    ck_assert_int_eq(pf_model_actq_enable(m), 0);
    int c1 = pf_model_find(m, "conv1"), p1 = pf_model_find(m, "pool1");
    m->actq[c1].bits = 8;
    m->actq[c1].lo = 0.0f;
    m->actq[c1].hi = 2.5f;
    m->actq[c1].ready = m->actq[c1].frozen = true;
    m->actq[p1].bits = 8;
    m->actq[p1].tie = c1;
    m->actq[m->n_layers].bits = 8;
    m->actq[m->n_layers].lo = -1.0f;
    m->actq[m->n_layers].hi = 4.0f;
    m->actq[m->n_layers].ready = m->actq[m->n_layers].frozen = true;
    long q = pf_test_save_load_same(m, dir, "q.h5");
    /* small tensors: HDF5's per-object overhead (~1 KB each) dominates; still 3x smaller */
    ck_assert_msg(q * 3 < f, "quantized file %ld bytes vs float %ld", q, f);
    char path[128];
    snprintf(path, sizeof path, "%s/q.h5", dir);
    struct pf_model *b = NULL;
    ck_assert_int_eq(pf_model_load(path, &b, NULL, 0), 0);
    for (int i = 0; i < m->n_layers; i++)
        for (int j = 0; j < m->layers[i].n_params; j++) {
            const struct pf_qtensor *qa = m->layers[i].params[j].quant;
            const struct pf_qtensor *qb = b->layers[i].params[j].quant;
            ck_assert_int_eq(qa == NULL, qb == NULL);
            if (!qa)
                continue;
            ck_assert_int_eq(qa->mode, qb->mode);
            ck_assert_int_eq(qa->bucket, qb->bucket);
            ck_assert_int_eq(qa->bits, qb->bits);
            ck_assert_int_eq(qa->n_buckets, qb->n_buckets);
            ck_assert_mem_eq(qa->packed, qb->packed, pf_qtensor_packed_bytes(qa));
        }
    ck_assert_ptr_nonnull(b->actq);
    ck_assert_int_eq(b->actq[p1].tie, c1);
    ck_assert_float_eq(b->actq[m->n_layers].lo, -1.0f);
    ck_assert(b->actq[c1].frozen);
    pf_model_free(b);
    pf_model_free(m);
}
END_TEST

START_TEST(test_trained_after_quant_is_float)
{
    struct pf_model *m = lenet();
    quantize(m, "fc3", "weight", PF_QMODE_UNIFORM, PF_QBUCKET_TENSOR, 4, 0);
    struct pf_param *p = pf_layer_param(&m->layers[pf_model_find(m, "fc3")], "weight");
    pf_tensor_f32(&p->w)[7] += 0.001f; /* a training step happened since */
    pf_test_save_load_same(m, dir, "t.h5");
    char path[128];
    snprintf(path, sizeof path, "%s/t.h5", dir);
    struct pf_model *b = NULL;
    ck_assert_int_eq(pf_model_load(path, &b, NULL, 0), 0);
    ck_assert_ptr_null(pf_layer_param(&b->layers[pf_model_find(b, "fc3")], "weight")->quant);
    pf_model_free(b);
    pf_model_free(m);
}
END_TEST

/* Replaces the first occurrence of `from` by `to` (same length) in the file at path. */
static void patch(const char *path, const char *from, const char *to)
{
    FILE *f = fopen(path, "r+b");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    char *buf = malloc((size_t)n);
    fseek(f, 0, SEEK_SET);
    ck_assert_int_eq(fread(buf, 1, (size_t)n, f), n);
    size_t k = strlen(from);
    long at = -1;
    for (long i = 0; i + (long)k <= n && at < 0; i++)
        if (!memcmp(buf + i, from, k))
            at = i;
    ck_assert_int_ge(at, 0);
    fseek(f, at, SEEK_SET);
    fwrite(to, 1, k, f);
    fclose(f);
    free(buf);
}

START_TEST(test_corrupt_quant)
{
    struct pf_model *m = lenet();
    quantize(m, "fc4", "weight", PF_QMODE_CODEBOOK, PF_QBUCKET_TENSOR, 2, 0);
    char path[128];
    snprintf(path, sizeof path, "%s/c.h5", dir);
    ck_assert_int_eq(pf_model_save(m, path, "synthetic", NULL), 0);
    patch(path, "codebook", "codebock");
    struct pf_model *b = NULL;
    ck_assert_int_eq(pf_model_load(path, &b, NULL, 0), -PF_EPARSE);
    ck_assert_ptr_nonnull(strstr(pf_err_msg(), "quant/fc4/weight"));
    ck_assert_ptr_null(b);
    pf_model_free(m);
}
END_TEST

Suite *io_quant_suite(void);
Suite *io_quant_suite(void)
{
    Suite *s = suite_create("io_quant");
    TCase *tc = tcase_create("quant");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_roundtrip_all_modes);
    tcase_add_test(tc, test_trained_after_quant_is_float);
    tcase_add_test(tc, test_corrupt_quant);
    suite_add_tcase(s, tc);
    return s;
}

/* check_io_model.c: HDF5 model files: save/load round trip, the PyTorch-trained shared fixture,
 * files written by h5py in the other ways h5py allows, and malformed files.
 *
 * Tests never include <hdf5.h>. Malformed models come from two places: tests/fixtures/io_*.h5,
 * written by an independent writer (h5py, tests/fixtures/io_gen_h5.py, committed), and files
 * this test derives from a saved model with plain byte edits (a truncated copy, a netdef with a
 * misspelt key, patched in place: HDF5 stores the attribute's text verbatim). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/core/pf_status.h"
#include "engine/io/dataset.h"
#include "engine/io/model_h5.h"
#include "engine/model/graph.h"
#include "helpers/pf_test.h"

#define SHARED_MODEL "../shared/fixtures/convnet_fmnist_torch.h5"
/* ../shared/fixtures/README.md: PyTorch classifies 8797 of the 10000 test images correctly; a
 * different summation order may flip a near-tie or two */
#define TORCH_CORRECT       8797
#define TORCH_CORRECT_SLACK 3
#define TOL_LOGIT           1e-3f

static const char tiny_yaml[] =
    "name: tiny\n"
    "input: [1, 6, 6]\n"
    "classes: 3\n"
    "layers:\n"
    "  - {name: conv1, type: conv2d, filters: 2, kernel: 3, pad: same}\n"
    "  - {name: bn1, type: batchnorm, act: relu}\n"
    "  - {name: pool1, type: maxpool, kernel: 2}\n"
    "  - {name: flat, type: flatten}\n"
    "  - {name: fc, type: dense, units: 3}\n";

static char tmpdir[64];

static void tmp_setup(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/pf_io_h5_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void tmp_teardown(void)
{
    static const char *const names[] = {"m.h5",     "m.h5.tmp",  "text.h5",  "empty.h5",
                                        "trunc.h5", "netdef.h5", "second.h5"};
    char p[256];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", tmpdir, names[i]);
        unlink(p);
    }
    rmdir(tmpdir);
}

static const char *tmp_path(const char *name)
{
    static char p[4][256];
    static int k;
    k = (k + 1) % 4;
    snprintf(p[k], sizeof p[k], "%s/%s", tmpdir, name);
    return p[k];
}

static const char *fixture(const char *name)
{
    static char p[512];
    snprintf(p, sizeof p, "%s/fixtures/%s", pf_test_dir(), name);
    return p;
}

static unsigned char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    ck_assert_int_gt(len, 0);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)len);
    ck_assert_ptr_nonnull(b);
    ck_assert_uint_eq(fread(b, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    *n = (size_t)len;
    return b;
}

static void spit(const char *path, const void *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(b, 1, n, f), n);
    ck_assert_int_eq(fclose(f), 0);
}

static struct pf_model *tiny_model(unsigned long long seed)
{
    struct pf_model *m = NULL;
    ck_assert_msg(pf_model_from_yaml(tiny_yaml, strlen(tiny_yaml), "tiny", &m) == 0, "%s",
                  pf_err_msg());
    pf_model_init_params(m, seed);
    /* running stats and BN affine params away from their defaults, so the round trip shows */
    struct pf_layer *bn = &m->layers[pf_model_find(m, "bn1")];
    for (int j = 0; j < bn->n_params; j++)
        for (int c = 0; c < 2; c++)
            pf_tensor_f32(&bn->params[j].w)[c] = 0.25f * (float)(j + 1) + 0.125f * (float)c;
    return m;
}

/* Loads path, expects failure with code and both needles in the message, and no model. */
static void expect_load_fail(const char *path, int code, const char *n1, const char *n2)
{
    struct pf_model *m = (struct pf_model *)1;
    char ds[16] = "unchanged";
    pf_err_clear();
    int rc = pf_model_load(path, &m, ds, sizeof ds);
    ck_assert_msg(rc == -code, "%s: rc %d, expected %d (%s)", path, rc, -code, pf_err_msg());
    ck_assert_ptr_null(m);
    ck_assert_str_eq(ds, "unchanged");
    ck_assert_msg(strstr(pf_err_msg(), path), "path '%s' not in '%s'", path, pf_err_msg());
    ck_assert_msg(strstr(pf_err_msg(), n1), "'%s' not in '%s'", n1, pf_err_msg());
    if (n2)
        ck_assert_msg(strstr(pf_err_msg(), n2), "'%s' not in '%s'", n2, pf_err_msg());
}

/* Every param (and mask) of a and b is bit-identical. */
static void assert_same_params(const struct pf_model *a, const struct pf_model *b)
{
    ck_assert_int_eq(a->n_layers, b->n_layers);
    for (int i = 0; i < a->n_layers; i++) {
        const struct pf_layer *la = &a->layers[i], *lb = &b->layers[i];
        ck_assert_str_eq(la->name, lb->name);
        ck_assert_int_eq(la->n_params, lb->n_params);
        for (int j = 0; j < la->n_params; j++) {
            const struct pf_param *pa = &la->params[j], *pb = &lb->params[j];
            size_t n = pf_tensor_numel(&pa->w);
            ck_assert_str_eq(pa->name, pb->name);
            ck_assert_uint_eq(n, pf_tensor_numel(&pb->w));
            ck_assert_msg(memcmp(pa->w.data, pb->w.data, n * sizeof(float)) == 0, "%s/%s", la->name,
                          pa->name);
            ck_assert_int_eq(pa->mask != NULL, pb->mask != NULL);
            if (pa->mask)
                ck_assert_int_eq(memcmp(pa->mask, pb->mask, n), 0);
        }
    }
}

/* ---- round trip ---- */

START_TEST(test_round_trip)
{
    struct pf_model *m = tiny_model(7), *back = NULL;
    struct pf_layer *fc = &m->layers[pf_model_find(m, "fc")];
    struct pf_param *w = pf_layer_param(fc, "weight");
    size_t n = pf_tensor_numel(&w->w);
    w->mask = malloc(n);
    ck_assert_ptr_nonnull(w->mask);
    for (size_t k = 0; k < n; k++)
        w->mask[k] = (uint8_t)(k % 4 != 0);
    struct pf_meta meta;
    pf_meta_init(&meta);
    ck_assert_int_eq(pf_meta_set(&meta, "learner", "weight-sparse"), 0);
    ck_assert_int_eq(pf_meta_set(&meta, "seed", "7"), 0);
    ck_assert_int_eq(pf_meta_set(&meta, "plan", "fc: {sparsity: 0.25}\n"), 0);

    const char *path = tmp_path("m.h5");
    ck_assert_msg(pf_model_save(m, path, "fmnist", &meta) == 0, "%s", pf_err_msg());
    ck_assert_int_eq(access(tmp_path("m.h5.tmp"), F_OK), -1); /* renamed, not left behind */
    char ds[32] = "";
    ck_assert_msg(pf_model_load(path, &back, ds, sizeof ds) == 0, "%s", pf_err_msg());
    ck_assert_str_eq(ds, "fmnist");
    ck_assert_int_eq(back->classes, 3);
    assert_same_params(m, back);
    char *y1 = NULL, *y2 = NULL;
    ck_assert_int_eq(pf_model_to_yaml(m, &y1), 0);
    ck_assert_int_eq(pf_model_to_yaml(back, &y2), 0);
    ck_assert_str_eq(y1, y2);
    free(y1);
    free(y2);

    struct pf_meta got;
    pf_meta_init(&got);
    ck_assert_msg(pf_model_read_meta(path, &got) == 0, "%s", pf_err_msg());
    ck_assert_uint_eq(got.n, 3);
    ck_assert_str_eq(pf_meta_get(&got, "learner"), "weight-sparse");
    ck_assert_str_eq(pf_meta_get(&got, "seed"), "7");
    ck_assert_str_eq(pf_meta_get(&got, "plan"), "fc: {sparsity: 0.25}\n");
    pf_meta_deinit(&got);

    /* saving again over an existing file replaces it; a short dataset buffer truncates */
    pf_model_free(back);
    pf_model_init_params(m, 8);
    ck_assert_int_eq(pf_model_save(m, path, NULL, NULL), 0);
    char small[4];
    ck_assert_int_eq(pf_model_load(path, &back, small, sizeof small), 0);
    ck_assert_str_eq(small, "");
    assert_same_params(m, back);
    pf_model_free(back);
    ck_assert_int_eq(pf_model_save(m, path, "fmnist-long-name", NULL), 0);
    ck_assert_int_eq(pf_model_load(path, &back, small, sizeof small), 0);
    ck_assert_str_eq(small, "fmn");
    pf_model_free(back);

    pf_meta_deinit(&meta);
    pf_model_free(m);
}
END_TEST

START_TEST(test_save_errors)
{
    struct pf_model *m = tiny_model(1);
    /* a directory that does not exist: an error naming the file, nothing left behind */
    pf_err_clear();
    int rc = pf_model_save(m, "/nonexistent-dir/m.h5", "x", NULL);
    ck_assert_int_eq(rc, -PF_EIO);
    ck_assert_ptr_nonnull(strstr(pf_err_msg(), "/nonexistent-dir/m.h5.tmp"));
    /* a destination that is a directory: the temporary file is written, the rename fails, and
     * the temporary file is removed */
    ck_assert_int_eq(mkdir(tmp_path("second.h5"), 0700), 0);
    rc = pf_model_save(m, tmp_path("second.h5"), "x", NULL);
    ck_assert_int_eq(rc, -PF_EIO);
    ck_assert_ptr_nonnull(strstr(pf_err_msg(), "cannot rename"));
    ck_assert_int_eq(access(tmp_path("second.h5.tmp"), F_OK), -1);
    rmdir(tmp_path("second.h5"));
    pf_model_free(m);
}
END_TEST

START_TEST(test_meta_list)
{
    struct pf_meta m;
    pf_meta_init(&m);
    ck_assert_ptr_null(pf_meta_get(&m, "a"));
    for (int i = 0; i < 20; i++) {
        char k[16], v[16];
        snprintf(k, sizeof k, "k%d", i);
        snprintf(v, sizeof v, "v%d", i);
        ck_assert_int_eq(pf_meta_set(&m, k, v), 0);
    }
    ck_assert_int_eq(pf_meta_set(&m, "k3", "new"), 0);
    ck_assert_uint_eq(m.n, 20);
    ck_assert_str_eq(pf_meta_get(&m, "k3"), "new");
    ck_assert_str_eq(m.items[19].key, "k19");
    ck_assert_int_eq(pf_meta_set(&m, "", "x"), -PF_EINVAL);
    pf_meta_deinit(&m);
    ck_assert_uint_eq(m.n, 0);
}
END_TEST

/* ---- files from other writers ---- */

START_TEST(test_shared_torch_fixture)
{
    static const struct {
        const char *layer, *param;
        int ndim, shape[4];
    } want[] = {
        {"conv1", "weight", 4, {32, 1, 5, 5}},  {"conv1", "bias", 1, {32}},
        {"conv2", "weight", 4, {64, 32, 5, 5}}, {"conv2", "bias", 1, {64}},
        {"fc3", "weight", 2, {1024, 3136}},     {"fc3", "bias", 1, {1024}},
        {"fc4", "weight", 2, {10, 1024}},       {"fc4", "bias", 1, {10}},
    };
    struct pf_model *m = NULL;
    char ds[32];
    ck_assert_msg(pf_model_load(SHARED_MODEL, &m, ds, sizeof ds) == 0, "%s", pf_err_msg());
    ck_assert_str_eq(ds, "fmnist");
    ck_assert_str_eq(m->name, "convnet-fmnist");
    ck_assert_int_eq(m->classes, 10);
    ck_assert_int_eq(m->n_layers, 7);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        int li = pf_model_find(m, want[i].layer);
        ck_assert_int_ge(li, 0);
        struct pf_param *p = pf_layer_param(&m->layers[li], want[i].param);
        ck_assert_ptr_nonnull(p);
        ck_assert_int_eq(p->w.ndim, want[i].ndim);
        for (int k = 0; k < want[i].ndim; k++)
            ck_assert_int_eq(p->w.shape[k], want[i].shape[k]);
        /* trained values: finite, not all zero */
        const float *v = pf_tensor_f32(&p->w);
        size_t n = pf_tensor_numel(&p->w), nonzero = 0;
        for (size_t k = 0; k < n; k++) {
            ck_assert(v[k] == v[k] && v[k] > -1e3f && v[k] < 1e3f);
            nonzero += v[k] != 0.0f;
        }
        ck_assert_uint_gt(nonzero, n / 2);
        ck_assert_ptr_null(p->mask);
    }
    pf_model_free(m);
}
END_TEST

/* The loaded fixture and the dataset's preprocessing reproduce PyTorch's evaluation. */
START_TEST(test_shared_torch_accuracy)
{
    /* convnet_fmnist_torch.reference.h5, logits_first100[0][0, 1, 9] */
    static const float logits0[] = {-1.1463792f, -2.4033096f, 9.696047f};
    enum { B = 100 };
    struct pf_model *m = NULL;
    struct pf_dataset *d = NULL;
    ck_assert_msg(pf_model_load(SHARED_MODEL, &m, NULL, 0) == 0, "%s", pf_err_msg());
    unsetenv("PF_FMNIST_DIR");
    ck_assert_msg(pf_dataset_load("fmnist", PF_SPLIT_TEST, &d) == 0, "%s", pf_err_msg());
    ck_assert_int_eq(pf_model_set_batch(m, B), 0);
    float *x = malloc(sizeof *x * B * 784);
    ck_assert_ptr_nonnull(x);
    int y[B], correct = 0;
    uint32_t idx[B];
    for (int s = 0; s < d->n; s += B) {
        for (int i = 0; i < B; i++)
            idx[i] = (uint32_t)(s + i);
        ck_assert_int_eq(pf_dataset_batch(d, idx, B, x, y, false, NULL), 0);
        ck_assert_msg(pf_model_forward(m, x, B, false) == 0, "%s", pf_err_msg());
        const float *lg = pf_model_logits(m);
        if (s == 0) {
            ck_assert_float_eq_tol(lg[0], logits0[0], TOL_LOGIT);
            ck_assert_float_eq_tol(lg[1], logits0[1], TOL_LOGIT);
            ck_assert_float_eq_tol(lg[9], logits0[2], TOL_LOGIT);
        }
        for (int i = 0; i < B; i++) {
            int best = 0;
            for (int k = 1; k < 10; k++)
                if (lg[i * 10 + k] > lg[i * 10 + best])
                    best = k;
            correct += best == y[i];
        }
    }
    ck_assert_msg(abs(correct - TORCH_CORRECT) <= TORCH_CORRECT_SLACK, "%d correct", correct);
    free(x);
    pf_dataset_free(d);
    pf_model_free(m);
}
END_TEST

START_TEST(test_h5py_variants)
{
    /* fixed-length strings, int32 attributes, a float64 param, a mask, /meta of mixed types */
    struct pf_model *m = NULL;
    char ds[32];
    const char *path = fixture("io_h5py_ok.h5");
    ck_assert_msg(pf_model_load(path, &m, ds, sizeof ds) == 0, "%s", pf_err_msg());
    ck_assert_str_eq(ds, "synthetic");
    ck_assert_str_eq(m->name, "tiny");
    /* io_gen_h5.py: element k of the i-th tensor is 0.01 * (k + offset) - 0.1, where offset
     * counts the elements of the tensors before it (conv1 18 + 2, bn1 4 x 2, fc weight 54) */
    static const struct {
        const char *layer, *param;
        int offset;
    } order[] = {
        {"conv1", "weight", 0}, {"conv1", "bias", 18},       {"bn1", "gamma", 20},
        {"bn1", "beta", 22},    {"bn1", "running_mean", 24}, {"bn1", "running_var", 26},
        {"fc", "weight", 28},   {"fc", "bias", 82},
    };
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        struct pf_param *p =
            pf_layer_param(&m->layers[pf_model_find(m, order[i].layer)], order[i].param);
        ck_assert_ptr_nonnull(p);
        const float *v = pf_tensor_f32(&p->w);
        for (size_t k = 0; k < pf_tensor_numel(&p->w); k++) {
            /* numpy computes in float64 and rounds once to float32 (the float64 param too) */
            float ref = (float)(0.01 * (double)(k + (size_t)order[i].offset) - 0.1);
            ck_assert_msg(v[k] == ref, "%s/%s[%zu] = %.9g, want %.9g", order[i].layer,
                          order[i].param, k, v[k], ref);
        }
    }
    struct pf_param *w = pf_layer_param(&m->layers[pf_model_find(m, "conv1")], "weight");
    ck_assert_ptr_nonnull(w->mask);
    for (int k = 0; k < 18; k++)
        ck_assert_int_eq(w->mask[k], k % 3 != 0);
    pf_model_free(m);

    struct pf_meta meta;
    pf_meta_init(&meta);
    ck_assert_msg(pf_model_read_meta(path, &meta) == 0, "%s", pf_err_msg());
    ck_assert_str_eq(pf_meta_get(&meta, "learner"), "weight-sparse");
    ck_assert_str_eq(pf_meta_get(&meta, "seed"), "42");
    pf_meta_deinit(&meta);

    /* the shared fixture's attributes are vlen strings and int64: its /meta is absent */
    pf_meta_init(&meta);
    ck_assert_int_eq(pf_model_read_meta(SHARED_MODEL, &meta), 0);
    ck_assert_uint_eq(meta.n, 0);
    pf_meta_deinit(&meta);
}
END_TEST

/* ---- malformed files ---- */

START_TEST(test_bad_files)
{
    expect_load_fail(tmp_path("absent.h5"), PF_EIO, "cannot open", "No such file");

    spit(tmp_path("text.h5"), "name: not a model\n", 18);
    expect_load_fail(tmp_path("text.h5"), PF_EPARSE, "not an HDF5 file", NULL);
    spit(tmp_path("empty.h5"), "", 0);
    expect_load_fail(tmp_path("empty.h5"), PF_EPARSE, "not an HDF5 file", NULL);

    /* a truncated copy of a valid file */
    struct pf_model *m = tiny_model(3);
    ck_assert_int_eq(pf_model_save(m, tmp_path("m.h5"), "fmnist", NULL), 0);
    pf_model_free(m);
    size_t n = 0;
    unsigned char *b = slurp(tmp_path("m.h5"), &n);
    spit(tmp_path("trunc.h5"), b, n / 2);
    expect_load_fail(tmp_path("trunc.h5"), PF_EIO, "truncated or corrupt", NULL);

    /* a netdef with a misspelt key (same length, patched in place): named <file>:netdef */
    unsigned char *hit = memmem(b, n, "filters: 2", 10);
    ck_assert_ptr_nonnull(hit);
    memcpy(hit, "filterz: 2", 10);
    spit(tmp_path("netdef.h5"), b, n);
    char where[300];
    snprintf(where, sizeof where, "%s:netdef:5:", tmp_path("netdef.h5"));
    expect_load_fail(tmp_path("netdef.h5"), PF_EPARSE, where, "filterz");
    free(b);

    expect_load_fail(fixture("io_wrong_format.h5"), PF_EPARSE, "not a pocketflow model",
                     "\"keras-model\"");
    expect_load_fail(fixture("io_bad_shape.h5"), PF_ESHAPE,
                     "params/conv1/weight has shape "
                     "2x1x5x5",
                     "needs weight 2x1x3x3");
    expect_load_fail(fixture("io_missing_param.h5"), PF_EPARSE, "params/fc/bias is missing",
                     "shape 3");
    expect_load_fail(fixture("io_extra_param.h5"), PF_EPARSE, "params/fc/scale",
                     "has no param 'scale'");
    expect_load_fail(fixture("io_bad_mask.h5"), PF_EPARSE, "masks/conv1/weight holds 2", NULL);

    struct pf_meta meta;
    pf_meta_init(&meta);
    ck_assert_int_eq(pf_model_read_meta(tmp_path("text.h5"), &meta), -PF_EPARSE);
    ck_assert_int_eq(pf_model_read_meta(fixture("io_wrong_format.h5"), &meta), -PF_EPARSE);
    pf_meta_deinit(&meta);
}
END_TEST

Suite *io_model_suite(void);
Suite *io_model_suite(void)
{
    Suite *s = suite_create("io_model");
    TCase *tc = tcase_create("h5");
    tcase_set_timeout(tc, 60); /* the shared fixture is 13 MB; sanitizer builds are slow */
    tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
    tcase_add_test(tc, test_round_trip);
    tcase_add_test(tc, test_save_errors);
    tcase_add_test(tc, test_meta_list);
    tcase_add_test(tc, test_shared_torch_fixture);
    tcase_add_test(tc, test_h5py_variants);
    tcase_add_test(tc, test_bad_files);
    suite_add_tcase(s, tc);
    TCase *acc = tcase_create("torch_accuracy");
    tcase_set_timeout(acc, 600); /* 10000 forward passes; minutes under the sanitizers */
    tcase_add_test(acc, test_shared_torch_accuracy);
    suite_add_tcase(s, acc);
    return s;
}

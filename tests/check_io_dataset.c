/* check_io_dataset.c: dataset loaders (IDX, CIFAR-10, synthetic), split and batch assembly.
 *
 * The real Fashion-MNIST (package dataset-fashion-mnist) is checked against an independent
 * zlib read of its files; malformed files are written to a temporary directory and each must
 * fail with an error that names the file and the problem. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "engine/core/pf_rng.h"
#include "engine/core/pf_status.h"
#include "engine/io/dataset.h"

#define FMNIST_DIR  "/usr/share/datasets/fashion-mnist"
#define TOL_STD     1e-4  /* per-image mean / std after standardisation, float32 */
#define TOL_EXACT   1e-5f /* one standardised value against its formula */
#define SYN_MIN_ACC 0.9   /* nearest-class-mean accuracy the synthetic set must allow */

/* ---- helpers ---- */

static char tmpdir[64];

static void tmp_setup(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/pf_io_ds_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void tmp_teardown(void)
{
    static const char *const names[] = {
        "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
        "train-images-idx3-ubyte",
        "train-labels-idx1-ubyte",
        "test_batch.bin",
        "data_batch_1.bin",
        "data_batch_2.bin",
        "data_batch_3.bin",
        "data_batch_4.bin",
        "data_batch_5.bin",
    };
    char p[256];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", tmpdir, names[i]);
        unlink(p);
    }
    rmdir(tmpdir);
}

static void write_file(const char *name, const void *data, size_t n)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", tmpdir, name);
    FILE *f = fopen(p, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, n, f), n);
    ck_assert_int_eq(fclose(f), 0);
}

static void write_gz(const char *name, const void *data, size_t n)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", tmpdir, name);
    gzFile g = gzopen(p, "wb");
    ck_assert_ptr_nonnull(g);
    ck_assert_int_eq(gzwrite(g, data, (unsigned)n), (int)n);
    ck_assert_int_eq(gzclose(g), Z_OK);
}

static void put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* An IDX images file of n images of h x w (pixel (i, k) = (7 i + k) mod 256) into buf;
 * returns its size. */
static size_t make_idx_images(unsigned char *buf, uint32_t magic, uint32_t n, uint32_t h,
                              uint32_t w)
{
    put_be32(buf, magic);
    put_be32(buf + 4, n);
    put_be32(buf + 8, h);
    put_be32(buf + 12, w);
    for (uint32_t i = 0; i < n * h * w; i++)
        buf[16 + i] = (unsigned char)((7 * (i / (h * w)) + i % (h * w)) % 256);
    return 16 + (size_t)n * h * w;
}

static size_t make_idx_labels(unsigned char *buf, uint32_t magic, uint32_t n)
{
    put_be32(buf, magic);
    put_be32(buf + 4, n);
    for (uint32_t i = 0; i < n; i++)
        buf[8 + i] = (unsigned char)(i % 10);
    return 8 + (size_t)n;
}

/* Reads a whole gz file independently of the module under test. */
static unsigned char *gz_slurp(const char *path, size_t *n)
{
    gzFile g = gzopen(path, "rb");
    ck_assert_ptr_nonnull(g);
    size_t cap = 1 << 20, len = 0;
    unsigned char *b = malloc(cap);
    ck_assert_ptr_nonnull(b);
    for (;;) {
        if (len == cap) {
            cap *= 2;
            b = realloc(b, cap);
            ck_assert_ptr_nonnull(b);
        }
        int r = gzread(g, b + len, (unsigned)(cap - len));
        ck_assert_int_ge(r, 0);
        if (r == 0)
            break;
        len += (size_t)r;
    }
    gzclose(g);
    *n = len;
    return b;
}

/* Loads a split of spec, expects failure with code and both needles (if any) in the message. */
static void expect_fail_split(const char *spec, int split, int code, const char *needle1,
                              const char *needle2)
{
    struct pf_dataset *d = (struct pf_dataset *)1;
    pf_err_clear();
    int rc = pf_dataset_load(spec, split, &d);
    ck_assert_msg(rc == -code, "%s: rc %d, expected %d (%s)", spec, rc, -code, pf_err_msg());
    ck_assert_ptr_null(d);
    ck_assert_msg(strstr(pf_err_msg(), needle1), "'%s' not in '%s'", needle1, pf_err_msg());
    if (needle2)
        ck_assert_msg(strstr(pf_err_msg(), needle2), "'%s' not in '%s'", needle2, pf_err_msg());
}

static void expect_fail(const char *spec, int code, const char *needle1, const char *needle2)
{
    expect_fail_split(spec, PF_SPLIT_TEST, code, needle1, needle2);
}

static void image_stats(const float *x, size_t n, double *mean, double *sd)
{
    double s = 0, s2 = 0;
    for (size_t i = 0; i < n; i++) {
        s += x[i];
        s2 += (double)x[i] * x[i];
    }
    *mean = s / (double)n;
    *sd = sqrt(s2 / (double)n - *mean * *mean);
}

/* ---- real Fashion-MNIST ---- */

START_TEST(test_fmnist_loads)
{
    static const int first_train[] = {9, 0, 0, 3};
    static const int first_test[] = {9, 2, 1, 1};
    const char *const lfile[] = {FMNIST_DIR "/train-labels-idx1-ubyte.gz",
                                 FMNIST_DIR "/t10k-labels-idx1-ubyte.gz"};
    const char *const ifile[] = {FMNIST_DIR "/train-images-idx3-ubyte.gz",
                                 FMNIST_DIR "/t10k-images-idx3-ubyte.gz"};
    unsetenv("PF_FMNIST_DIR");
    for (int split = 0; split < 2; split++) {
        struct pf_dataset *d = NULL;
        ck_assert_msg(pf_dataset_load("fmnist", split, &d) == 0, "%s", pf_err_msg());
        ck_assert_str_eq(d->name, "fmnist");
        ck_assert_int_eq(d->n, split == PF_SPLIT_TRAIN ? 60000 : 10000);
        ck_assert_int_eq(d->c, 1);
        ck_assert_int_eq(d->h, 28);
        ck_assert_int_eq(d->w, 28);
        ck_assert_int_eq(d->classes, 10);
        const int *first = split == PF_SPLIT_TRAIN ? first_train : first_test;
        for (int i = 0; i < 4; i++)
            ck_assert_int_eq(d->labels[i], first[i]);
        /* every label and pixel against an independent read of the gz files */
        size_t ln = 0, in = 0;
        unsigned char *lb = gz_slurp(lfile[split], &ln);
        unsigned char *ib = gz_slurp(ifile[split], &in);
        ck_assert_uint_eq(ln, 8 + (size_t)d->n);
        ck_assert_uint_eq(in, 16 + (size_t)d->n * 784);
        ck_assert_int_eq(memcmp(lb + 8, d->labels, (size_t)d->n), 0);
        ck_assert_int_eq(memcmp(ib + 16, d->images, (size_t)d->n * 784), 0);
        for (int i = 0; i < d->n; i++)
            ck_assert_int_lt(d->labels[i], 10);
        free(lb);
        free(ib);
        pf_dataset_free(d);
    }
    /* "fmnist:<dir>" and a bare directory read the same files */
    struct pf_dataset *a = NULL, *b = NULL;
    ck_assert_int_eq(pf_dataset_load("fmnist:" FMNIST_DIR, PF_SPLIT_TEST, &a), 0);
    ck_assert_int_eq(pf_dataset_load(FMNIST_DIR, PF_SPLIT_TEST, &b), 0);
    ck_assert_int_eq(a->n, b->n);
    ck_assert_int_eq(memcmp(a->images, b->images, (size_t)a->n * 784), 0);
    pf_dataset_free(a);
    pf_dataset_free(b);
}
END_TEST

START_TEST(test_fmnist_split)
{
    struct pf_dataset *d = NULL;
    unsetenv("PF_FMNIST_DIR");
    ck_assert_int_eq(pf_dataset_load("fmnist", PF_SPLIT_TRAIN, &d), 0);
    uint32_t *tr = NULL, *va = NULL, nt = 0, nv = 0;
    ck_assert_int_eq(pf_dataset_split(d, 5000, &tr, &nt, &va, &nv), 0);
    ck_assert_uint_eq(nt, 55000);
    ck_assert_uint_eq(nv, 5000);
    /* PocketFlow's split: validation = the first 5000 in file order, training = the rest */
    for (uint32_t i = 0; i < nv; i++)
        ck_assert_uint_eq(va[i], i);
    for (uint32_t i = 0; i < nt; i++)
        ck_assert_uint_eq(tr[i], 5000 + i);
    free(tr);
    free(va);
    ck_assert_int_eq(pf_dataset_split(d, 0, &tr, &nt, &va, &nv), 0);
    ck_assert_uint_eq(nt, 60000);
    ck_assert_ptr_null(va);
    free(tr);
    ck_assert_int_eq(pf_dataset_split(d, 60000, &tr, &nt, &va, &nv), -PF_EINVAL);
    ck_assert_ptr_null(tr);
    ck_assert_int_eq(pf_dataset_split(d, -1, &tr, &nt, &va, &nv), -PF_EINVAL);
    pf_dataset_free(d);
}
END_TEST

/* ---- preprocessing ---- */

START_TEST(test_standardize)
{
    struct pf_dataset *d = NULL;
    unsetenv("PF_FMNIST_DIR");
    ck_assert_int_eq(pf_dataset_load("fmnist", PF_SPLIT_TEST, &d), 0);
    enum { B = 64 };
    uint32_t idx[B];
    int y[B];
    for (int i = 0; i < B; i++)
        idx[i] = (uint32_t)(i * 97);
    float *x = malloc(sizeof *x * B * 784);
    ck_assert_ptr_nonnull(x);
    ck_assert_int_eq(pf_dataset_batch(d, idx, B, x, y, false, NULL), 0);
    for (int i = 0; i < B; i++) {
        double m, sd;
        image_stats(x + (size_t)i * 784, 784, &m, &sd);
        ck_assert_double_eq_tol(m, 0.0, TOL_STD);
        ck_assert_double_eq_tol(sd, 1.0, TOL_STD);
        ck_assert_int_eq(y[i], d->labels[idx[i]]);
        /* one value against the formula, in double */
        const uint8_t *s = d->images + (size_t)idx[i] * 784;
        double sm = 0, s2 = 0;
        for (int k = 0; k < 784; k++)
            sm += s[k];
        sm /= 784;
        for (int k = 0; k < 784; k++)
            s2 += (s[k] - sm) * (s[k] - sm);
        double ref = (s[400] - sm) / fmax(sqrt(s2 / 784), 1.0 / 28);
        ck_assert_float_eq_tol(x[(size_t)i * 784 + 400], (float)ref, TOL_EXACT);
    }
    ck_assert_int_eq(pf_dataset_batch(d, (uint32_t[]){10000}, 1, x, NULL, false, NULL), -PF_EINVAL);
    free(x);
    pf_dataset_free(d);

    /* a constant image: stddev 0 is floored at 1/sqrt(784) = 1/28, so every value is 0 */
    uint8_t c[784];
    float o[784];
    memset(c, 77, sizeof c);
    pf_dataset_standardize(c, 784, o);
    for (int k = 0; k < 784; k++)
        ck_assert_float_eq(o[k], 0.0f);
    /* one pixel 1 above the rest: stddev sqrt(783)/784 < 1/28, so the floor divides */
    c[5] = 78;
    pf_dataset_standardize(c, 784, o);
    double mean = 77.0 + 1.0 / 784;
    ck_assert_float_eq_tol(o[5], (float)((78 - mean) * 28), TOL_EXACT);
    ck_assert_float_eq_tol(o[6], (float)((77 - mean) * 28), TOL_EXACT);
}
END_TEST

START_TEST(test_augment)
{
    struct pf_dataset *d = NULL;
    ck_assert_int_eq(pf_dataset_load("synthetic:2x12x10:60", PF_SPLIT_TRAIN, &d), 0);
    enum { B = 16, IMG = 2 * 12 * 10, GUARD = 8 };
    uint32_t idx[B];
    for (int i = 0; i < B; i++)
        idx[i] = (uint32_t)(3 * i + 1);
    float a[B * IMG + GUARD], b[B * IMG + GUARD], plain[B * IMG];
    for (int k = 0; k < GUARD; k++)
        a[B * IMG + k] = b[B * IMG + k] = -999.0f;
    struct pf_rng r1, r2, replay;
    pf_rng_seed(&r1, 7);
    pf_rng_seed(&r2, 7);
    pf_rng_seed(&replay, 7);
    ck_assert_int_eq(pf_dataset_batch(d, idx, B, a, NULL, true, &r1), 0);
    ck_assert_int_eq(pf_dataset_batch(d, idx, B, b, NULL, true, &r2), 0);
    ck_assert_int_eq(pf_dataset_batch(d, idx, B, plain, NULL, false, NULL), 0);
    /* same seed, same batch; nothing written past the batch */
    ck_assert_int_eq(memcmp(a, b, sizeof a), 0);
    for (int k = 0; k < GUARD; k++)
        ck_assert_float_eq(a[B * IMG + k], -999.0f);
    ck_assert_int_eq(pf_dataset_batch(d, idx, B, a, NULL, true, NULL), -PF_EINVAL);
    /* each image is its standardised original, padded by 4 zeros, cropped at the offsets drawn
     * (row, column, in [0, 8]) and mirrored when the flip draw is 1 */
    ck_assert_int_eq(pf_dataset_batch(d, idx, B, a, NULL, true, &r1), 0);
    pf_rng_seed(&r1, 7);
    ck_assert_int_eq(pf_dataset_batch(d, idx, B, a, NULL, true, &r1), 0);
    int flips = 0, shifted = 0;
    for (int i = 0; i < B; i++) {
        int oy = (int)pf_rng_below(&replay, 9), ox = (int)pf_rng_below(&replay, 9);
        int flip = (int)pf_rng_below(&replay, 2);
        flips += flip;
        shifted += oy != 4 || ox != 4;
        for (int c = 0; c < 2; c++)
            for (int r = 0; r < 12; r++)
                for (int q = 0; q < 10; q++) {
                    int cq = flip ? 9 - q : q; /* column in the cropped, unflipped image */
                    int sr = r + oy - 4, sc = cq + ox - 4;
                    float want = sr >= 0 && sr < 12 && sc >= 0 && sc < 10
                                     ? plain[i * IMG + (c * 12 + sr) * 10 + sc]
                                     : 0.0f;
                    ck_assert_float_eq(a[i * IMG + (c * 12 + r) * 10 + q], want);
                }
    }
    ck_assert_int_gt(flips, 0);
    ck_assert_int_lt(flips, B);
    ck_assert_int_gt(shifted, 0);
    pf_dataset_free(d);
}
END_TEST

/* ---- synthetic ---- */

START_TEST(test_synthetic)
{
    struct pf_dataset *tr = NULL, *te = NULL, *again = NULL;
    ck_assert_int_eq(pf_dataset_load("synthetic", PF_SPLIT_TRAIN, &tr), 0);
    ck_assert_int_eq(pf_dataset_load("synthetic", PF_SPLIT_TEST, &te), 0);
    ck_assert_int_eq(pf_dataset_load("synthetic", PF_SPLIT_TRAIN, &again), 0);
    ck_assert_int_eq(tr->n, 2000);
    ck_assert_int_eq(te->n, 500);
    ck_assert_int_eq(tr->c * tr->h * tr->w, 784);
    ck_assert_int_eq(tr->classes, 10);
    ck_assert_int_eq(memcmp(tr->images, again->images, (size_t)tr->n * 784), 0);
    ck_assert_int_eq(memcmp(tr->labels, again->labels, (size_t)tr->n), 0);
    /* learnable: the nearest class mean of the training images classifies the test set */
    static double mean[10][784];
    int count[10] = {0};
    memset(mean, 0, sizeof mean);
    for (int i = 0; i < tr->n; i++) {
        int k = tr->labels[i];
        count[k]++;
        for (int p = 0; p < 784; p++)
            mean[k][p] += tr->images[(size_t)i * 784 + p];
    }
    for (int k = 0; k < 10; k++) {
        ck_assert_int_gt(count[k], 0);
        for (int p = 0; p < 784; p++)
            mean[k][p] /= count[k];
    }
    int correct = 0;
    for (int i = 0; i < te->n; i++) {
        int best = -1;
        double bd = 0;
        for (int k = 0; k < 10; k++) {
            double dd = 0;
            for (int p = 0; p < 784; p++) {
                double e = te->images[(size_t)i * 784 + p] - mean[k][p];
                dd += e * e;
            }
            if (best < 0 || dd < bd) {
                best = k;
                bd = dd;
            }
        }
        correct += best == te->labels[i];
    }
    ck_assert_msg((double)correct / te->n >= SYN_MIN_ACC, "accuracy %d/%d", correct, te->n);
    pf_dataset_free(tr);
    pf_dataset_free(te);
    pf_dataset_free(again);

    ck_assert_int_eq(pf_dataset_load("synthetic:3x8x9:100", PF_SPLIT_TEST, &te), 0);
    ck_assert_int_eq(te->n, 25);
    ck_assert_int_eq(te->c, 3);
    ck_assert_int_eq(te->h, 8);
    ck_assert_int_eq(te->w, 9);
    pf_dataset_free(te);
    expect_fail("synthetic:3x8", PF_EINVAL, "synthetic:3x8", "expected");
    expect_fail("synthetic:9x8x8", PF_EINVAL, "out of range", NULL);
    expect_fail("imagenet", PF_EINVAL, "unknown dataset 'imagenet'", NULL);
    struct pf_dataset *d = NULL;
    ck_assert_int_eq(pf_dataset_load("synthetic", 5, &d), -PF_EINVAL);
}
END_TEST

/* ---- malformed IDX files ---- */

START_TEST(test_idx_small_and_gz)
{
    static unsigned char img[16 + 3 * 4 * 5], lab[8 + 3];
    size_t ni = make_idx_images(img, 0x803, 3, 4, 5), nl = make_idx_labels(lab, 0x801, 3);
    write_file("t10k-images-idx3-ubyte", img, ni);
    write_file("t10k-labels-idx1-ubyte", lab, nl);
    char spec[128];
    snprintf(spec, sizeof spec, "mnist:%s", tmpdir);
    struct pf_dataset *d = NULL;
    ck_assert_msg(pf_dataset_load(spec, PF_SPLIT_TEST, &d) == 0, "%s", pf_err_msg());
    ck_assert_int_eq(d->n, 3);
    ck_assert_int_eq(d->h, 4);
    ck_assert_int_eq(d->w, 5);
    ck_assert_int_eq(memcmp(d->images, img + 16, 60), 0);
    ck_assert_int_eq(d->labels[2], 2);
    pf_dataset_free(d);
    /* the gzipped copies are preferred over the plain files */
    img[16] = 200;
    write_gz("t10k-images-idx3-ubyte.gz", img, ni);
    write_gz("t10k-labels-idx1-ubyte.gz", lab, nl);
    ck_assert_int_eq(pf_dataset_load(spec, PF_SPLIT_TEST, &d), 0);
    ck_assert_int_eq(d->images[0], 200);
    pf_dataset_free(d);
    /* PF_FMNIST_DIR redirects "fmnist" */
    setenv("PF_FMNIST_DIR", tmpdir, 1);
    ck_assert_int_eq(pf_dataset_load("fmnist", PF_SPLIT_TEST, &d), 0);
    ck_assert_int_eq(d->n, 3);
    pf_dataset_free(d);
    expect_fail_split("fmnist", PF_SPLIT_TRAIN, PF_EIO, tmpdir, "train-images-idx3-ubyte.gz");
    unsetenv("PF_FMNIST_DIR");
}
END_TEST

START_TEST(test_idx_errors)
{
    static unsigned char img[16 + 3 * 4 * 5], lab[8 + 4];
    char spec[128], ipath[256], lpath[256];
    snprintf(spec, sizeof spec, "mnist:%s", tmpdir);
    snprintf(ipath, sizeof ipath, "%s/t10k-images-idx3-ubyte", tmpdir);
    snprintf(lpath, sizeof lpath, "%s/t10k-labels-idx1-ubyte", tmpdir);

    /* missing file: the path and strerror */
    expect_fail(spec, PF_EIO, "t10k-images-idx3-ubyte.gz", "No such file");

    size_t ni = make_idx_images(img, 0x803, 3, 4, 5), nl = make_idx_labels(lab, 0x801, 3);
    write_file("t10k-images-idx3-ubyte", img, ni);
    expect_fail(spec, PF_EIO, "t10k-labels-idx1-ubyte.gz", "No such file");

    /* bad magic, in either file */
    write_file("t10k-labels-idx1-ubyte", lab, nl);
    make_idx_images(img, 0x801, 3, 4, 5);
    write_file("t10k-images-idx3-ubyte", img, ni);
    expect_fail(spec, PF_EPARSE, ipath, "bad magic 0x00000801");
    make_idx_images(img, 0x803, 3, 4, 5);
    write_file("t10k-images-idx3-ubyte", img, ni);
    make_idx_labels(lab, 0x803, 3);
    write_file("t10k-labels-idx1-ubyte", lab, nl);
    expect_fail(spec, PF_EPARSE, lpath, "bad magic 0x00000803");
    make_idx_labels(lab, 0x801, 3);
    write_file("t10k-labels-idx1-ubyte", lab, nl);

    /* truncated data, truncated header, zero dimension */
    write_file("t10k-images-idx3-ubyte", img, ni - 7);
    expect_fail(spec, PF_EPARSE, ipath, "truncated");
    write_file("t10k-images-idx3-ubyte", img, 10);
    expect_fail(spec, PF_EPARSE, ipath, "truncated");
    make_idx_images(img, 0x803, 3, 0, 5);
    write_file("t10k-images-idx3-ubyte", img, 16);
    expect_fail(spec, PF_EPARSE, ipath, "dimension 1 is 0");

    /* a header count smaller than the data: trailing bytes */
    make_idx_images(img, 0x803, 3, 4, 5);
    put_be32(img + 4, 2);
    write_file("t10k-images-idx3-ubyte", img, ni);
    expect_fail(spec, PF_EPARSE, ipath, "trailing bytes");

    /* 3 images but 4 labels */
    put_be32(img + 4, 3);
    write_file("t10k-images-idx3-ubyte", img, ni);
    nl = make_idx_labels(lab, 0x801, 4);
    write_file("t10k-labels-idx1-ubyte", lab, nl);
    expect_fail(spec, PF_EPARSE, "3 images", "4 labels");

    /* a label out of range */
    nl = make_idx_labels(lab, 0x801, 3);
    lab[8 + 1] = 10;
    write_file("t10k-labels-idx1-ubyte", lab, nl);
    expect_fail(spec, PF_EPARSE, lpath, "label of item 1 is 10");

    /* a corrupt gzip stream (gz magic, garbage body) and a truncated gzip file */
    lab[8 + 1] = 1;
    write_file("t10k-labels-idx1-ubyte", lab, nl);
    unsigned char junk[64] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
    memset(junk + 10, 0xff, sizeof junk - 10);
    write_file("t10k-images-idx3-ubyte.gz", junk, sizeof junk);
    expect_fail(spec, PF_EPARSE, "t10k-images-idx3-ubyte.gz", "corrupt");
    write_gz("t10k-images-idx3-ubyte.gz", img, ni);
    char gz[256];
    snprintf(gz, sizeof gz, "%s/t10k-images-idx3-ubyte.gz", tmpdir);
    ck_assert_int_eq(truncate(gz, 30), 0);
    expect_fail(spec, PF_EPARSE, "t10k-images-idx3-ubyte.gz", "truncated");

    /* PF_FMNIST_DIR pointing at the bad files */
    setenv("PF_FMNIST_DIR", tmpdir, 1);
    expect_fail("fmnist", PF_EPARSE, "t10k-images-idx3-ubyte.gz", "truncated");
    unsetenv("PF_FMNIST_DIR");
}
END_TEST

/* ---- CIFAR-10 ---- */

START_TEST(test_cifar)
{
    enum { REC = 3073 };
    static unsigned char two[2 * REC];
    for (int r = 0; r < 2; r++) {
        two[r * REC] = (unsigned char)(r == 0 ? 3 : 8);
        for (int k = 0; k < 3072; k++)
            two[r * REC + 1 + k] = (unsigned char)((k / 1024) * 50 + r * 10 + k % 7);
    }
    write_file("test_batch.bin", two, sizeof two);
    char spec[128];
    snprintf(spec, sizeof spec, "cifar10:%s", tmpdir);
    struct pf_dataset *d = NULL;
    ck_assert_msg(pf_dataset_load(spec, PF_SPLIT_TEST, &d) == 0, "%s", pf_err_msg());
    ck_assert_str_eq(d->name, "cifar10");
    ck_assert_int_eq(d->n, 2);
    ck_assert_int_eq(d->c, 3);
    ck_assert_int_eq(d->h, 32);
    ck_assert_int_eq(d->w, 32);
    ck_assert_int_eq(d->labels[0], 3);
    ck_assert_int_eq(d->labels[1], 8);
    ck_assert_int_eq(memcmp(d->images + 3072, two + REC + 1, 3072), 0);
    /* PocketFlow's per-channel normalisation: channel 1 of image 1, pixel 5 */
    float x[2 * 3072];
    int y[2];
    ck_assert_int_eq(pf_dataset_batch(d, (uint32_t[]){0, 1}, 2, x, y, false, NULL), 0);
    ck_assert_int_eq(y[1], 8);
    float v = two[REC + 1 + 1024 + 5];
    ck_assert_float_eq_tol(x[3072 + 1024 + 5], (v - 123.0f) / 62.1f, TOL_EXACT);
    pf_dataset_free(d);

    /* the train split is data_batch_1..5 in order; a missing one names its path */
    char name[32];
    for (int i = 1; i <= 4; i++) {
        snprintf(name, sizeof name, "data_batch_%d.bin", i);
        write_file(name, two + (i % 2) * REC, REC);
    }
    ck_assert_int_eq(pf_dataset_load(spec, PF_SPLIT_TRAIN, &d), -PF_EIO);
    ck_assert_ptr_null(d);
    ck_assert_ptr_nonnull(strstr(pf_err_msg(), "data_batch_5.bin: cannot open"));
    write_file("data_batch_5.bin", two, sizeof two);
    ck_assert_msg(pf_dataset_load(spec, PF_SPLIT_TRAIN, &d) == 0, "%s", pf_err_msg());
    ck_assert_int_eq(d->n, 6);
    static const int want[] = {8, 3, 8, 3, 3, 8};
    for (int i = 0; i < 6; i++)
        ck_assert_int_eq(d->labels[i], want[i]);
    pf_dataset_free(d);

    /* a partial record and an out-of-range label */
    write_file("test_batch.bin", two, REC + 100);
    expect_fail(spec, PF_EPARSE, "test_batch.bin", "3073-byte");
    two[REC] = 10;
    write_file("test_batch.bin", two, sizeof two);
    expect_fail(spec, PF_EPARSE, "test_batch.bin", "label of record 1 is 10");
}
END_TEST

Suite *io_dataset_suite(void);
Suite *io_dataset_suite(void)
{
    Suite *s = suite_create("io_dataset");
    TCase *tc = tcase_create("fmnist");
    tcase_set_timeout(tc, 120); /* decompressing 60000 images under the sanitizers */
    tcase_add_test(tc, test_fmnist_loads);
    tcase_add_test(tc, test_fmnist_split);
    tcase_add_test(tc, test_standardize);
    suite_add_tcase(s, tc);
    TCase *pre = tcase_create("preprocess");
    tcase_add_test(pre, test_augment);
    tcase_add_test(pre, test_synthetic);
    suite_add_tcase(s, pre);
    TCase *bad = tcase_create("files");
    tcase_add_checked_fixture(bad, tmp_setup, tmp_teardown);
    tcase_add_test(bad, test_idx_small_and_gz);
    tcase_add_test(bad, test_idx_errors);
    tcase_add_test(bad, test_cifar);
    suite_add_tcase(s, bad);
    return s;
}

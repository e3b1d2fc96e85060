/* pf_test.c: helpers shared by the Check suites (see pf_test.h): tolerant comparison, layer
 * creation from one YAML row, seeded fills, central-difference gradient checks and the fixture
 * reader (format in tests/fixtures/README.md: "PFFX", version, named float32 arrays). */
#include "helpers/pf_test.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/core/pf_rng.h"
#include "engine/core/pf_status.h"

/* ---- comparison ---- */

void pf_test_close(const float *a, const float *b, size_t n, float atol, float rtol,
                   const char *label)
{
    size_t bad = 0;
    double maxd = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]);
        if (!(d <= atol + rtol * fabs((double)b[i]))) {
            if (bad < 5)
                fprintf(stderr, "%s: [%zu] got %.8g, want %.8g (diff %.3g)\n", label, i, a[i], b[i],
                        d);
            bad++;
        }
        if (d > maxd || d != d)
            maxd = d;
    }
    ck_assert_msg(bad == 0, "%s: %zu of %zu values differ (max diff %.3g, atol %g, rtol %g)", label,
                  bad, n, maxd, atol, rtol);
}

double pf_test_max_rel(const float *a, const float *b, size_t n, double floor)
{
    double m = 0.0;
    for (size_t i = 0; i < n; i++) {
        double den = fabs((double)b[i]) > floor ? fabs((double)b[i]) : floor;
        double r = fabs((double)a[i] - b[i]) / den;
        if (r > m || r != r)
            m = r;
    }
    return m;
}

/* ---- layers ---- */

int pf_test_layer_try(struct pf_layer *l, const char *yaml_row, const struct pf_shape *in, int n_in)
{
    struct pf_cfg *row = NULL;
    memset(l, 0, sizeof *l);
    int rc = pf_cfg_parse(yaml_row, strlen(yaml_row), "test.yaml", &row);
    if (rc < 0)
        return rc;
    for (int i = 0; i < PF_LAYER_MAX_INPUTS; i++)
        l->in_idx[i] = i < n_in ? i - 1 : -1;
    rc = pf_layer_create(l, row, in, n_in);
    pf_cfg_free(row);
    return rc;
}

void pf_test_layer(struct pf_layer *l, const char *yaml_row, const struct pf_shape *in, int n_in)
{
    int rc = pf_test_layer_try(l, yaml_row, in, n_in);
    ck_assert_msg(rc == 0, "creating %s failed (%d): %s", yaml_row, rc, pf_err_msg());
}

void pf_test_layer_fails(const char *yaml_row, const struct pf_shape *in, int n_in, int code,
                         const char *needle1, const char *needle2)
{
    struct pf_layer l;
    pf_err_clear();
    int rc = pf_test_layer_try(&l, yaml_row, in, n_in);
    if (rc == 0)
        pf_layer_destroy(&l);
    ck_assert_msg(rc == code, "%s: want %d, got %d (%s)", yaml_row, code, rc, pf_err_msg());
    ck_assert_msg(!needle1 || strstr(pf_err_msg(), needle1), "%s: message '%s' lacks '%s'",
                  yaml_row, pf_err_msg(), needle1);
    ck_assert_msg(!needle2 || strstr(pf_err_msg(), needle2), "%s: message '%s' lacks '%s'",
                  yaml_row, pf_err_msg(), needle2);
}

void pf_test_forward(struct pf_layer *l, const float *const *x, float *y, int N, bool train)
{
    if (l->ops->set_batch)
        ck_assert_msg(l->ops->set_batch(l, N) == 0, "%s: set_batch: %s", l->name, pf_err_msg());
    int rc = l->ops->forward(l, x, y, N, train);
    ck_assert_msg(rc == 0, "%s: forward failed (%d): %s", l->name, rc, pf_err_msg());
}

void pf_test_fill(float *x, size_t n, float lo, float hi, unsigned long long seed)
{
    struct pf_rng r;
    pf_rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++)
        x[i] = lo + (hi - lo) * pf_rng_uniform(&r);
}

void pf_test_fill_param(struct pf_layer *l, const char *name, float lo, float hi,
                        unsigned long long seed)
{
    struct pf_param *p = pf_layer_param(l, name);
    ck_assert_msg(p != NULL, "%s has no param %s", l->name, name);
    pf_test_fill(pf_tensor_f32(&p->w), pf_tensor_numel(&p->w), lo, hi, seed);
}

void pf_test_set_param(struct pf_layer *l, const char *name, const float *v, size_t n)
{
    struct pf_param *p = pf_layer_param(l, name);
    ck_assert_msg(p != NULL, "%s has no param %s", l->name, name);
    ck_assert_msg(pf_tensor_numel(&p->w) == n, "%s.%s has %zu values, fixture %zu", l->name, name,
                  pf_tensor_numel(&p->w), n);
    memcpy(pf_tensor_f32(&p->w), v, n * sizeof(float));
}

/* ---- gradient check ---- */

/* sum(y * r) in double, after one forward */
static double gc_loss(struct pf_layer *l, float *const *x, float *y, const float *r, size_t ny,
                      int N, bool train)
{
    int rc = l->ops->forward(l, (const float *const *)x, y, N, train);
    ck_assert_msg(rc == 0, "%s: forward failed: %s", l->name, pf_err_msg());
    double s = 0.0;
    for (size_t i = 0; i < ny; i++)
        s += (double)y[i] * r[i];
    return s;
}

static double gc_err(double a, double num)
{
    double den = fabs(a) > fabs(num) ? fabs(a) : fabs(num);
    if (den < 1e-2)
        den = 1e-2;
    return fabs(a - num) / den;
}

/* Central differences over v[0..n) against analytic grads g[0..n). */
static double gc_vec(struct pf_layer *l, float *const *x, float *y, const float *r, size_t ny,
                     int N, bool train, float *v, const float *g, size_t n, double eps,
                     const char *what)
{
    double worst = 0.0;
    for (size_t i = 0; i < n; i++) {
        float keep = v[i];
        v[i] = (float)(keep + eps);
        double lp = gc_loss(l, x, y, r, ny, N, train);
        v[i] = (float)(keep - eps);
        double lm = gc_loss(l, x, y, r, ny, N, train);
        v[i] = keep;
        double num = (lp - lm) / (2.0 * eps), e = gc_err(g[i], num);
        if (e > PF_TOL_GRAD && e > worst)
            fprintf(stderr, "%s: gradcheck %s[%zu]: analytic %.6g, numeric %.6g\n", l->name, what,
                    i, g[i], num);
        if (e > worst)
            worst = e;
    }
    return worst;
}

double pf_test_gradcheck_mode(struct pf_layer *l, float *const *x, int N, double eps, bool train)
{
    size_t ny = (size_t)N * pf_shape_numel(l->out);
    float *y = malloc(ny * sizeof(float)), *r = malloc(ny * sizeof(float));
    float *dy = malloc(ny * sizeof(float));
    float *dx[PF_LAYER_MAX_INPUTS] = {0};
    ck_assert(y && r && dy);
    for (int i = 0; i < l->n_in; i++) {
        dx[i] = malloc((size_t)N * pf_shape_numel(l->in[i]) * sizeof(float));
        ck_assert(dx[i]);
    }
    if (l->ops->set_batch)
        ck_assert_int_eq(l->ops->set_batch(l, N), 0);
    pf_test_fill(r, ny, -1.0f, 1.0f, 0x5eedull);
    for (int p = 0; p < l->n_params; p++)
        if (l->params[p].trainable)
            memset(l->params[p].g.data, 0, pf_tensor_numel(&l->params[p].g) * sizeof(float));
    gc_loss(l, x, y, r, ny, N, train);
    memcpy(dy, r, ny * sizeof(float));
    int rc = l->ops->backward(l, (const float *const *)x, y, dy, dx, N);
    ck_assert_msg(rc == 0, "%s: backward failed: %s", l->name, pf_err_msg());
    double worst = 0.0, e;
    for (int i = 0; i < l->n_in; i++) {
        e = gc_vec(l, x, y, r, ny, N, train, x[i], dx[i], (size_t)N * pf_shape_numel(l->in[i]), eps,
                   "dx");
        worst = e > worst ? e : worst;
    }
    for (int p = 0; p < l->n_params; p++) {
        struct pf_param *pp = &l->params[p];
        if (!pp->trainable)
            continue;
        e = gc_vec(l, x, y, r, ny, N, train, pf_tensor_f32(&pp->w), pf_tensor_f32(&pp->g),
                   pf_tensor_numel(&pp->w), eps, pp->name);
        worst = e > worst ? e : worst;
    }
    for (int i = 0; i < l->n_in; i++)
        free(dx[i]);
    free(dy);
    free(r);
    free(y);
    return worst;
}

double pf_test_gradcheck(struct pf_layer *l, float *const *x, int N, double eps)
{
    return pf_test_gradcheck_mode(l, x, N, eps, true);
}

/* ---- fixtures ---- */

const char *pf_test_dir(void)
{
    const char *d = getenv("PF_TEST_DIR");
    return d && d[0] ? d : "tests";
}

static int rd_u32(FILE *f, uint32_t *v)
{
    unsigned char b[4];
    if (fread(b, 1, 4, f) != 4)
        return -1;
    *v = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
    return 0;
}

float *pf_test_fixture(const char *file, const char *name, size_t *n)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/fixtures/%s", pf_test_dir(), file);
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL,
                  "cannot open fixture %s (run from the repo root or set "
                  "PF_TEST_DIR)",
                  path);
    char magic[4];
    uint32_t version = 0, count = 0;
    ck_assert_msg(fread(magic, 1, 4, f) == 4 && !memcmp(magic, "PFFX", 4), "%s: not a fixture",
                  path);
    ck_assert_msg(rd_u32(f, &version) == 0 && version == 1,
                  "%s: version %u, want 1 (rerun "
                  "tests/fixtures/gen_fixtures.py)",
                  path, version);
    ck_assert(rd_u32(f, &count) == 0);
    for (uint32_t a = 0; a < count; a++) {
        uint32_t len = 0, ndim = 0, dim;
        char nm[128];
        ck_assert_msg(rd_u32(f, &len) == 0 && len < sizeof nm, "%s: bad array header", path);
        ck_assert(fread(nm, 1, len, f) == len);
        nm[len] = '\0';
        ck_assert_msg(rd_u32(f, &ndim) == 0 && ndim <= 4, "%s: %s: bad rank", path, nm);
        size_t numel = 1;
        for (uint32_t d = 0; d < ndim; d++) {
            ck_assert(rd_u32(f, &dim) == 0);
            numel *= dim;
        }
        if (strcmp(nm, name) != 0) {
            ck_assert(fseek(f, (long)(numel * 4), SEEK_CUR) == 0);
            continue;
        }
        float *v = malloc((numel ? numel : 1) * sizeof(float));
        ck_assert(v != NULL);
        /* stored little-endian; every machine we build on is little-endian */
        ck_assert_msg(fread(v, 4, numel, f) == numel, "%s: %s is truncated", path, nm);
        fclose(f);
        if (n)
            *n = numel;
        return v;
    }
    fclose(f);
    ck_abort_msg("fixture %s has no array '%s'", path, name);
    return NULL;
}

struct pf_conv_desc pf_test_conv_desc(int N, int C, int H, int W, int K, int R, int stride, int pad,
                                      int groups)
{
    struct pf_conv_desc d = {.N = N,
                             .C = C,
                             .H = H,
                             .W = W,
                             .K = K,
                             .R = R,
                             .S = R,
                             .stride_h = stride,
                             .stride_w = stride,
                             .pad_t = pad,
                             .pad_b = pad + (stride > 1),
                             .pad_l = pad,
                             .pad_r = pad,
                             .groups = groups};
    ck_assert_int_eq(pf_conv_desc_finish(&d), 0);
    return d;
}

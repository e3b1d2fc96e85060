/* pf_test.h: helpers shared by the Check suites. Every helper asserts (or returns a number the
 * test asserts on); none only prints. */
#ifndef PF_TESTS_HELPERS_PF_TEST_H
#define PF_TESTS_HELPERS_PF_TEST_H

#include <check.h>
#include <stddef.h>

#include "engine/backend/backend.h"
#include "engine/layers/layer.h"

/* Tolerances, named once. */
#define PF_TOL_FWD_ATOL 1e-4f /* float32 forward vs fixture / oracle */
#define PF_TOL_FWD_RTOL 1e-4f
#define PF_TOL_GRAD     2e-2 /* finite-difference relative error (float32, eps 1e-2..1e-3) */

/* Asserts |a[i] - b[i]| <= atol + rtol * |b[i]| for all i; on failure prints the first 5
 * mismatches and the max difference, then fails the test with `label`. */
void pf_test_close(const float *a, const float *b, size_t n, float atol, float rtol,
                   const char *label);
/* Max |a - b| / max(|b|, floor) over n values. */
double pf_test_max_rel(const float *a, const float *b, size_t n, double floor);

/* Creates a layer from a one-line YAML flow map ("{name: c, type: conv2d, filters: 4, ...}")
 * reading inputs of the given shapes; fails the test on error. Destroy with pf_layer_destroy. */
void pf_test_layer(struct pf_layer *l, const char *yaml_row, const struct pf_shape *in, int n_in);
/* Same, but returns the error code instead of failing (for bad-input tests). */
int pf_test_layer_try(struct pf_layer *l, const char *yaml_row, const struct pf_shape *in,
                      int n_in);

/* Asserts that creating the layer fails with return code `code` and that pf_err_msg()
 * contains every non-NULL needle (e.g. the layer name and the offending key). */
void pf_test_layer_fails(const char *yaml_row, const struct pf_shape *in, int n_in, int code,
                         const char *needle1, const char *needle2);

/* Calls set_batch(N) (if the kind has one) and forward, asserting both succeed. */
void pf_test_forward(struct pf_layer *l, const float *const *x, float *y, int N, bool train);

/* A finished convolution descriptor: R x R kernel, square stride, `pad` on every side plus one
 * more at the bottom when strided (TensorFlow SAME's odd pixel). Asserts it fits. */
struct pf_conv_desc pf_test_conv_desc(int N, int C, int H, int W, int K, int R, int stride, int pad,
                                      int groups);

/* Fills x[0..n) with uniform values in [lo, hi) from a seeded stream. */
void pf_test_fill(float *x, size_t n, float lo, float hi, unsigned long long seed);

/* Central-difference gradient check of a layer at batch N: loss = sum(y * r) for a fixed random
 * r; compares backward's dx (every input) and every trainable param gradient with
 * (loss(v + eps) - loss(v - eps)) / (2 eps), computed in float32 with forward(train = true).
 * Returns the max relative error over all checked entries (|a - n| / max(|a|, |n|, 1e-2)).
 * x[i] holds N * numel(l->in[i]) values (restored on return). Calls set_batch(N) if the kind
 * has one; zeroes the param gradients first, so afterwards they hold the analytic gradient.
 * Entries over PF_TOL_GRAD are printed to stderr. */
double pf_test_gradcheck(struct pf_layer *l, float *const *x, int N, double eps);

/* Same, choosing the forward mode (train = false checks eval-mode gradients, e.g. BN with
 * running statistics, and keeps dropout deterministic). */
double pf_test_gradcheck_mode(struct pf_layer *l, float *const *x, int N, double eps, bool train);

/* Fills param `name` of l with uniform values in [lo, hi) (fails the test if there is none). */
void pf_test_fill_param(struct pf_layer *l, const char *name, float lo, float hi,
                        unsigned long long seed);
/* Copies n values into param `name` of l; fails the test if the sizes differ. */
void pf_test_set_param(struct pf_layer *l, const char *name, const float *v, size_t n);

/* A fixture written by tests/fixtures/gen_fixtures.py: a named float32 array.
 * Loads tests/fixtures/<file>, array <name>; fails the test if missing. Caller frees. n (the
 * number of values) may be NULL. */
float *pf_test_fixture(const char *file, const char *name, size_t *n);

/* Directory of the source tree's tests/ (from the PF_TEST_DIR env var, default "tests"). */
const char *pf_test_dir(void);

#endif

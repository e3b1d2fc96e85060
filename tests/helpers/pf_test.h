/* pf_test.h: helpers shared by the Check suites. Every helper asserts (or returns a number the
 * test asserts on); none only prints. */
#ifndef PF_TESTS_HELPERS_PF_TEST_H
#define PF_TESTS_HELPERS_PF_TEST_H

#include <check.h>
#include <stddef.h>

#include "engine/layers/layer.h"

/* Tolerances, named once. */
#define PF_TOL_FWD_ATOL 1e-4f  /* float32 forward vs fixture / oracle */
#define PF_TOL_FWD_RTOL 1e-4f
#define PF_TOL_GRAD 2e-2       /* finite-difference relative error (float32, eps 1e-2..1e-3) */

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

/* Fills x[0..n) with uniform values in [lo, hi) from a seeded stream. */
void pf_test_fill(float *x, size_t n, float lo, float hi, unsigned long long seed);

/* Central-difference gradient check of a layer at batch N: loss = sum(y * r) for a fixed random
 * r; compares backward's dx (every input) and every trainable param gradient with
 * (loss(v + eps) - loss(v - eps)) / (2 eps), computed in float32 with forward(train = true).
 * Returns the max relative error over all checked entries (|a - n| / max(|a|, |n|, 1e-2)).
 * x[i] holds N * numel(l->in[i]) values. */
double pf_test_gradcheck(struct pf_layer *l, float *const *x, int N, double eps);

/* A fixture written by tests/fixtures/gen_fixtures.py: a named float32 array.
 * Loads tests/fixtures/<file>, array <name>; fails the test if missing. Caller frees. */
float *pf_test_fixture(const char *file, const char *name, size_t *n);

/* Directory of the source tree's tests/ (from the PF_TEST_DIR env var, default "tests"). */
const char *pf_test_dir(void);

#endif

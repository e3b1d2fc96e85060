/* pf_test_compress.h: helpers of the sparsity and quantization learner tests: a small trained
 * model on the synthetic dataset, runs with fast settings, and the save / load check. Every
 * helper asserts. */
#ifndef PF_TESTS_HELPERS_PF_TEST_COMPRESS_H
#define PF_TESTS_HELPERS_PF_TEST_COMPRESS_H

#include <stddef.h>

#include "engine/model/graph.h"
#include "learners/learner.h"

/* A LeNet-5-sized net, and a small conv + batchnorm net (for BN folding), 1x28x28, 10 classes. */
extern const char pf_test_lenet_yaml[];
extern const char pf_test_bn_yaml[];

/* A fresh temporary directory (mkdtemp) under /tmp; removed by pf_test_tmpdir_remove. */
void pf_test_tmpdir(char *buf, size_t n);
void pf_test_tmpdir_remove(const char *dir);

/* Trains netdef `yaml` for `epochs` on the synthetic set (full-prec, seed 1) and saves it to
 * dir/name; returns the path (static buffer, valid until the next call). */
const char *pf_test_trained(const char *dir, const char *name, const char *yaml, double epochs);

/* A run of `learner` on model_path and the synthetic set with fast settings (batch 32, 200
 * validation images, summ_step 5). Caller frees with pf_run_free. */
struct pf_run *pf_test_run(const char *learner, const char *model_path);

/* Saves m to dir/name, loads it back, and asserts that both give bit-identical logits on the
 * synthetic test images; returns the file size in bytes. */
long pf_test_save_load_same(struct pf_model *m, const char *dir, const char *name);

/* Accuracy of m on the synthetic test images. */
double pf_test_accuracy(struct pf_model *m);

#endif

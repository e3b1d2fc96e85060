/* pf_test_compress.c: see pf_test_compress.h. */
#include "helpers/pf_test_compress.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/core/pf_status.h"
#include "engine/io/dataset.h"
#include "engine/io/model_h5.h"
#include "engine/model/train.h"

const char pf_test_lenet_yaml[] =
    "name: lenet\ninput: [1, 28, 28]\nclasses: 10\nlayers:\n"
    "  - {name: conv1, type: conv2d, filters: 6, kernel: 5, act: relu}\n"
    "  - {name: pool1, type: maxpool, kernel: 2}\n"
    "  - {name: conv2, type: conv2d, filters: 16, kernel: 5, act: relu}\n"
    "  - {name: pool2, type: maxpool, kernel: 2}\n"
    "  - {name: fc3, type: dense, units: 120, act: relu}\n"
    "  - {name: fc4, type: dense, units: 84, act: relu}\n"
    "  - {name: fc5, type: dense, units: 10}\n";

const char pf_test_bn_yaml[] =
    "name: small-bn\ninput: [1, 28, 28]\nclasses: 10\nlayers:\n"
    "  - {name: conv1, type: conv2d, filters: 8, kernel: 3, stride: 2, pad: same, bias: false}\n"
    "  - {name: bn1, type: batchnorm, act: relu}\n"
    "  - {name: conv2, type: conv2d, filters: 16, kernel: 3, pad: same, bias: false}\n"
    "  - {name: bn2, type: batchnorm, act: relu}\n"
    "  - {name: pool2, type: maxpool, kernel: 2}\n"
    "  - {name: conv3, type: conv2d, filters: 16, kernel: 3, pad: 1}\n"
    "  - {name: bn3, type: batchnorm, act: relu6}\n"
    "  - {name: gap, type: gap}\n"
    "  - {name: fc, type: dense, units: 10}\n";

void pf_test_tmpdir(char *buf, size_t n)
{
    snprintf(buf, n, "/tmp/pf_compress_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(buf));
}

void pf_test_tmpdir_remove(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

const char *pf_test_trained(const char *dir, const char *name, const char *yaml, double epochs)
{
    static char path[512];
    char nd[512], ep[32];
    snprintf(nd, sizeof nd, "%s/%s.yaml", dir, name);
    FILE *f = fopen(nd, "w");
    ck_assert_ptr_nonnull(f);
    fputs(yaml, f);
    fclose(f);
    snprintf(path, sizeof path, "%s/%s.h5", dir, name);
    struct pf_run *r = pf_test_run("full-prec", nd);
    snprintf(ep, sizeof ep, "%g", epochs);
    ck_assert_int_eq(pf_opts_set(&r->opts, "nb_epochs", ep, "t"), 0);
    ck_assert_int_eq(pf_opts_set(&r->opts, "lrn_rate_init", "0.1", "t"), 0);
    ck_assert_int_eq(pf_opts_set(&r->opts, "seed", "1", "t"), 0);
    snprintf(r->out_path, sizeof r->out_path, "%s", path);
    ck_assert_msg(pf_run_exec(r) == 0, "%s", pf_err_msg());
    pf_run_free(r);
    return path;
}

struct pf_run *pf_test_run(const char *learner, const char *model_path)
{
    struct pf_run *r = NULL;
    ck_assert_msg(pf_run_new(&r, learner, model_path, "synthetic") == 0, "%s", pf_err_msg());
    ck_assert_int_eq(pf_opts_set(&r->opts, "nb_smpls_val", "200", "t"), 0);
    ck_assert_int_eq(pf_opts_set(&r->opts, "batch_size", "32", "t"), 0);
    ck_assert_int_eq(pf_opts_set(&r->opts, "summ_step", "5", "t"), 0);
    ck_assert_int_eq(pf_opts_set(&r->opts, "enbl_augment", "False", "t"), 0);
    return r;
}

/* Logits of m over the synthetic test set, (n, classes); caller frees. */
static float *all_logits(struct pf_model *m, const struct pf_dataset *d)
{
    const int B = 100;
    size_t in = pf_shape_numel(m->input);
    float *x = malloc((size_t)B * in * sizeof *x);
    float *out = malloc((size_t)d->n * m->classes * sizeof *out);
    int *y = malloc(B * sizeof *y);
    uint32_t *ids = malloc(B * sizeof *ids);
    ck_assert(x && out && y && ids);
    for (int s = 0; s < d->n; s += B) {
        int nb = d->n - s < B ? d->n - s : B;
        for (int i = 0; i < nb; i++)
            ids[i] = (uint32_t)(s + i);
        ck_assert_int_eq(pf_dataset_batch(d, ids, nb, x, y, false, NULL), 0);
        ck_assert_int_eq(pf_model_forward(m, x, nb, false), 0);
        memcpy(out + (size_t)s * m->classes, pf_model_logits(m),
               (size_t)nb * m->classes * sizeof *out);
    }
    free(x);
    free(y);
    free(ids);
    return out;
}

long pf_test_save_load_same(struct pf_model *m, const char *dir, const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    ck_assert_msg(pf_model_save(m, path, "synthetic", NULL) == 0, "%s", pf_err_msg());
    struct pf_model *b = NULL;
    ck_assert_msg(pf_model_load(path, &b, NULL, 0) == 0, "%s", pf_err_msg());
    struct pf_dataset *d = NULL;
    ck_assert_int_eq(pf_dataset_load("synthetic", PF_SPLIT_TEST, &d), 0);
    float *la = all_logits(m, d), *lb = all_logits(b, d);
    size_t n = (size_t)d->n * m->classes;
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(la[i] == lb[i], "%s: logit %zu differs after reload: %g vs %g", name, i,
                      (double)la[i], (double)lb[i]);
    free(la);
    free(lb);
    pf_dataset_free(d);
    pf_model_free(b);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    return (long)st.st_size;
}

double pf_test_accuracy(struct pf_model *m)
{
    struct pf_dataset *d = NULL;
    ck_assert_int_eq(pf_dataset_load("synthetic", PF_SPLIT_TEST, &d), 0);
    struct pf_eval_result res;
    ck_assert_int_eq(pf_evaluate(m, d, NULL, 0, 100, &res, NULL), 0);
    pf_dataset_free(d);
    return res.accuracy;
}

/* uniform_quant_tf.c: `uniform-tf`, PocketFlow's UniformQuantTFLearner
 * (learners/uniform_quantization_tf/learner.py), which wrapped TF's quantization-aware training
 * (Jacob et al. 2018) and exported uint8 TFLite models. Here: batch norm is folded into the
 * convolutions (running statistics), weights are fake-quantized per output channel to
 * uqtf_weight_bits (symmetric, TF's narrow int8 range), the network input and every layer
 * output but the logits to uqtf_activation_bits with moving-average ranges (layers that keep
 * their input's quantization share its range), Adam fine-tunes at the model's schedule x
 * uqtf_lrn_rate_dcy, with uqtf_quant_delay float steps first (ranges observed meanwhile). The
 * result is an int8 model (int8 weights, int32 biases, scales and zero points in /quant) that
 * model/int8.h runs on integers; the learner reports the integer path's accuracy next to the
 * simulated one.
 * Batch-norm freezing: TF trained with live batch statistics until freeze_bn_delay; here the
 * first uqtf_freeze_bn_delay steps train the unfolded model (batch statistics, weights
 * fake-quantized before folding), then batch norm is folded and training goes on. Default 0:
 * folded from the start (PocketFlow's default None never froze during training; its eval graph
 * folded the running statistics anyway). uqtf_enbl_manual_quant (TFLite converter probing) has
 * no equivalent: every tensor is quantized by construction. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/core/pf_status.h"
#include "engine/model/int8.h"
#include "learners/common/quant_ft.h"
#include "learners/learner.h"

#define UQTF_MAX_BITS 8 /* the integer path stores uint8 activations and int8 weights */

static const struct pf_opt_spec uqtf_opts[] = {
    {"uqtf_weight_bits", PF_OPT_INT, "8", 1, 32, NULL,
     "bits per weight, symmetric per output channel (the int8 path takes 2..8)"},
    {"uqtf_activation_bits", PF_OPT_INT, "8", 1, 32, NULL,
     "bits per activation, per tensor with moving-average ranges (the int8 path takes 1..8)"},
    {"uqtf_quant_delay", PF_OPT_INT, "0", 0, 1000000000, NULL,
     "float training steps before quantizing (ranges are observed meanwhile)"},
    {"uqtf_freeze_bn_delay", PF_OPT_INT, "0", 0, 1000000000, NULL,
     "steps with live batch norm before it is frozen and folded into the convolutions"},
    {"uqtf_lrn_rate_dcy", PF_OPT_FLOAT, "0.01", 1e-6, 10, NULL,
     "Adam's rate = the run's schedule (lrn_rate_init ...) x this"},
    {NULL, 0, NULL, 0, 0, NULL, NULL},
};

/* Folds batch norm into r->model, carrying the activation ranges over: a folded conv takes its
 * batchnorm's output range, every other layer its own (by name). */
static int fold_model(struct pf_run *r)
{
    struct pf_model *m = r->model, *f = NULL;
    int rc = pf_model_fold_bn(m, &f);
    if (rc < 0)
        return rc;
    if (m->actq) {
        if ((rc = pf_model_actq_enable(f)) < 0) {
            pf_model_free(f);
            return rc;
        }
        f->actq[f->n_layers] = m->actq[m->n_layers];
        for (int i = 0; i < f->n_layers; i++) {
            int j = pf_model_find(m, f->layers[i].name);
            /* the folded conv's output is its batchnorm's: the layer consuming it */
            for (int k = j + 1; k < m->n_layers; k++)
                if (m->layers[k].n_in == 1 && m->layers[k].in_idx[0] == j &&
                    pf_layer_is(&m->layers[k], "batchnorm") &&
                    pf_model_find(f, m->layers[k].name) < 0)
                    j = k;
            f->actq[i] = m->actq[j];
            f->actq[i].tie = -1; /* ties are re-made by pf_quant_ft_init, by f's indices */
        }
    }
    int removed = m->n_layers - f->n_layers;
    pf_model_free(m);
    r->model = f;
    pf_run_log(r, "uniform-tf: folded %d batch-norm layer%s into the convolutions", removed,
               removed == 1 ? "" : "s");
    return 0;
}

/* One quantization-aware phase of `epochs` (may be 0: just quantize). */
static int qat_phase(struct pf_run *r, double epochs, long quant_delay, const char *phase)
{
    struct pf_quant_ft ft;
    struct pf_quant_ft_cfg c = {
        .mode = PF_QMODE_AFFINE,
        .w_bits = (int)pf_opts_int(&r->opts, "uqtf_weight_bits"),
        .a_bits = (int)pf_opts_int(&r->opts, "uqtf_activation_bits"),
        .bucket_type = "channel",
        .quantize_all = true,
        .epochs = epochs,
        .lrn_rate_dcy = pf_opts_float(&r->opts, "uqtf_lrn_rate_dcy"),
        .quant_delay = quant_delay,
        .tf_acts = true,
        .prefix = "uqtf_",
        .phase = phase,
    };
    int rc = pf_quant_ft_init(&ft, r, &c);
    if (rc < 0)
        return rc;
    rc = pf_quant_ft_run(&ft);
    pf_quant_ft_deinit(&ft);
    return rc;
}

/* Evaluates the integer network on the test split and reports it beside the simulated model. */
static int report_int8(struct pf_run *r)
{
    struct pf_int8_net *n = NULL;
    struct pf_eval_result qi, qs;
    int rc = pf_int8_net_new(r->model, &n);
    if (rc < 0)
        return rc;
    if ((rc = pf_int8_net_evaluate(n, r->test, NULL, 0, 100, &qi, NULL)) == 0 &&
        (rc = pf_run_evaluate(r, true, &qs)) == 0) {
        pf_run_metric(r, r->last_step, "int8_test_acc", qi.accuracy);
        pf_run_metric(r, r->last_step, "sim_test_acc", qs.accuracy);
        pf_run_log(r, "uniform-tf: test accuracy %.4f through the int8 path, %.4f simulated",
                   qi.accuracy, qs.accuracy);
    }
    pf_int8_net_free(n);
    return rc;
}

static int uqtf_train(struct pf_run *r)
{
    int wb = (int)pf_opts_int(&r->opts, "uqtf_weight_bits");
    int ab = (int)pf_opts_int(&r->opts, "uqtf_activation_bits");
    if (wb < 2 || wb > UQTF_MAX_BITS)
        return PF_ERR(PF_EINVAL, "uqtf_weight_bits = %d: the int8 model takes 2..%d bits", wb,
                      UQTF_MAX_BITS);
    if (ab > UQTF_MAX_BITS)
        return PF_ERR(PF_EINVAL, "uqtf_activation_bits = %d: the int8 model takes 1..%d bits", ab,
                      UQTF_MAX_BITS);
    struct pf_train_cfg c;
    pf_run_train_cfg(r, &c);
    double epochs = pf_opts_float(&r->opts, "nb_epochs");
    double per_epoch = (double)r->n_train / c.batch; /* steps per nominal epoch, before rat */
    double rat = pf_opts_float(&r->opts, "nb_epochs_rat");
    long freeze = pf_opts_int(&r->opts, "uqtf_freeze_bn_delay");
    long delay = pf_opts_int(&r->opts, "uqtf_quant_delay");
    double e1 = 0.0; /* epochs (before nb_epochs_rat) with live batch norm */
    if (freeze > 0) {
        e1 = (double)freeze / (per_epoch * rat);
        e1 = e1 < epochs ? e1 : epochs;
        int rc = qat_phase(r, e1, delay, "uniform-tf QAT, live batch norm");
        if (rc < 0)
            return rc;
        delay = delay > freeze ? delay - freeze : 0;
    }
    int rc = fold_model(r);
    if (rc < 0)
        return rc;
    rc = qat_phase(r, epochs - e1, delay, "uniform-tf QAT");
    if (rc < 0 && rc != -PF_ECANCELLED)
        return rc;
    int cancelled = rc == -PF_ECANCELLED;
    if ((rc = pf_int8_quantize_biases(r->model)) < 0 || (rc = report_int8(r)) < 0)
        return rc;
    return cancelled ? -PF_ECANCELLED : 0;
}

const struct pf_learner_ops pf_learner_uniform_tf = {
    .name = "uniform-tf",
    .summary = "8-bit quantization-aware training (TF's scheme, BN folded): an int8 model",
    .prefix = "uqtf_",
    .opts = uqtf_opts,
    .train = uqtf_train,
};

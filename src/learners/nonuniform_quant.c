/* nonuniform_quant.c: `non-uniform`, PocketFlow's NonUniformQuantLearner
 * (learners/nonuniform_quantization/learner.py, utils.py): 2^b centroids per tensor or bucket,
 * initialised at the weights' quantiles (PocketFlow), evenly (`uniform`) or by k-means (ours,
 * usually better); every weight takes its nearest centroid. Fine-tuning: weights learn through
 * the straight-through estimator and are re-assigned each step (nuql_opt_mode weights), the
 * centroids learn from the sum of their members' gradients (cluster: weights frozen), or both
 * (Deep Compression, Han et al. 2016). The codebook and the packed b-bit indices are stored in
 * /quant, so the saved model is really smaller.
 * Differences from PocketFlow: `cluster` is the mode's name (PocketFlow's docs said clusters,
 * its code cluster); fine-tuning starts from the trained model; Adam's rate is the run's
 * schedule x nuql_lrn_rate_dcy; activations use moving-average ranges (see uniform_quant.c);
 * the RL bit allocation is not available. */
#include <string.h>

#include "learners/common/quant_ft.h"
#include "learners/common/rlsearch.h"
#include "learners/learner.h"

static const struct pf_opt_spec nuql_opts[] = {
    {"nuql_init_style", PF_OPT_ENUM, "quantile", 0, 0, "quantile|uniform|kmeans",
     "centroids at the weights' quantiles (PocketFlow), evenly spaced, or by k-means"},
    {"nuql_opt_mode", PF_OPT_ENUM, "weights", 0, 0, "weights|cluster|both",
     "what fine-tuning trains: the weights, the centroids, or both"},
    {"nuql_weight_bits", PF_OPT_INT, "4", 1, 32, NULL,
     "bits per weight index: 2^bits centroids (at most 16 bits; 32 = float)"},
    {"nuql_activation_bits", PF_OPT_INT, "32", 1, 32, NULL,
     "bits per activation after ReLU layers, uniform quantizer (32 = float)"},
    {"nuql_use_buckets", PF_OPT_BOOL, "False", 0, 0, NULL,
     "one codebook per bucket (nuql_bucket_type) instead of per tensor"},
    {"nuql_bucket_type", PF_OPT_ENUM, "split", 0, 0, "channel|split",
     "buckets: one per output channel, or strided splits of nuql_bucket_size"},
    {"nuql_bucket_size", PF_OPT_INT, "256", 1, 1 << 30, NULL, "weights per `split` bucket"},
    {"nuql_quant_epochs", PF_OPT_FLOAT, "60", 0, 1000, NULL,
     "epochs of quantized fine-tuning (times nb_epochs_rat)"},
    {"nuql_quantize_all_layers", PF_OPT_BOOL, "False", 0, 0, NULL,
     "also quantize the first and last weight layers (kept float by default)"},
    {"nuql_lrn_rate_dcy", PF_OPT_FLOAT, "0.01", 1e-6, 10, NULL,
     "Adam's rate = the run's schedule (lrn_rate_init ...) x this"},
    PF_RL_BITS_OPTS("nuql_", "2101"),
    {NULL, 0, NULL, 0, 0, NULL, NULL},
};

static int nuql_train(struct pf_run *r)
{
    const char *init = pf_opts_str(&r->opts, "nuql_init_style");
    const char *opt = pf_opts_str(&r->opts, "nuql_opt_mode");
    struct pf_quant_ft_cfg c = {
        .mode = PF_QMODE_CODEBOOK,
        .w_bits = (int)pf_opts_int(&r->opts, "nuql_weight_bits"),
        .a_bits = (int)pf_opts_int(&r->opts, "nuql_activation_bits"),
        .use_buckets = pf_opts_bool(&r->opts, "nuql_use_buckets"),
        .bucket_type = pf_opts_str(&r->opts, "nuql_bucket_type"),
        .bucket_size = (int)pf_opts_int(&r->opts, "nuql_bucket_size"),
        .quantize_all = pf_opts_bool(&r->opts, "nuql_quantize_all_layers"),
        .epochs = pf_opts_float(&r->opts, "nuql_quant_epochs"),
        .lrn_rate_dcy = pf_opts_float(&r->opts, "nuql_lrn_rate_dcy"),
        .cb_init = !strcmp(init, "kmeans")    ? PF_CB_KMEANS
                   : !strcmp(init, "uniform") ? PF_CB_UNIFORM
                                              : PF_CB_QUANTILE,
        .cb_opt = !strcmp(opt, "cluster") ? PF_CB_OPT_CLUSTER
                  : !strcmp(opt, "both")  ? PF_CB_OPT_BOTH
                                          : PF_CB_OPT_WEIGHTS,
        .prefix = "nuql_",
        .phase = "non-uniform quantized fine-tune",
    };
    return pf_quant_ft_learn(r, &c);
}

const struct pf_learner_ops pf_learner_non_uniform = {
    .name = "non-uniform",
    .summary = "codebook quantization: 2^b centroids per layer (quantiles or k-means), fine-tuned",
    .prefix = "nuql_",
    .opts = nuql_opts,
    .train = nuql_train,
    .rl = true,
};

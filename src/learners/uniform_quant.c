/* uniform_quant.c: `uniform`, PocketFlow's UniformQuantLearner
 * (learners/uniform_quantization/learner.py, utils.py): min-max uniform quantization of the
 * conv2d / dense weights to uql_weight_bits (per tensor, or per bucket: one per output channel,
 * or PocketFlow's strided `split` buckets of uql_bucket_size; qtensor.h documents the layouts),
 * with straight-through-estimator fine-tuning: the forward pass sees the quantized weights, the
 * optimizer updates float master weights with the gradient taken at the quantized ones.
 * Activations (outputs of layers with a ReLU / ReLU6, fused or not) are quantized to
 * uql_activation_bits when below 32. The first and last weight layers stay float unless
 * uql_quantize_all_layers. Per-layer bits come from the run's plan when it sets any.
 * The result stores packed b-bit indices with per-bucket scale and offset (/quant in the model
 * file), so the saved model is really smaller.
 * Differences from PocketFlow: activation ranges are moving averages frozen for evaluation
 * (PocketFlow used each batch's min / max, also at evaluation, so results depended on the
 * batch); fine-tuning starts from the trained model (PocketFlow needed --enbl_warm_start);
 * Adam's rate is the run's schedule x uql_lrn_rate_dcy; uql_weight_range=mse clips each
 * bucket's range to the least-squared-error factor of its min-max range (pf_quant_uniform_mse;
 * PocketFlow had min-max only, which spends few levels on most weights of a large tensor). */
#include <stdlib.h>
#include <string.h>

#include "engine/core/pf_alloc.h"
#include "engine/core/pf_status.h"
#include "engine/model/plan.h"
#include "learners/common/compress.h"
#include "learners/common/quant.h"
#include "learners/common/quant_ft.h"
#include "learners/common/rlsearch.h"
#include "learners/learner.h"

static const struct pf_opt_spec uql_opts[] = {
    {"uql_weight_bits", PF_OPT_INT, "4", 1, 32, NULL, "bits per weight (32 = float)"},
    {"uql_activation_bits", PF_OPT_INT, "32", 1, 32, NULL,
     "bits per activation after ReLU layers (32 = float)"},
    {"uql_use_buckets", PF_OPT_BOOL, "False", 0, 0, NULL,
     "quantize per bucket (uql_bucket_type) instead of per tensor"},
    {"uql_bucket_type", PF_OPT_ENUM, "channel", 0, 0, "channel|split",
     "buckets: one per output channel, or strided splits of uql_bucket_size"},
    {"uql_bucket_size", PF_OPT_INT, "256", 1, 1 << 30, NULL, "weights per `split` bucket"},
    {"uql_weight_range", PF_OPT_ENUM, "minmax", 0, 0, "minmax|mse",
     "range per bucket: min to max (PocketFlow), or min-max scaled by the factor in 1..0.2 "
     "with the least squared error (outliers clipped)"},
    {"uql_quant_epochs", PF_OPT_FLOAT, "60", 0, 1000, NULL,
     "epochs of quantized fine-tuning (times nb_epochs_rat)"},
    {"uql_quantize_all_layers", PF_OPT_BOOL, "False", 0, 0, NULL,
     "also quantize the first and last weight layers (kept float by default)"},
    {"uql_lrn_rate_dcy", PF_OPT_FLOAT, "0.01", 1e-6, 10, NULL,
     "Adam's rate = the run's schedule (lrn_rate_init ...) x this"},
    PF_RL_BITS_OPTS("uql_", "2000"),
    {NULL, 0, NULL, 0, 0, NULL, NULL},
};

static int uql_train(struct pf_run *r)
{
    struct pf_quant_ft_cfg c = {
        .mode = PF_QMODE_UNIFORM,
        .w_bits = (int)pf_opts_int(&r->opts, "uql_weight_bits"),
        .a_bits = (int)pf_opts_int(&r->opts, "uql_activation_bits"),
        .use_buckets = pf_opts_bool(&r->opts, "uql_use_buckets"),
        .bucket_type = pf_opts_str(&r->opts, "uql_bucket_type"),
        .bucket_size = (int)pf_opts_int(&r->opts, "uql_bucket_size"),
        .quantize_all = pf_opts_bool(&r->opts, "uql_quantize_all_layers"),
        .range_mse = !strcmp(pf_opts_str(&r->opts, "uql_weight_range"), "mse"),
        .epochs = pf_opts_float(&r->opts, "uql_quant_epochs"),
        .lrn_rate_dcy = pf_opts_float(&r->opts, "uql_lrn_rate_dcy"),
        .prefix = "uql_",
        .phase = "uniform quantized fine-tune",
    };
    return pf_quant_ft_learn(r, &c);
}

const struct pf_learner_ops pf_learner_uniform = {
    .name = "uniform",
    .summary = "min-max uniform quantization of weights (and activations), STE fine-tuning",
    .prefix = "uql_",
    .opts = uql_opts,
    .train = uql_train,
    .rl = true,
};

/* full_prec.c: `full-prec`, PocketFlow's FullPrecLearner (learners/full_precision): trains or
 * fine-tunes the model in full precision with the run's schedule. Also the baseline every
 * compressed model is compared with. */
#include "learners/learner.h"

static const struct pf_opt_spec full_prec_opts[] = {
    {NULL, 0, NULL, 0, 0, NULL, NULL},
};

static int full_prec_train(struct pf_run *r)
{
    return pf_run_finetune(r, "full-prec training");
}

const struct pf_learner_ops pf_learner_full_prec = {
    .name = "full-prec",
    .summary = "train or fine-tune in full precision (the uncompressed baseline)",
    .prefix = "",
    .opts = full_prec_opts,
    .train = full_prec_train,
};

/* registry.c: every learner, by PocketFlow's --learner name.
 * To add a learner: write src/learners/<name>.c defining `const struct pf_learner_ops
 * pf_learner_<name>` (with its option table), add one extern and one row below, add
 * tests/check_learner_<name>.c (an invariant on a small model) and a preset in presets/. */
#include <string.h>

#include "engine/core/pf_status.h"
#include "learners/learner.h"

extern const struct pf_learner_ops pf_learner_full_prec;
extern const struct pf_learner_ops pf_learner_channel;
extern const struct pf_learner_ops pf_learner_chn_pruned_gpu;
extern const struct pf_learner_ops pf_learner_chn_pruned_rmt;
extern const struct pf_learner_ops pf_learner_dis_chn_pruned;
extern const struct pf_learner_ops pf_learner_weight_sparse;
extern const struct pf_learner_ops pf_learner_uniform;
extern const struct pf_learner_ops pf_learner_non_uniform;
extern const struct pf_learner_ops pf_learner_uniform_tf;

const struct pf_learner_ops *const pf_learners[] = {
    &pf_learner_full_prec,      /* full_prec.c */
    &pf_learner_channel,        /* channel_pruning.c */
    &pf_learner_chn_pruned_gpu, /* chn_pruned_gpu.c */
    &pf_learner_chn_pruned_rmt, /* chn_pruned_rmt.c */
    &pf_learner_dis_chn_pruned, /* dis_chn_pruned.c */
    &pf_learner_weight_sparse,  /* weight_sparse.c */
    &pf_learner_uniform,        /* uniform_quant.c */
    &pf_learner_uniform_tf,     /* uniform_quant_tf.c */
    &pf_learner_non_uniform,    /* nonuniform_quant.c */
    NULL,
};
const size_t pf_learners_len = PF_ARRAY_LEN(pf_learners) - 1;

const struct pf_learner_ops *pf_learner_find(const char *name)
{
    for (size_t i = 0; i < pf_learners_len; i++)
        if (!strcmp(pf_learners[i]->name, name))
            return pf_learners[i];
    return NULL;
}

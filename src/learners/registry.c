/* registry.c: every learner, by PocketFlow's --learner name.
 * To add a learner: write src/learners/<name>.c defining `const struct pf_learner_ops
 * pf_learner_<name>` (with its option table), add one extern and one row below, add
 * tests/check_learner_<name>.c (an invariant on a small model) and a preset in presets/. */
#include <string.h>

#include "engine/core/pf_status.h"
#include "learners/learner.h"

extern const struct pf_learner_ops pf_learner_full_prec;

const struct pf_learner_ops *const pf_learners[] = {
    &pf_learner_full_prec,
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

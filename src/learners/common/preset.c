/* preset.c: preset files (presets/<name>.yaml): load and validate against the option tables. */
#include <string.h>

#include "engine/core/pf_status.h"
#include "learners/learner.h"

void pf_preset_free(struct pf_preset *p)
{
    pf_cfg_free(p->cfg);
    memset(p, 0, sizeof *p);
}

int pf_preset_load(const char *path, struct pf_preset *p)
{
    static const char *const keys[] = {"model", "data", "learner", "out", "options", NULL};
    struct pf_opts o = {0};
    memset(p, 0, sizeof *p);
    int rc = pf_cfg_load(path, &p->cfg);
    if (rc < 0)
        return rc;
    if ((rc = pf_cfg_check_keys(p->cfg, keys, "preset")) < 0 ||
        (rc = pf_cfg_str(p->cfg, "model", "model", &p->model)) < 0 ||
        (rc = pf_cfg_str(p->cfg, "data", "data", &p->data)) < 0 ||
        (rc = pf_cfg_str(p->cfg, "out", "out", &p->out)) < 0 ||
        (rc = pf_cfg_str(p->cfg, "learner", "learner", &p->learner)) < 0)
        goto fail;
    if (!p->learner)
        p->learner = "full-prec";
    const struct pf_learner_ops *ops = pf_learner_find(p->learner);
    if (!ops) {
        rc = pf_cfg_err(pf_cfg_get(p->cfg, "learner"), "unknown learner '%s'", p->learner);
        goto fail;
    }
    p->options = pf_cfg_get(p->cfg, "options");
    if ((rc = pf_learner_opts_init(&o, ops)) < 0)
        goto fail;
    if (p->options && (rc = pf_opts_set_cfg(&o, p->options, ops->prefix)) < 0)
        goto fail;
    pf_opts_deinit(&o);
    return 0;
fail:
    pf_opts_deinit(&o);
    pf_preset_free(p);
    return rc;
}

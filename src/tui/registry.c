/* registry.c: every screen of the workbench.
 * To add a screen: write src/tui/screens/<name>.c defining `const struct pf_screen_ops
 * pf_screen_<name>` (with its key table), declare it in screen.h, add one row below, and add
 * tests/check_tui_<name>.c driving its key() without a terminal. Screens with a `tab` key appear
 * in the tab bar in this order. */
#include <string.h>

#include "engine/core/pf_status.h"
#include "tui/screen.h"

const struct pf_screen_ops *const pf_screens[] = {
    &pf_screen_model,       /* 1: layer table and plan */
    &pf_screen_learner,     /* 2: learner and options */
    &pf_screen_monitor,     /* 3: the live run */
    &pf_screen_runs,        /* 4: past runs, Pareto chart */
    &pf_screen_sensitivity, /* 5: pruning sensitivity heatmap */
    &pf_screen_rl,          /* 6: the RL search (R on the model screen starts one) */
    &pf_screen_help,        /* modal */
    &pf_screen_layer,       /* modal */
    &pf_screen_prompt,      /* modal */
    &pf_screen_compare,     /* modal */
};
const size_t pf_screens_len = PF_ARRAY_LEN(pf_screens);

const struct pf_screen_ops *pf_screen_find(const char *name)
{
    for (size_t i = 0; i < pf_screens_len; i++)
        if (!strcmp(pf_screens[i]->name, name))
            return pf_screens[i];
    return NULL;
}

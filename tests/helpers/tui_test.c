/* tui_test.c: see tui_test.h. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/core/pf_status.h"
#include "helpers/tui_test.h"

struct pf_app *pf_tui_test_app(void)
{
    char tmpl[] = "/tmp/pf-tui-test-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(tmpl));
    struct pf_app *app = calloc(1, sizeof *app);
    ck_assert_ptr_nonnull(app);
    char runs[1100];
    snprintf(runs, sizeof runs, "%s/runs", tmpl);
    int rc = pf_app_init(app, PF_TUI_TEST_NET, runs);
    ck_assert_msg(rc == 0, "pf_app_init: %s", pf_err_msg());
    return app;
}

void pf_tui_test_free(struct pf_app *app)
{
    char root[1100];
    snprintf(root, sizeof root, "%s", app->runs_root);
    pf_app_deinit(app);
    free(app);
    char *slash = strrchr(root, '/');
    if (slash && !strncmp(root, "/tmp/pf-tui-test-", 17)) {
        *slash = 0;
        char cmd[1200];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", root);
    }
}

void pf_tui_test_key(struct pf_app *app, int ch)
{
    pf_app_key(app, ch);
    pf_app_tick(app);
}

void pf_tui_test_type(struct pf_app *app, const char *keys)
{
    for (const char *k = keys; *k; k++)
        pf_tui_test_key(app, (unsigned char)*k);
}

void *pf_tui_test_top(struct pf_app *app, const struct pf_screen_ops *ops)
{
    ck_assert_int_gt(app->depth, 0);
    ck_assert_str_eq(pf_app_top(app)->ops->name, ops->name);
    return pf_app_top(app)->state;
}

int pf_tui_test_opt(const struct pf_app *app, const char *key)
{
    int i = -1;
    ck_assert_msg(pf_opts_find(&app->opts, key, &i) != NULL, "no option %s", key);
    return i;
}

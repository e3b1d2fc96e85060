/* check_presets.c: every file in presets/ parses and validates against its learner's option
 * table; broken presets fail with the file and position. */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/core/pf_status.h"
#include "learners/learner.h"

START_TEST(test_all_presets_valid)
{
    DIR *d = opendir("presets");
    ck_assert_ptr_nonnull(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 6 || strcmp(e->d_name + len - 5, ".yaml"))
            continue;
        char path[512];
        snprintf(path, sizeof path, "presets/%s", e->d_name);
        struct pf_preset p;
        ck_assert_msg(pf_preset_load(path, &p) == 0, "%s", pf_err_msg());
        ck_assert_ptr_nonnull(p.model);
        pf_preset_free(&p);
        n++;
    }
    closedir(d);
    ck_assert_int_ge(n, 1);
}
END_TEST

static int load_text(const char *text, struct pf_preset *p)
{
    char path[] = "/tmp/pf_preset_XXXXXX.yaml";
    int fd = mkstemps(path, 5);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    int rc = pf_preset_load(path, p);
    unlink(path);
    return rc;
}

START_TEST(test_bad_presets)
{
    struct pf_preset p;
    ck_assert_int_lt(load_text("model: m.h5\nlearner: nope\n", &p), 0);
    ck_assert_ptr_nonnull(strstr(pf_err_msg(), ":2:10: unknown learner 'nope'"));
    ck_assert_int_lt(load_text("model: m.h5\nmodle: x\n", &p), 0);
    ck_assert_ptr_nonnull(strstr(pf_err_msg(), "unknown key 'modle'"));
    ck_assert_int_lt(load_text("model: m.h5\noptions:\n  nb_epochs_rat: 0\n", &p), 0);
    ck_assert_ptr_nonnull(strstr(pf_err_msg(), ":3:18: nb_epochs_rat = 0 is outside"));
    ck_assert_int_lt(load_text("model: m.h5\noptions:\n  no_such_option: 1\n", &p), 0);
    ck_assert_ptr_nonnull(strstr(pf_err_msg(), "unknown option 'no_such_option'"));
}
END_TEST

Suite *presets_suite(void);
Suite *presets_suite(void)
{
    Suite *s = suite_create("presets");
    TCase *tc = tcase_create("presets");
    tcase_add_test(tc, test_all_presets_valid);
    tcase_add_test(tc, test_bad_presets);
    suite_add_tcase(s, tc);
    return s;
}

/* cmd_run.c: `pocketflow run`: one learner on one model, PocketFlow style.
 *   pocketflow run --model m.h5 --data fmnist --learner=full-prec --nb_epochs_rat=0.1 --out o.h5
 * Options come from a preset YAML (--preset) and then from flags, which override it. Learner
 * and schedule flags are not listed here: they are the rows of pf_run_common_opts and of the
 * learner's own table, so `run --help --learner=X` prints exactly what X accepts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cmd.h"
#include "engine/backend/backend.h"
#include "engine/core/pf_cfg.h"
#include "engine/core/pf_status.h"
#include "learners/common/ddpg.h"
#include "learners/learner.h"

#define DEFAULT_RUNS "runs"

struct run_args {
    const char *model, *data, *learner, *preset, *out, *runs, *device;
    int threads;
    bool json, help, no_dir;
};

static void print_table(const struct pf_opt_spec *t)
{
    for (; t && t->key; t++) {
        char range[64] = "";
        if (t->type == PF_OPT_INT || t->type == PF_OPT_FLOAT)
            snprintf(range, sizeof range, " [%g..%g]", t->min, t->max);
        else if (t->type == PF_OPT_ENUM)
            snprintf(range, sizeof range, " [%s]", t->choices);
        printf("  --%-24s %s (default %s)%s\n", t->key, t->help, t->def, range);
    }
}

static void run_help(const char *learner)
{
    printf("usage: pocketflow run [--preset P.yaml] [--model M.h5] [--data D] [--learner L]\n"
           "                      [--LEARNER_OPTION=V ...] [--out O.h5] [--runs DIR] [--json]\n\n"
           "Runs one learner on a model and writes the result model and a run directory\n"
           "(manifest.yaml, metrics.csv, log.txt, model.h5) under --runs (default $PF_RUNS_DIR\n"
           "or ./runs). Flags override the preset.\n\n"
           "options:\n"
           "  --model M          model file or netdef (default %s)\n"
           "  --data D           dataset: fmnist, fmnist:DIR, mnist:DIR, cifar10:DIR, synthetic\n"
           "  --learner L        learner (default full-prec)\n"
           "  --preset P.yaml    keys: model, data, learner, out, options {name: value}\n"
           "  --out O.h5         also write the result here\n"
           "  --runs DIR         where run directories go; --no_run_dir writes none\n"
           "  --threads N        threads (default 2); --device cpu|cpu_ref; --json; --help\n\n"
           "schedule options (every learner):\n",
           PF_DEFAULT_MODEL);
    print_table(pf_run_common_opts);
    for (size_t i = 0; i < pf_learners_len; i++) {
        const struct pf_learner_ops *l = pf_learners[i];
        if (learner && strcmp(learner, l->name))
            continue;
        printf("\nlearner %s: %s\n", l->name, l->summary);
        if (learner)
            print_table(l->opts);
        if (learner && l->rl) {
            printf("\nRL agent and search options (its per-layer search):\n");
            print_table(pf_ddpg_opts);
        }
    }
    if (!learner)
        printf("\n'pocketflow run --help --learner NAME' lists a learner's own options.\n");
}

static void cli_event(const struct pf_event *e, void *user)
{
    const struct run_args *a = user;
    if (a->json && e->kind != PF_EV_FAILED)
        return;
    switch (e->kind) {
    case PF_EV_LOG:
        fprintf(stderr, "%s\n", e->text);
        break;
    case PF_EV_LAYER_DONE:
        fprintf(stderr, "%s: %s\n", e->name, e->text);
        break;
    case PF_EV_PROGRESS:
        fprintf(stderr, "%s: step %ld, %.1f%%\n", e->text, e->step, 100.0 * e->value);
        break;
    case PF_EV_METRIC:
        if (!strcmp(e->name, "loss") || !strcmp(e->name, "train_acc") ||
            !strcmp(e->name, "test_acc"))
            fprintf(stderr, "  step %6ld  %-10s %.4f\n", e->step, e->name, e->value);
        break;
    case PF_EV_FINISHED:
    case PF_EV_FAILED:
        fprintf(stderr, "%s\n", e->text);
        break;
    }
}

/* Takes the next value of --key V or --key=V. */
static const char *take(int argc, char **argv, int *i, const char *eq)
{
    if (eq)
        return eq + 1;
    return *i + 1 < argc ? argv[++*i] : NULL;
}

int pf_cli_run(int argc, char **argv)
{
    struct run_args a = {.data = NULL, .learner = NULL, .threads = 2, .device = "cpu"};
    struct pf_preset preset = {0};
    struct pf_run *r = NULL;
    int rc = 0;
    const char *env_runs = getenv("PF_RUNS_DIR");
    a.runs = env_runs && env_runs[0] ? env_runs : DEFAULT_RUNS;
    /* pass 1: our own flags; learner flags are applied after the run exists */
    for (int i = 0; i < argc; i++) {
        const char *s = argv[i];
        if (strncmp(s, "--", 2))
            return PF_ERR(PF_EINVAL, "run: unexpected argument '%s' (flags are --name=value)", s);
        const char *eq = strchr(s, '=');
        size_t kl = eq ? (size_t)(eq - s - 2) : strlen(s + 2);
        char key[96];
        snprintf(key, sizeof key, "%.*s", (int)(kl < sizeof key ? kl : sizeof key - 1), s + 2);
        const char **slot = !strcmp(key, "model")     ? &a.model
                            : !strcmp(key, "data")    ? &a.data
                            : !strcmp(key, "learner") ? &a.learner
                            : !strcmp(key, "preset")  ? &a.preset
                            : !strcmp(key, "out")     ? &a.out
                            : !strcmp(key, "runs")    ? &a.runs
                            : !strcmp(key, "device")  ? &a.device
                                                      : NULL;
        if (slot) {
            if (!(*slot = take(argc, argv, &i, eq)))
                return PF_ERR(PF_EINVAL, "run: --%s needs a value", key);
        } else if (!strcmp(key, "threads")) {
            const char *v = take(argc, argv, &i, eq);
            char *end;
            long t = v ? strtol(v, &end, 10) : 0;
            if (!v || *end || t < 1 || t > 1024)
                return PF_ERR(PF_EINVAL, "run: --threads must be 1..1024, got '%s'", v ? v : "");
            a.threads = (int)t;
        } else if (!strcmp(key, "json") || !strcmp(key, "help") || !strcmp(key, "no_run_dir")) {
            if (eq)
                return PF_ERR(PF_EINVAL, "run: --%s takes no value", key);
            if (key[0] == 'j')
                a.json = true;
            else if (key[0] == 'h')
                a.help = true;
            else
                a.no_dir = true;
        } else if (!eq) {
            i++; /* a learner option given as --key value: skip its value in this pass */
        }
    }
    if (a.help) {
        run_help(a.learner);
        return 0;
    }
    if ((rc = pf_backend_select(a.device)) < 0)
        return rc;
    pf_backend_set_threads(a.threads);
    if (a.preset) {
        if ((rc = pf_preset_load(a.preset, &preset)) < 0)
            return rc;
        a.model = a.model ? a.model : preset.model;
        a.data = a.data ? a.data : preset.data;
        a.learner = a.learner ? a.learner : preset.learner;
        a.out = a.out ? a.out : preset.out;
    }
    if (!a.model)
        a.model = PF_DEFAULT_MODEL;
    if (!a.data)
        a.data = "fmnist";
    if (!a.learner)
        a.learner = "full-prec";
    if ((rc = pf_run_new(&r, a.learner, a.model, a.data)) < 0)
        goto done;
    if (preset.options && !strcmp(r->learner->name, preset.learner) &&
        (rc = pf_opts_set_cfg(&r->opts, preset.options, r->learner->prefix)) < 0)
        goto done;
    /* pass 2: learner and schedule flags */
    for (int i = 0; i < argc; i++) {
        const char *s = argv[i], *eq = strchr(s, '=');
        size_t kl = eq ? (size_t)(eq - s - 2) : strlen(s + 2);
        char key[96];
        snprintf(key, sizeof key, "%.*s", (int)(kl < sizeof key ? kl : sizeof key - 1), s + 2);
        static const char *const own[] = {"model", "data", "learner", "preset",
                                          "out",   "runs", "device",  "threads"};
        bool mine = false;
        for (size_t k = 0; k < PF_ARRAY_LEN(own); k++)
            mine |= !strcmp(key, own[k]);
        if (!strcmp(key, "json") || !strcmp(key, "help") || !strcmp(key, "no_run_dir"))
            continue;
        if (mine) {
            if (!eq)
                i++;
            continue;
        }
        const char *v = take(argc, argv, &i, eq);
        char where[128];
        snprintf(where, sizeof where, "--%s", key);
        if (!pf_opts_find(&r->opts, key, NULL)) {
            rc = PF_ERR(PF_EINVAL,
                        "run: unknown option --%s for learner %s (see pocketflow run "
                        "--help --learner=%s)",
                        key, r->learner->name, r->learner->name);
            goto done;
        }
        if (!v) {
            rc = PF_ERR(PF_EINVAL, "run: --%s needs a value", key);
            goto done;
        }
        if ((rc = pf_opts_set(&r->opts, key, v, where)) < 0)
            goto done;
    }
    if (a.out)
        snprintf(r->out_path, sizeof r->out_path, "%s", a.out);
    if (!a.no_dir && (rc = pf_run_open_dir(r, a.runs)) < 0)
        goto done;
    r->on_event = cli_event;
    r->user = &a;
    rc = pf_run_exec(r);
    if (a.json && (rc == 0 || rc == -PF_ECANCELLED)) {
        printf("{\"learner\": \"%s\", \"status\": \"%s\", \"test_accuracy\": %.6f, "
               "\"run_dir\": ",
               r->learner->name, rc == 0 ? "finished" : "cancelled", r->final_accuracy);
        pf_cli_json_str(r->dir);
        printf(", \"out\": ");
        pf_cli_json_str(r->out_path);
        printf("}\n");
    }
done:
    pf_run_free(r);
    pf_preset_free(&preset);
    return rc;
}

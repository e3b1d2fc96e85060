/* main.c: the pocketflow command line. Parses argv into one subcommand (train, eval, info,
 * bench), runs it on the engine, prints results on stdout and errors on stderr. The only place
 * that exits. Every option is one row of its subcommand's table, which also prints --help. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/cmd.h"
#include "tui/tui.h"
#include "engine/backend/backend.h"
#include "engine/core/pf_status.h"
#include "engine/io/dataset.h"
#include "engine/io/model_h5.h"
#include "engine/model/graph.h"
#include "engine/model/infer.h"
#include "engine/model/int8.h"
#include "engine/model/train.h"
#include "engine/core/pf_alloc.h"
#include "engine/core/pf_time.h"
#include "engine/layers/softmax_xent.h"

#define PF_VERSION "0.1.0"

static char cmdline[2048]; /* the command as typed, recorded in model files */

/* ---- option tables (struct opt, struct cmd: cli/cmd.h) ---- */

static struct opt train_opts[] = {
    {"net", OPT_STR, NULL, "netdef YAML to train from scratch (or --init MODEL.h5)", NULL},
    {"init", OPT_STR, NULL, "model file to continue training from", NULL},
    {"data", OPT_STR, "fmnist", "dataset: fmnist, fmnist:DIR, mnist:DIR, cifar10:DIR, synthetic",
     NULL},
    {"epochs", OPT_FLOAT, "10", "training epochs", NULL},
    {"nb_epochs_rat", OPT_FLOAT, "1", "PocketFlow's scale on epochs and decay boundaries", NULL},
    {"batch", OPT_INT, "128", "mini-batch size", NULL},
    {"optimizer", OPT_STR, "sgd", "sgd (momentum) or adam", NULL},
    {"lr", OPT_FLOAT, "0.1", "lrn_rate_init: lr0 = lr x batch / 128 (adam: lr as given)", NULL},
    {"momentum", OPT_FLOAT, "0.9", "SGD momentum", NULL},
    {"wd", OPT_FLOAT, "3e-4", "weight decay on conv and dense weights (BN and biases excluded)",
     NULL},
    {"schedule", OPT_STR, "piecewise", "piecewise (x0.1 at 50% and 75%), cosine, constant", NULL},
    {"no_augment", OPT_FLAG, NULL, "no pad-4 random crop and flip", NULL},
    {"val", OPT_INT, "5000", "training images kept out for validation (PocketFlow: 5000)", NULL},
    {"out", OPT_STR, "model.h5", "where to write the trained model", NULL},
    {"json", OPT_FLAG, NULL, "print the result as one JSON object", NULL},
    COMMON_OPTS,
    {NULL, 0, NULL, NULL, NULL},
};

static struct opt eval_opts[] = {
    {"data", OPT_STR, NULL, "dataset (default: the one recorded in the model file)", NULL},
    {"split", OPT_STR, "test", "test, val (the 5000 held-out training images) or train", NULL},
    {"batch", OPT_INT, "100", "evaluation batch size", NULL},
    {"engine", OPT_STR, "auto",
     "the network that runs the model: int8 (the integer network of a uniform-tf model), infer "
     "(the float inference network: batch norm folded, blocked layout), graph (the training "
     "graph, which also simulates quantization); auto: int8 for a model with quantized "
     "activations, else infer, else graph",
     NULL},
    {"against", OPT_STR, NULL,
     "a second model (B.h5) on the same images: both accuracies, the images they classify "
     "differently, and a sign test of whether the difference is more than chance",
     NULL},
    {"json", OPT_FLAG, NULL,
     "print one JSON object: accuracy, loss, samples, engine (with --against: against {...}, "
     "differ, won, lost, sign_test_p)",
     NULL},
    COMMON_OPTS,
    {NULL, 0, NULL, NULL, NULL},
};

static struct opt bench_opts[] = {
    {"net", OPT_STR, "convnet_fmnist", "built-in net (assets/nets/NAME.yaml) or a netdef path",
     NULL},
    {"batch", OPT_INT, "128", "batch size for training and inference throughput", NULL},
    {"steps", OPT_INT, "50", "timed training steps (median reported)", NULL},
    {"warmup", OPT_INT, "5", "untimed steps first", NULL},
    {"json", OPT_FLAG, NULL, "print one JSON object (the fields of shared/bench/torch_ref.py)",
     NULL},
    {"layers", OPT_STR, NULL, "MODEL|NETDEF: per-layer forward times, MACs, GFLOP/s instead", NULL},
    {"plan", OPT_STR, NULL,
     "with --layers: also time the model shrunk by this plan (each network; a quantized model "
     "keeps its quantized weights), and, when it keeps channel counts between 16-channel "
     "blocks, the same plan rounded to whole blocks (round_to 16)",
     NULL},
    {"input", OPT_STR, NULL, "with --layers: input size CxHxW instead of the model's", NULL},
    COMMON_OPTS,
    {NULL, 0, NULL, NULL, NULL},
};

static struct opt *opt_find(struct opt *o, const char *name)
{
    for (; o->name; o++)
        if (!strcmp(o->name, name))
            return o;
    return NULL;
}

const char *pf_cli_opt_str(struct cmd *c, const char *name)
{
    struct opt *o = opt_find(c->opts, name);
    return o->val ? o->val : o->def;
}

bool pf_cli_opt_set(struct cmd *c, const char *name)
{
    return opt_find(c->opts, name)->val != NULL;
}

void pf_cli_json_str(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            printf("\\%c", ch);
        else if (ch < 0x20)
            printf("\\u%04x", ch);
        else
            putchar(ch);
    }
    putchar('"');
}

/* Values were validated by parse_args, so these conversions cannot fail. */
long pf_cli_opt_int(struct cmd *c, const char *name)
{
    const char *s = pf_cli_opt_str(c, name);
    return s ? strtol(s, NULL, 10) : 0;
}

double pf_cli_opt_float(struct cmd *c, const char *name)
{
    const char *s = pf_cli_opt_str(c, name);
    return s ? strtod(s, NULL) : 0.0;
}

static void print_help(const struct cmd *c)
{
    printf("usage: pocketflow %s %s[options]\n\n%s\n\noptions:\n", c->name, c->usage, c->summary);
    for (const struct opt *o = c->opts; o->name; o++) {
        char left[48];
        snprintf(left, sizeof left, "--%s%s", o->name,
                 o->type == OPT_FLAG  ? ""
                 : o->type == OPT_STR ? " S"
                                      : " N");
        printf("  %-22s %s%s%s%s\n", left, o->help, o->def ? " (default " : "",
               o->def ? o->def : "", o->def ? ")" : "");
    }
}

/* Parses --key value / --key=value / flags; one positional allowed when usage names one. */
static int parse_args(struct cmd *c, int argc, char **argv, const char **pos)
{
    *pos = NULL;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0) {
            if (*pos || !c->usage[0])
                return PF_ERR(PF_EINVAL, "%s: unexpected argument '%s' (see pocketflow %s --help)",
                              c->name, a, c->name);
            *pos = a;
            continue;
        }
        char key[64];
        const char *eq = strchr(a + 2, '=');
        size_t kl = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
        if (kl >= sizeof key)
            kl = sizeof key - 1;
        memcpy(key, a + 2, kl);
        key[kl] = 0;
        for (char *p = key; *p; p++)
            if (*p == '-')
                *p = '_';
        struct opt *o = opt_find(c->opts, key);
        if (!o)
            return PF_ERR(PF_EINVAL, "%s: unknown option --%s (see pocketflow %s --help)", c->name,
                          key, c->name);
        const char *v;
        if (o->type == OPT_FLAG) {
            if (eq)
                return PF_ERR(PF_EINVAL, "%s: --%s takes no value", c->name, key);
            v = "1";
        } else if (eq) {
            v = eq + 1;
        } else if (i + 1 < argc) {
            v = argv[++i];
        } else {
            return PF_ERR(PF_EINVAL, "%s: --%s needs a value", c->name, key);
        }
        char *end;
        errno = 0;
        if (o->type == OPT_INT) {
            long x = strtol(v, &end, 10);
            if (errno || end == v || *end || x < 0 || x > INT_MAX)
                return PF_ERR(PF_EINVAL, "%s: --%s wants a non-negative integer, got '%s'", c->name,
                              key, v);
        } else if (o->type == OPT_FLOAT) {
            double x = strtod(v, &end);
            if (errno || end == v || *end || !(x >= 0.0) || x > 1e9)
                return PF_ERR(PF_EINVAL, "%s: --%s wants a non-negative number, got '%s'", c->name,
                              key, v);
        }
        o->val = v;
    }
    if (pf_cli_opt_set(c, "help"))
        return 0;
    long threads = pf_cli_opt_int(c, "threads");
    if (threads < 1 || threads > 1024)
        return PF_ERR(PF_EINVAL, "--threads must be 1..1024, got %ld", threads);
    int rc = pf_backend_select(pf_cli_opt_str(c, "device"));
    if (rc < 0)
        return rc;
    pf_backend_set_threads((int)threads);
    return 0;
}

/* ---- helpers ---- */

static bool ends_with(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && !strcmp(s + a - b, suf);
}

/* A model from a .h5 file, or a fresh one (zero params) from a netdef YAML. */
int pf_cli_load_any(const char *path, struct pf_model **m, char *dataset, size_t dlen)
{
    if (dataset && dlen)
        dataset[0] = 0;
    if (ends_with(path, ".yaml") || ends_with(path, ".yml"))
        return pf_model_from_file(path, m);
    return pf_model_load(path, m, dataset, dlen);
}

/* ---- train ---- */

struct train_log {
    bool quiet;
};

static int train_progress(const struct pf_train_progress *p, void *user)
{
    struct train_log *t = user;
    if (t->quiet)
        return 0;
    double eta = p->step ? p->elapsed_s / p->step * (p->total - p->step) : 0.0;
    fprintf(stderr,
            "step %6ld/%ld  epoch %5.2f  lr %.4g  loss %.4f  acc %.4f  %6.0f img/s  eta %.0fs\n",
            p->step, p->total, p->epoch, (double)p->lr, (double)p->loss, (double)p->acc,
            p->img_per_s, eta);
    return 0;
}

static int cmd_train(struct cmd *c, const char *pos)
{
    (void)pos;
    struct pf_model *m = NULL;
    struct pf_dataset *train = NULL, *test = NULL;
    uint32_t *tr_idx = NULL, *val_idx = NULL, n_tr = 0, n_val = 0;
    int rc;
    const char *net = pf_cli_opt_str(c, "net"), *init = pf_cli_opt_str(c, "init"),
               *data = pf_cli_opt_str(c, "data");
    if (!net == !init)
        return PF_ERR(PF_EINVAL, "train: give exactly one of --net NETDEF.yaml or --init MODEL.h5");
    struct pf_train_cfg cfg;
    pf_train_cfg_default(&cfg, pf_cli_opt_float(c, "epochs"));
    cfg.nb_epochs_rat = pf_cli_opt_float(c, "nb_epochs_rat");
    cfg.batch = (int)pf_cli_opt_int(c, "batch");
    cfg.sched.lrn_rate_init = pf_cli_opt_float(c, "lr");
    cfg.optim.momentum = pf_cli_opt_float(c, "momentum");
    cfg.optim.weight_decay = pf_cli_opt_float(c, "wd");
    cfg.augment = !pf_cli_opt_set(c, "no_augment");
    cfg.seed = (uint64_t)pf_cli_opt_int(c, "seed");
    const char *optim = pf_cli_opt_str(c, "optimizer"), *sched = pf_cli_opt_str(c, "schedule");
    if (!strcmp(optim, "adam")) {
        cfg.optim.kind = PF_OPTIM_ADAM;
        cfg.sched.batch_size_norm = cfg.batch;
        if (!pf_cli_opt_set(c, "lr"))
            cfg.sched.lrn_rate_init = 1e-3;
    } else if (strcmp(optim, "sgd")) {
        return PF_ERR(PF_EINVAL, "train: --optimizer must be sgd or adam, got '%s'", optim);
    }
    if (!strcmp(sched, "cosine"))
        cfg.sched.kind = PF_LR_COSINE;
    else if (!strcmp(sched, "constant"))
        cfg.sched.kind = PF_LR_CONSTANT;
    else if (strcmp(sched, "piecewise"))
        return PF_ERR(PF_EINVAL,
                      "train: --schedule must be piecewise, cosine or constant, got '%s'", sched);
    if (cfg.batch < 1)
        return PF_ERR(PF_EINVAL, "train: --batch must be at least 1");
    if (cfg.epochs <= 0 || cfg.nb_epochs_rat <= 0)
        return PF_ERR(PF_EINVAL, "train: --epochs and --nb_epochs_rat must be positive");

    if (net) {
        if ((rc = pf_model_from_file(net, &m)) < 0)
            goto done;
        pf_model_init_params(m, cfg.seed);
    } else if ((rc = pf_model_load(init, &m, NULL, 0)) < 0) {
        goto done;
    }
    if ((rc = pf_dataset_load(data, PF_SPLIT_TRAIN, &train)) < 0 ||
        (rc = pf_dataset_load(data, PF_SPLIT_TEST, &test)) < 0)
        goto done;
    int val = (int)pf_cli_opt_int(c, "val");
    if ((rc = pf_dataset_split(train, val, &tr_idx, &n_tr, &val_idx, &n_val)) < 0)
        goto done;
    fprintf(stderr, "training %s on %s: %u images (%u kept for validation), %ld steps of %d\n",
            m->name, train->name, n_tr, n_val, pf_train_total_steps(&cfg, n_tr), cfg.batch);
    struct train_log tl = {.quiet = pf_cli_opt_set(c, "json")};
    double t0 = pf_now_s();
    rc = pf_train(m, train, tr_idx, n_tr, &cfg, train_progress, &tl);
    double secs = pf_now_s() - t0;
    if (rc < 0)
        goto done;
    struct pf_eval_result rv = {0}, rt;
    if (n_val && (rc = pf_evaluate(m, train, val_idx, n_val, 100, &rv, NULL)) < 0)
        goto done;
    if ((rc = pf_evaluate(m, test, NULL, 0, 100, &rt, NULL)) < 0)
        goto done;
    char seed[32], acc[64];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)cfg.seed);
    snprintf(acc, sizeof acc, "val %.4f test %.4f", rv.accuracy, rt.accuracy);
    const char *out = pf_cli_opt_str(c, "out");
    struct pf_meta meta;
    pf_meta_init(&meta);
    if ((rc = pf_meta_set(&meta, "learner", "full-prec")) < 0 ||
        (rc = pf_meta_set(&meta, "seed", seed)) < 0 ||
        (rc = pf_meta_set(&meta, "metrics", acc)) < 0 ||
        (rc = pf_meta_set(&meta, "program", "pocketflow " PF_VERSION)) < 0 ||
        (rc = pf_meta_set(&meta, "command", cmdline)) < 0) {
        pf_meta_deinit(&meta);
        goto done;
    }
    rc = pf_model_save(m, out, train->name, &meta);
    pf_meta_deinit(&meta);
    if (rc < 0)
        goto done;
    if (pf_cli_opt_set(c, "json")) {
        printf("{\"val_accuracy\": %.6f, \"test_accuracy\": %.6f, \"test_loss\": %.6f, "
               "\"seconds\": %.1f, \"out\": ",
               rv.accuracy, rt.accuracy, rt.loss, secs);
        pf_cli_json_str(out);
        printf("}\n");
    } else
        printf("trained in %.1fs: validation accuracy %.4f, test accuracy %.4f; wrote %s\n", secs,
               rv.accuracy, rt.accuracy, out);
    rc = 0;
done:
    free(tr_idx);
    free(val_idx);
    pf_dataset_free(train);
    pf_dataset_free(test);
    pf_model_free(m);
    return rc;
}

/* ---- eval ---- */

/* Evaluates m through the network --engine names (eval_opts, checked by cmd_eval); *used = the
 * one that ran. In auto mode a network that cannot run the model hands over to the next (int8 or
 * infer, then graph), with the reason in note. */
static int eval_engine(struct pf_model *m, const char *want, const struct pf_dataset *d,
                       const uint32_t *idx, uint32_t n, int batch, struct pf_eval_result *r,
                       int *pred, const char **used, char *note, size_t note_n)
{
    bool aut = !strcmp(want, "auto");
    int rc = 0;
    note[0] = 0;
    if (!strcmp(want, "int8") || (aut && pf_model_actq_first(m) >= 0)) {
        struct pf_int8_net *net = NULL;
        if ((rc = pf_int8_net_new(m, &net)) == 0) {
            *used = "int8";
            rc = pf_int8_net_evaluate(net, d, idx, n, batch, r, pred);
            pf_int8_net_free(net);
            return rc;
        }
    } else if (!strcmp(want, "infer") || aut) {
        struct pf_infer_net *net = NULL;
        if ((rc = pf_infer_net_new(m, &net)) == 0) {
            *used = "infer";
            rc = pf_evaluate_net(pf_infer_forward, net, m->name, m->input, m->classes, d, idx, n,
                                 batch, r, pred);
            pf_infer_net_free(net);
            return rc;
        }
    }
    if (rc < 0 && (!aut || (rc != -PF_EUNSUPPORTED && rc != -PF_EINVAL)))
        return rc;
    if (rc < 0)
        snprintf(note, note_n, "%s", pf_err_user_msg());
    *used = "graph";
    return pf_evaluate(m, d, idx, n, batch, r, pred);
}

/* One model of an eval: the file, what ran it and what it scored. */
struct eval_side {
    const char *path;
    struct pf_model *m;
    struct pf_eval_result r;
    const char *used; /* eval_engine's *used */
    double secs;
    int *pred; /* each image's predicted class; only with --against */
};

static const char *engine_words(const char *used)
{
    return !strcmp(used, "int8")    ? "int8 network"
           : !strcmp(used, "infer") ? "inference network"
                                    : "training graph";
}

static int eval_side_run(struct eval_side *e, const char *engine, const struct pf_dataset *d,
                         const uint32_t *idx, uint32_t n, int batch)
{
    char note[512];
    double t0 = pf_now_s();
    e->used = "graph";
    int rc =
        eval_engine(e->m, engine, d, idx, n, batch, &e->r, e->pred, &e->used, note, sizeof note);
    e->secs = pf_now_s() - t0;
    if (rc == 0 && note[0])
        fprintf(stderr, "eval: %s ran on the training graph: %s\n", e->path, note);
    return rc;
}

static void eval_side_text(const struct eval_side *e, const char *data, const char *split)
{
    printf("%s on %s (%s, %ld images): accuracy %.4f (%ld correct), loss %.4f, %.2fs (%s)\n",
           e->path, data, split, e->r.samples, e->r.accuracy, e->r.correct, e->r.loss, e->secs,
           engine_words(e->used));
}

static void eval_side_json(const struct eval_side *e)
{
    printf("\"model\": ");
    pf_cli_json_str(e->path);
    printf(", \"accuracy\": %.6f, \"loss\": %.6f, \"samples\": %ld, "
           "\"correct\": %ld, \"seconds\": %.3f, \"engine\": \"%s\"",
           e->r.accuracy, e->r.loss, e->r.samples, e->r.correct, e->secs, e->used);
}

/* --against: the images a and b classify differently, and the two-sided sign test of who gets
 * more of them right (the difference is chance when p is large). */
static void eval_compare(const struct eval_side *a, const struct eval_side *b,
                         const struct pf_dataset *d, const uint32_t *idx, bool json)
{
    long won = 0, lost = 0, n = a->r.samples;
    for (long i = 0; i < n; i++) {
        int y = d->labels[idx ? idx[i] : (uint32_t)i];
        bool ra = a->pred[i] == y, rb = b->pred[i] == y;
        won += ra && !rb;
        lost += rb && !ra;
    }
    long differ = won + lost;
    double p = differ ? fmin(1.0, 2.0 * pf_sign_test_p(differ, won > lost ? won : lost)) : 1.0;
    if (json) {
        printf(", \"against\": {");
        eval_side_json(b);
        printf("}, \"differ\": %ld, \"won\": %ld, \"lost\": %ld, \"sign_test_p\": %.6g}\n", differ,
               won, lost, p);
        return;
    }
    printf("%s - %s: %+.2f points. On %ld images exactly one of the two is right: %s on %ld, "
           "%s on %ld. Two-sided sign test p = %.3g: %s\n",
           a->path, b->path, 100.0 * (a->r.accuracy - b->r.accuracy), differ, a->path, won, b->path,
           lost, p,
           p <= 0.05 ? "a difference this large is unlikely to be chance"
                     : "chance often gives a difference this large (not significant at 0.05)");
}

static int cmd_eval(struct cmd *c, const char *pos)
{
    struct eval_side a = {.path = pos}, b = {.path = pf_cli_opt_str(c, "against")};
    struct pf_dataset *d = NULL;
    uint32_t *tr_idx = NULL, *val_idx = NULL, n_tr = 0, n_val = 0;
    char dataset[64] = "";
    int rc;
    if (!pos)
        return PF_ERR(PF_EINVAL,
                      "eval: which model? usage: pocketflow eval MODEL.h5 --data fmnist");
    if ((rc = pf_model_load(pos, &a.m, dataset, sizeof dataset)) < 0)
        return rc;
    if (b.path && (rc = pf_model_load(b.path, &b.m, NULL, 0)) < 0)
        goto done;
    if (b.m && (b.m->input.c != a.m->input.c || b.m->input.h != a.m->input.h ||
                b.m->input.w != a.m->input.w || b.m->classes != a.m->classes)) {
        rc = PF_ERR(PF_ESHAPE,
                    "eval: --against %s takes %dx%dx%d images into %d classes, but %s takes "
                    "%dx%dx%d into %d: they cannot be compared on one dataset",
                    b.path, b.m->input.c, b.m->input.h, b.m->input.w, b.m->classes, pos,
                    a.m->input.c, a.m->input.h, a.m->input.w, a.m->classes);
        goto done;
    }
    const char *data = pf_cli_opt_str(c, "data"), *split = pf_cli_opt_str(c, "split");
    if (!data)
        data = dataset[0] ? dataset : "fmnist";
    bool test = !strcmp(split, "test");
    if (!test && strcmp(split, "val") && strcmp(split, "train")) {
        rc = PF_ERR(PF_EINVAL, "eval: --split must be test, val or train, got '%s'", split);
        goto done;
    }
    const char *engine = pf_cli_opt_str(c, "engine");
    if (strcmp(engine, "auto") && strcmp(engine, "int8") && strcmp(engine, "infer") &&
        strcmp(engine, "graph")) {
        rc = PF_ERR(PF_EINVAL, "eval: --engine must be auto, int8, infer or graph, got '%s'",
                    engine);
        goto done;
    }
    if ((rc = pf_dataset_load(data, test ? PF_SPLIT_TEST : PF_SPLIT_TRAIN, &d)) < 0)
        goto done;
    const uint32_t *idx = NULL;
    uint32_t n = (uint32_t)d->n;
    if (!test) {
        if ((rc = pf_dataset_split(d, 5000 < d->n ? 5000 : 0, &tr_idx, &n_tr, &val_idx, &n_val)) <
            0)
            goto done;
        idx = !strcmp(split, "val") ? val_idx : tr_idx;
        n = !strcmp(split, "val") ? n_val : n_tr;
    }
    if (b.m && (!(a.pred = pf_malloc((n ? n : 1) * sizeof *a.pred)) ||
                !(b.pred = pf_malloc((n ? n : 1) * sizeof *b.pred)))) {
        rc = -PF_ENOMEM;
        goto done;
    }
    int batch = (int)pf_cli_opt_int(c, "batch");
    if ((rc = eval_side_run(&a, engine, d, idx, n, batch)) < 0 ||
        (b.m && (rc = eval_side_run(&b, engine, d, idx, n, batch)) < 0))
        goto done;
    bool json = pf_cli_opt_set(c, "json");
    if (json) {
        printf("{");
        eval_side_json(&a);
        printf(", \"data\": ");
        pf_cli_json_str(data);
        printf(", \"split\": \"%s\"", split);
        if (!b.m)
            printf("}\n");
    }
    if (!json)
        eval_side_text(&a, data, split);
    if (!json && b.m)
        eval_side_text(&b, data, split);
    if (b.m)
        eval_compare(&a, &b, d, idx, json);
done:
    free(tr_idx);
    free(val_idx);
    free(a.pred);
    free(b.pred);
    pf_dataset_free(d);
    pf_model_free(a.m);
    pf_model_free(b.m);
    return rc;
}

/* ---- bench ---- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int cmd_bench(struct cmd *c, const char *pos)
{
    if (pf_cli_opt_set(c, "layers"))
        return pf_cli_bench_layers(c, pos);
    if (pf_cli_opt_set(c, "plan") || pf_cli_opt_set(c, "input"))
        return PF_ERR(PF_EINVAL, "bench: --plan and --input go with --layers MODEL");
    struct pf_model *m = NULL;
    struct pf_dataset *d = NULL;
    float *x = NULL, *dl = NULL;
    int *y = NULL;
    double *times = NULL;
    struct pf_optim opt = {0};
    int rc;
    const char *net = pf_cli_opt_str(c, "net");
    char path[512];
    if (strchr(net, '/') || ends_with(net, ".yaml"))
        snprintf(path, sizeof path, "%s", net);
    else
        snprintf(path, sizeof path, "assets/nets/%s.yaml", net);
    int B = (int)pf_cli_opt_int(c, "batch"), steps = (int)pf_cli_opt_int(c, "steps"),
        warm = (int)pf_cli_opt_int(c, "warmup");
    if (B < 1 || steps < 1)
        return PF_ERR(PF_EINVAL, "bench: --batch and --steps must be at least 1");
    if ((rc = pf_model_from_file(path, &m)) < 0)
        return rc;
    pf_model_init_params(m, (uint64_t)pf_cli_opt_int(c, "seed"));
    if ((rc = pf_dataset_load("fmnist", PF_SPLIT_TRAIN, &d)) < 0)
        goto done;
    if (d->c != m->input.c || d->h != m->input.h || d->w != m->input.w) {
        rc = PF_ERR(PF_ESHAPE, "bench: %s takes %dx%dx%d inputs; the benchmark feeds Fashion-MNIST",
                    path, m->input.c, m->input.h, m->input.w);
        goto done;
    }
    size_t in_n = pf_shape_numel(m->input);
    int nb = 4096 / B > 0 ? 4096 / B : 1;
    x = pf_malloc_aligned((size_t)B * in_n * sizeof *x);
    dl = pf_malloc_aligned((size_t)B * m->classes * sizeof *dl);
    y = calloc((size_t)B, sizeof *y);
    times = calloc((size_t)(steps > 500 ? steps : 500), sizeof *times);
    uint32_t *ids = calloc((size_t)B, sizeof *ids);
    if (!x || !dl || !y || !times || !ids) {
        free(ids);
        rc = PF_ERR(PF_ENOMEM, "bench: out of memory");
        goto done;
    }
    struct pf_optim_cfg oc = {.kind = PF_OPTIM_SGD, .momentum = 0.9, .weight_decay = 3e-4};
    if ((rc = pf_optim_init(&opt, m, &oc)) < 0 || (rc = pf_model_set_batch(m, B)) < 0) {
        free(ids);
        goto done;
    }
    /* training: the same work as torch_ref.py's train_step (batch from 4096 images) */
    for (int s = 0; s < warm + steps; s++) {
        int b = s % nb;
        double t0 = pf_now_s();
        for (int i = 0; i < B; i++)
            ids[i] = (uint32_t)((b * B + i) % d->n);
        if ((rc = pf_dataset_batch(d, ids, B, x, y, false, NULL)) < 0 ||
            (rc = pf_model_forward(m, x, B, true)) < 0) {
            free(ids);
            goto done;
        }
        float loss;
        pf_softmax_xent(pf_model_logits(m), y, B, m->classes, &loss, dl, NULL);
        pf_model_zero_grad(m);
        if ((rc = pf_model_backward(m, x, dl, B)) < 0) {
            free(ids);
            goto done;
        }
        pf_optim_step(&opt, 0.01f);
        if (s >= warm)
            times[s - warm] = pf_now_s() - t0;
    }
    free(ids);
    qsort(times, (size_t)steps, sizeof *times, cmp_double);
    double t_train = times[steps / 2];
    int ni = steps / 4 > 20 ? steps / 4 : 20;
    for (int s = 0; s < 5 + ni; s++) {
        double t0 = pf_now_s();
        if ((rc = pf_model_forward(m, x, B, false)) < 0)
            goto done;
        if (s >= 5)
            times[s - 5] = pf_now_s() - t0;
    }
    qsort(times, (size_t)ni, sizeof *times, cmp_double);
    double t_inf = times[ni / 2];
    for (int s = 0; s < 50 + 500; s++) {
        double t0 = pf_now_s();
        if ((rc = pf_model_forward(m, x, 1, false)) < 0)
            goto done;
        if (s >= 50)
            times[s - 50] = pf_now_s() - t0;
    }
    qsort(times, 500, sizeof *times, cmp_double);
    double t_lat = times[250];
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    const char *coretype = getenv("OPENBLAS_CORETYPE");
    char ct[64];
    snprintf(ct, sizeof ct, coretype ? "\"%s\"" : "null", coretype);
    if (pf_cli_opt_set(c, "json"))
        printf("{\"net\": \"%s\", \"threads\": %ld, \"batch\": %d, \"pocketflow\": \"%s\", "
               "\"device\": \"%s\", \"openblas_coretype\": %s, \"train_img_per_s\": %.2f, "
               "\"infer_img_per_s\": %.2f, \"latency_b1_ms\": %.4f, \"peak_rss_mib\": %.1f}\n",
               net, pf_cli_opt_int(c, "threads"), B, PF_VERSION, pf_backend()->name, ct,
               B / t_train, B / t_inf, t_lat * 1e3, ru.ru_maxrss / 1024.0);
    else
        printf("%s, %ld threads, batch %d, %s backend: training %.1f img/s, inference %.1f img/s, "
               "batch-1 latency %.3f ms, peak RSS %.1f MiB\n",
               net, pf_cli_opt_int(c, "threads"), B, pf_backend()->name, B / t_train, B / t_inf,
               t_lat * 1e3, ru.ru_maxrss / 1024.0);
    rc = 0;
done:
    pf_optim_deinit(&opt);
    free(x);
    free(dl);
    free(y);
    free(times);
    pf_dataset_free(d);
    pf_model_free(m);
    return rc;
}

/* ---- tui ---- */

static struct opt tui_opts[] = {
    {"runs", OPT_STR, NULL, "where run directories go (default $PF_RUNS_DIR or ./runs)", NULL},
    COMMON_OPTS,
    {NULL, 0, NULL, NULL, NULL},
};

/* The workbench (src/tui); it refuses without a terminal, naming the subcommands to use. */
static int cmd_tui(struct cmd *c, const char *pos)
{
    return pf_tui_main(pos ? pos : PF_DEFAULT_MODEL, pf_cli_opt_str(c, "runs"));
}

/* ---- dispatch ---- */

static struct cmd cmds[] = {
    {"train", "", "Train a model from a netdef (or continue from a model file) on a dataset.",
     train_opts, cmd_train},
    {"eval", "MODEL.h5 ", "Evaluate a model's accuracy on a dataset split.", eval_opts, cmd_eval},
    {"info", "[MODEL.h5|NETDEF.yaml] ",
     "Per-layer profile: shapes, params, MACs, memory, size; with --plan, before and after.",
     pf_cli_info_opts, pf_cli_info},
    {"bench", "",
     "Speed: training and inference images/s, batch-1 latency, peak memory; "
     "--layers: per layer, and the whole model through the training graph and through the "
     "inference network (batch norm folded, blocked layout), or for a model with quantized "
     "activations (uniform-tf) through the int8 network.",
     bench_opts, cmd_bench},
    {"sensitivity", "MODEL.h5 ",
     "Accuracy of L1-norm pruning of each channel group at each ratio, no fine-tuning.",
     pf_cli_sensitivity_opts, pf_cli_sensitivity},
    {"tui", "[MODEL.h5|NETDEF.yaml] ",
     "The interactive workbench (what `pocketflow` with no command opens).", tui_opts, cmd_tui},
};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: pocketflow [--version] [--help] <command> [options]\n\n"
            "pocketflow compresses neural networks (PocketFlow's methods, in C).\n"
            "With no command it opens the workbench on the bundled model (%s).\n\ncommands:\n",
            PF_DEFAULT_MODEL);
    for (size_t i = 0; i < PF_ARRAY_LEN(cmds); i++)
        fprintf(f, "  %-12s %s\n", cmds[i].name, cmds[i].summary);
    fprintf(f, "  %-12s %s\n", "run",
            "Run a learner (compression method) on a model: see run --help.");
    fprintf(f, "\n'pocketflow <command> --help' lists a command's options.\n");
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "--version")) {
        printf("pocketflow %s\n", PF_VERSION);
        return 0;
    }
    if (argc > 1 &&
        (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help"))) {
        usage(stdout);
        return 0;
    }
    size_t used = 0;
    for (int i = 0; i < argc && used < sizeof cmdline - 1; i++)
        used += (size_t)snprintf(cmdline + used, sizeof cmdline - used, "%s%s", i ? " " : "",
                                 i ? argv[i] : "pocketflow");
    if (argc > 1 && !strcmp(argv[1], "run")) {
        int rrc = pf_cli_run(argc - 2, argv + 2);
        if (rrc < 0 && rrc != -PF_ECANCELLED) {
            fprintf(stderr, "pocketflow run: error: %s\n", pf_err_user_msg());
            return rrc == -PF_EINVAL ? 2 : 1;
        }
        return rrc == -PF_ECANCELLED ? 130 : 0;
    }
    struct cmd *c = NULL;
    int first = 2;
    if (argc < 2 || argv[1][0] == '-') {
        for (size_t i = 0; i < PF_ARRAY_LEN(cmds); i++)
            if (!strcmp(cmds[i].name, "tui"))
                c = &cmds[i]; /* the workbench on the bundled model */
        first = 1;
    } else {
        for (size_t i = 0; i < PF_ARRAY_LEN(cmds); i++)
            if (!strcmp(argv[1], cmds[i].name))
                c = &cmds[i];
        if (!c) {
            fprintf(stderr, "pocketflow: unknown command '%s'\n\n", argv[1]);
            usage(stderr);
            return 2;
        }
    }
    const char *pos = NULL;
    int rc = parse_args(c, argc - first, argv + first, &pos);
    if (rc == 0 && pf_cli_opt_set(c, "help")) {
        print_help(c);
        return 0;
    }
    if (rc == 0)
        rc = c->run(c, pos);
    if (rc < 0) {
        fprintf(stderr, "pocketflow %s: error: %s\n", c->name, pf_err_user_msg());
        return rc == -PF_EINVAL ? 2 : 1;
    }
    return 0;
}

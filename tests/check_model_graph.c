/* check_model_graph.c: netdef parsing and validation, the layer graph (fan-out, residual add,
 * concat), backward through the whole graph against finite differences, clone, YAML round trip,
 * and the reference MAC / param totals of the built-in nets. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/core/pf_rng.h"
#include "engine/core/pf_status.h"
#include "engine/model/graph.h"

static struct pf_model *build(const char *yaml)
{
    struct pf_model *m = NULL;
    int rc = pf_model_from_yaml(yaml, strlen(yaml), "t.yaml", &m);
    ck_assert_msg(rc == 0, "netdef failed: %s", pf_err_msg());
    return m;
}

static int build_err(const char *yaml, const char *want)
{
    struct pf_model *m = NULL;
    int rc = pf_model_from_yaml(yaml, strlen(yaml), "bad.yaml", &m);
    ck_assert_ptr_null(m);
    ck_assert_int_lt(rc, 0);
    ck_assert_msg(strstr(pf_err_msg(), want) != NULL, "message '%s' lacks '%s'", pf_err_msg(),
                  want);
    ck_assert_msg(strstr(pf_err_msg(), "bad.yaml") != NULL, "message '%s' lacks the file",
                  pf_err_msg());
    return rc;
}

#define HEAD "name: t\ninput: [2, 6, 6]\nclasses: 3\nlayers:\n"

/* A small residual net with fan-out, add and concat: every gradient path in the graph. */
static const char *const residual =
    HEAD "  - {name: c1, type: conv2d, filters: 4, kernel: 3, pad: same, act: relu}\n"
         "  - {name: c2, type: conv2d, filters: 4, kernel: 3, pad: 1}\n"
         "  - {name: bn, type: batchnorm}\n"
         "  - {name: c3, type: conv2d, inputs: [c1], filters: 4, kernel: 1}\n"
         "  - {name: sum, type: add, inputs: [bn, c3, c1], act: relu}\n"
         "  - {name: cat, type: concat, inputs: [sum, c1]}\n"
         "  - {name: pool, type: maxpool, kernel: 2}\n"
         "  - {name: fc, type: dense, units: 3}\n";

START_TEST(test_bad_netdefs)
{
    build_err(HEAD "  - {name: a, type: conv3d, filters: 2, kernel: 3}\n",
              "unknown layer type 'conv3d'");
    build_err(HEAD "  - {name: a, type: conv2d, filter: 2, kernel: 3}\n", "unknown key 'filter'");
    build_err(HEAD "  - {name: a, type: dense}\n", "units");
    build_err(HEAD "  - {type: dense, units: 3}\n", "missing key 'name'");
    build_err(HEAD "  - {name: a, units: 3}\n", "missing key 'type'");
    build_err(HEAD "  - {name: a, type: dense, units: 3, inputs: [nope]}\n",
              "input 'nope' is not a layer");
    build_err(HEAD
              "  - {name: a, type: relu, inputs: [b]}\n  - {name: b, type: relu, inputs: [a]}\n"
              "  - {name: fc, type: dense, units: 3, inputs: [b]}\n",
              "cycle");
    build_err(HEAD "  - {name: a, type: conv2d, filters: 2, kernel: 9}\n  - {name: fc, type: "
                   "dense, units: 3}\n",
              "does not fit");
    build_err(
        HEAD
        "  - {name: a, type: conv2d, filters: 2, kernel: 3}\n"
        "  - {name: b, type: add, inputs: [a, input]}\n  - {name: fc, type: dense, units: 3}\n",
        "b");
    build_err(HEAD "  - {name: fc, type: dense, units: 4}\n", "3 class logits");
    build_err(HEAD "  - {name: a, type: relu}\n  - {name: a, type: dense, units: 3}\n",
              "duplicate layer name");
    build_err("name: t\nclasses: 3\nlayers:\n  - {name: fc, type: dense, units: 3}\n",
              "missing key 'input'");
    build_err(
        "name: t\ninput: [1, 2]\nclasses: 3\nlayers:\n  - {name: fc, type: dense, units: 3}\n",
        "input must be [C, H, W]");
    build_err("name: t\ninput: [1, 2, 2]\nclasses: 3\nlayer: []\n", "unknown key 'layer'");
    build_err(HEAD
              "  - {name: a, type: relu}\n  - {name: fc, type: dense, units: 3, inputs: [input]}\n",
              "never used");
}
END_TEST

START_TEST(test_reference_totals)
{
    static const struct {
        const char *path;
        unsigned long long macs, params;
    } nets[] = {
        /* the reference figures (Distiller, torchvision, PocketFlow) */
        {"assets/nets/convnet_fmnist.yaml", 13883904ull, 3274634ull},
        {"assets/nets/lenet5_fmnist.yaml", 281640ull, 44426ull},
        {"assets/nets/resnet20_cifar.yaml", 40813184ull, 0},
        {"assets/nets/resnet18.yaml", 1814073344ull, 11689512ull},
        {"assets/nets/mobilenet_v1.yaml", 568740352ull, 4231976ull},
    };
    for (size_t i = 0; i < sizeof nets / sizeof nets[0]; i++) {
        struct pf_model *m = NULL;
        ck_assert_msg(pf_model_from_file(nets[i].path, &m) == 0, "%s", pf_err_msg());
        struct pf_count c;
        pf_model_count(m, &c);
        ck_assert_msg(c.macs == nets[i].macs, "%s: %llu MACs, want %llu", nets[i].path,
                      (unsigned long long)c.macs, nets[i].macs);
        if (nets[i].params)
            ck_assert_msg(c.params == nets[i].params, "%s: %llu params, want %llu", nets[i].path,
                          (unsigned long long)c.params, nets[i].params);
        pf_model_free(m);
    }
}
END_TEST

/* loss = sum(logits * r) */
static double loss_of(struct pf_model *m, const float *x, const float *r, int N)
{
    ck_assert_int_eq(pf_model_forward(m, x, N, true), 0);
    const float *y = pf_model_logits(m);
    double s = 0;
    for (int i = 0; i < N * m->classes; i++)
        s += (double)y[i] * r[i];
    return s;
}

START_TEST(test_graph_gradients)
{
    struct pf_model *m = build(residual);
    pf_model_init_params(m, 3);
    /* non-trivial BN affine so its gradient path is exercised */
    struct pf_rng rng;
    pf_rng_seed(&rng, 11);
    const int N = 2;
    float x[2 * 2 * 6 * 6], r[2 * 3];
    for (size_t i = 0; i < sizeof x / sizeof x[0]; i++)
        x[i] = pf_rng_uniform(&rng) * 2 - 1;
    for (size_t i = 0; i < sizeof r / sizeof r[0]; i++)
        r[i] = pf_rng_uniform(&rng) * 2 - 1;
    ck_assert_int_eq(pf_model_set_batch(m, N), 0);
    loss_of(m, x, r, N);
    pf_model_zero_grad(m);
    ck_assert_int_eq(pf_model_backward(m, x, r, N), 0);
    /* Compare a sample of every trainable param's gradient with central differences in double
     * precision of the float32 forward. BN in train mode makes this a true whole-graph check. */
    double worst = 0;
    for (int li = 0; li < m->n_layers; li++) {
        struct pf_layer *l = &m->layers[li];
        for (int pi = 0; pi < l->n_params; pi++) {
            struct pf_param *p = &l->params[pi];
            if (!p->trainable)
                continue;
            size_t n = pf_tensor_numel(&p->w);
            for (size_t k = 0; k < n; k += 1 + n / 7) {
                float *w = pf_tensor_f32(&p->w), keep = w[k];
                const float eps = 1e-3f; /* small: away from ReLU and max-pool kinks */
                w[k] = keep + eps;
                double lp = loss_of(m, x, r, N);
                w[k] = keep - eps;
                double lm = loss_of(m, x, r, N);
                w[k] = keep;
                double num = (lp - lm) / (2 * eps), ana = pf_tensor_f32(&p->g)[k];
                double den = fmax(fmax(fabs(num), fabs(ana)), 1e-2);
                double e = fabs(num - ana) / den;
                ck_assert_msg(e < 5e-2, "%s.%s[%zu]: analytic %g numeric %g", l->name, p->name, k,
                              ana, num);
                worst = fmax(worst, e);
            }
        }
    }
    ck_assert(worst < 5e-2);
    pf_model_free(m);
}
END_TEST

/* Gradient buffers shared by live span (graph.h) give the same gradients, bit for bit, as one
 * buffer per layer (pf_model_keep_grads), and two layers share a buffer only when their spans
 * [p, last consumer of p] are disjoint. */
START_TEST(test_grad_buffers_shared)
{
    static const char *const chain =
        HEAD "  - {name: c1, type: conv2d, filters: 4, kernel: 3, pad: same, act: relu}\n"
             "  - {name: c2, type: conv2d, filters: 4, kernel: 3, pad: same}\n"
             "  - {name: bn, type: batchnorm, act: relu}\n"
             "  - {name: c3, type: conv2d, filters: 4, kernel: 3, pad: same, act: relu}\n"
             "  - {name: c4, type: conv2d, filters: 4, kernel: 3, pad: same, act: relu}\n"
             "  - {name: pool, type: maxpool, kernel: 2}\n"
             "  - {name: fc, type: dense, units: 3}\n";
    const char *const nets[] = {residual, chain};
    for (int t = 0; t < 2; t++) {
        struct pf_model *a = build(nets[t]), *b = NULL;
        pf_model_init_params(a, 5);
        ck_assert_int_eq(pf_model_clone(a, &b), 0);
        ck_assert_int_eq(pf_model_keep_grads(b), 0);
        const int N = 3;
        float x[3 * 2 * 6 * 6], r[3 * 3];
        struct pf_rng rng;
        pf_rng_seed(&rng, 21);
        for (size_t i = 0; i < sizeof x / sizeof x[0]; i++)
            x[i] = pf_rng_uniform(&rng) * 2 - 1;
        for (size_t i = 0; i < sizeof r / sizeof r[0]; i++)
            r[i] = pf_rng_uniform(&rng) * 2 - 1;
        for (int k = 0; k < 2; k++) {
            struct pf_model *m = k ? b : a;
            ck_assert_int_eq(pf_model_set_batch(m, N), 0);
            ck_assert_int_eq(pf_model_forward(m, x, N, true), 0);
            pf_model_zero_grad(m);
            ck_assert_int_eq(pf_model_backward(m, x, r, N), 0);
        }
        ck_assert_int_eq(b->n_dy_buf, b->n_layers);
        if (t == 1) /* a chain needs two gradient buffers at most, whatever its depth */
            ck_assert_int_le(a->n_dy_buf, 2);
        ck_assert_int_lt(a->n_dy_buf, a->n_layers);
        int last[16];
        ck_assert_int_le(a->n_layers, 16);
        for (int p = 0; p < a->n_layers; p++) {
            last[p] = p;
            for (int i = p + 1; i < a->n_layers; i++)
                for (int j = 0; j < a->layers[i].n_in; j++)
                    if (a->layers[i].in_idx[j] == p)
                        last[p] = i;
        }
        for (int p = 0; p < a->n_layers; p++)
            for (int q = p + 1; q < a->n_layers; q++)
                if (a->dy[p] == a->dy[q])
                    ck_assert_msg(last[p] < q, "%s and %s share a gradient buffer while both live",
                                  a->layers[p].name, a->layers[q].name);
        for (int li = 0; li < a->n_layers; li++)
            for (int pi = 0; pi < a->layers[li].n_params; pi++) {
                const struct pf_tensor *ga = &a->layers[li].params[pi].g,
                                       *gb = &b->layers[li].params[pi].g;
                if (!a->layers[li].params[pi].trainable)
                    continue;
                ck_assert_msg(memcmp(pf_tensor_f32(ga), pf_tensor_f32(gb),
                                     pf_tensor_numel(ga) * sizeof(float)) == 0,
                              "%s.%s: shared and own gradient buffers differ", a->layers[li].name,
                              a->layers[li].params[pi].name);
            }
        pf_model_free(b);
        pf_model_free(a);
    }
}
END_TEST

START_TEST(test_clone_and_yaml_roundtrip)
{
    struct pf_model *m = build(residual), *c = NULL, *r = NULL;
    pf_model_init_params(m, 5);
    ck_assert_int_eq(pf_model_clone(m, &c), 0);
    char *y1 = NULL, *y2 = NULL;
    ck_assert_int_eq(pf_model_to_yaml(m, &y1), 0);
    ck_assert_int_eq(pf_model_from_yaml(y1, strlen(y1), "rt", &r), 0);
    ck_assert_int_eq(pf_model_to_yaml(r, &y2), 0);
    ck_assert_str_eq(y1, y2);
    ck_assert_int_eq(r->n_layers, m->n_layers);
    float x[2 * 6 * 6];
    for (int i = 0; i < 72; i++)
        x[i] = (float)((i * 37) % 11) / 11.0f - 0.5f;
    ck_assert_int_eq(pf_model_forward(m, x, 1, false), 0);
    ck_assert_int_eq(pf_model_forward(c, x, 1, false), 0);
    ck_assert_mem_eq(pf_model_logits(m), pf_model_logits(c), 3 * sizeof(float));
    /* the clone is independent */
    pf_tensor_f32(&c->layers[0].params[0].w)[0] += 1.0f;
    ck_assert_float_ne(pf_tensor_f32(&c->layers[0].params[0].w)[0],
                       pf_tensor_f32(&m->layers[0].params[0].w)[0]);
    free(y1);
    free(y2);
    pf_model_free(m);
    pf_model_free(c);
    pf_model_free(r);
}
END_TEST

START_TEST(test_to_yaml_lengths)
{
    /* every kind's to_yaml reports its full length even with no buffer (snprintf semantics) */
    struct pf_model *m = NULL;
    ck_assert_int_eq(pf_model_from_file("assets/nets/resnet18.yaml", &m), 0);
    struct pf_model *r = build(residual);
    for (int k = 0; k < 2; k++) {
        struct pf_model *mm = k ? r : m;
        for (int i = 0; i < mm->n_layers; i++) {
            const struct pf_layer *l = &mm->layers[i];
            if (!l->ops->to_yaml)
                continue;
            char big[1024], small[4];
            int full = l->ops->to_yaml(l, big, sizeof big);
            ck_assert_int_eq(l->ops->to_yaml(l, NULL, 0), full);
            ck_assert_int_eq(l->ops->to_yaml(l, small, sizeof small), full);
            ck_assert_int_eq((int)strlen(big), full);
        }
    }
    pf_model_free(m);
    pf_model_free(r);
}
END_TEST

START_TEST(test_topological_order)
{
    /* rows out of order: the graph sorts them */
    struct pf_model *m = build(HEAD "  - {name: fc, type: dense, units: 3, inputs: [a]}\n"
                                    "  - {name: a, type: relu, inputs: [input]}\n");
    ck_assert_int_eq(pf_model_find(m, "a"), 0);
    ck_assert_int_eq(pf_model_find(m, "fc"), 1);
    ck_assert_int_eq(pf_model_find(m, "zz"), -1);
    pf_model_free(m);
}
END_TEST

Suite *model_graph_suite(void);
Suite *model_graph_suite(void)
{
    Suite *s = suite_create("model_graph");
    TCase *tc = tcase_create("graph");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_bad_netdefs);
    tcase_add_test(tc, test_reference_totals);
    tcase_add_test(tc, test_graph_gradients);
    tcase_add_test(tc, test_grad_buffers_shared);
    tcase_add_test(tc, test_clone_and_yaml_roundtrip);
    tcase_add_test(tc, test_topological_order);
    tcase_add_test(tc, test_to_yaml_lengths);
    suite_add_tcase(s, tc);
    return s;
}

/* cpu.c: the fast CPU backend. Convolutions (forward, backward data, backward weights) run on
 * oneDNN primitives; GEMM goes to oneDNN's sgemm when it is big enough to be split over threads,
 * to OpenBLAS (which keeps such sizes on the calling thread) when it is small, and to the
 * reference loop when it is tiny. Everything parallel thus runs on one OpenMP thread team:
 * OpenBLAS's own pthreads, spinning next to OpenMP's, made both libraries wait for cores
 * (measured: convnet_fmnist's training step 99 -> 68 ms at 2 threads).
 *
 * oneDNN picks its own blocked layouts (format_tag any); the caller's tensors stay plain NCHW
 * (x, y, dx, dy), (K, C/groups, R, S) = oihw / goihw (w, dw) and x (b, db). Where the chosen
 * layout differs, a reorder runs at the edge into or out of a library-owned buffer: the
 * forward's input copy is the state's own (conv2d_backward reads it again instead of
 * reordering x twice); copies that live for one call only sit in per-thread scratch buffers
 * shared by all convolutions, so they stay in cache.
 *
 * The element-wise and per-channel kernels between the convolutions (activations, residual
 * adds, batch norm) are plain loops, vectorised and split over the same OpenMP threads.
 *
 * Everything built for one descriptor lives in the layer's `void **state` slot (struct
 * conv_state): its stream, and per operation the primitive descriptor (with the forward hint for
 * the backward ones), the primitive, and per argument the plain memory object, the inner buffer
 * and the reorder. Each operation is built on its first call and rebuilt when the descriptor,
 * the OpenMP thread count or the presence of a bias changes. The engine is process-global,
 * created once (pthread_once). One state must not be used from two threads at once; different
 * states may. */
#include <cblas.h>
#include <dnnl.h>
#include <dnnl_debug.h>
#include <math.h>
#include <omp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "engine/backend/backend.h"
#include "engine/core/pf_alloc.h"
#include "engine/core/pf_status.h"

/* GEMMs with M * N * K below this go to the reference loop. Measured on a 2-core EPYC (AVX-512,
 * OpenBLAS 0.3.21, 2 threads): at M = N = K = 2 the loop takes 20 ns against BLAS's 36-100 ns;
 * from M * N * K ~ 64 on (4x4x4: 80 ns vs 42-120 ns) BLAS wins and the gap grows fast. */
enum { SMALL_GEMM_MNK = 32 };
/* From this M * N * K on, GEMMs go to oneDNN (2 threads); below, OpenBLAS runs them on the
 * calling thread (it does up to 4 * 65536) and is faster there: 64^3 took 5.3 us on oneDNN and
 * 6.5 us on OpenBLAS, 48^3 3.3 against 2.9, 32^3 1.7 against 1.2 (same machine). */
enum { DNNL_GEMM_MNK = 1 << 17 };

/* Most arguments one convolution primitive takes: src, weights, bias, dst. */
enum { MAX_EDGES = 4 };

/* ---- threads and GEMM ---- */

/* The count set by cpu_set_threads (0: never set). omp_set_num_threads only changes the calling
 * thread's OpenMP setting, and training runs in a worker pthread, so each convolution applies
 * this count on the thread that runs it (apply_threads). */
static _Atomic int n_threads;

static void cpu_set_threads(int n)
{
    if (n < 1)
        n = 1;
    n_threads = n;
    openblas_set_num_threads(n);
    omp_set_num_threads(n);
}

/* Makes the calling thread's OpenMP team size the one set last; returns it. */
static int apply_threads(void)
{
    int n = n_threads;
    if (n > 0 && omp_get_max_threads() != n)
        omp_set_num_threads(n);
    return omp_get_max_threads();
}

static void cpu_sgemm(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float *A,
                      int lda, const float *B, int ldb, float beta, float *C, int ldc)
{
    if ((long)M * N * K < SMALL_GEMM_MNK) {
        pf_backend_cpu_ref.sgemm(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    /* oneDNN's GEMM (row-major, BLAS meaning) runs on the OpenMP threads the convolutions and
     * element-wise loops use; OpenBLAS's own pthreads would compete with them for the cores
     * while the OpenMP threads spin between parallel regions */
    if ((long)M * N * K >= DNNL_GEMM_MNK) {
        apply_threads();
        if (dnnl_sgemm(trans_a ? 'T' : 'N', trans_b ? 'T' : 'N', M, N, K, alpha, A, lda, B, ldb,
                       beta, C, ldc) == dnnl_success)
            return;
    }
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

/* ---- oneDNN plumbing ---- */

static pthread_once_t engine_once = PTHREAD_ONCE_INIT;
static dnnl_engine_t engine;
static dnnl_status_t engine_status;

static void engine_init(void)
{
    engine_status = dnnl_engine_create(&engine, dnnl_cpu, 0);
}

/* Translates a oneDNN status: 0, or -PF_EDEVICE with a message naming the call. */
static int dn(dnnl_status_t st, const char *what)
{
    if (st == dnnl_success)
        return 0;
    return PF_ERR(PF_EDEVICE, "oneDNN %s failed: %s", what, dnnl_status2str(st));
}

static int engine_get(void)
{
    if (pthread_once(&engine_once, engine_init) != 0)
        return PF_ERR(PF_EDEVICE, "oneDNN engine: pthread_once failed");
    return dn(engine_status, "CPU engine creation");
}

/* ---- per-thread scratch ----
 * The blocked copies that live only during one call (a forward's output before its reorder to
 * NCHW, a backward's dy and dx) sit in a few buffers per thread shared by every convolution, so
 * they stay in cache instead of each layer streaming through buffers of its own. Grown to the
 * largest request, freed when the thread exits. */
enum { SCRATCH_X, SCRATCH_Y, SCRATCH_DX, N_SCRATCH };

struct scratch {
    void *p[N_SCRATCH];
    size_t cap[N_SCRATCH];
};

static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;
static pthread_key_t scratch_key;
static int scratch_key_rc;

static void scratch_free(void *v)
{
    struct scratch *sc = v;
    for (int i = 0; i < N_SCRATCH; i++)
        free(sc->p[i]);
    free(sc);
}

static void scratch_init(void)
{
    scratch_key_rc = pthread_key_create(&scratch_key, scratch_free);
}

/* The calling thread's scratch slot, at least `size` bytes (contents kept while it does not
 * grow); NULL when out of memory. */
static void *scratch_get(int slot, size_t size)
{
    if (pthread_once(&scratch_once, scratch_init) != 0 || scratch_key_rc != 0)
        return NULL;
    struct scratch *sc = pthread_getspecific(scratch_key);
    if (!sc) {
        if (!(sc = pf_calloc(1, sizeof *sc)))
            return NULL;
        if (pthread_setspecific(scratch_key, sc) != 0) {
            free(sc);
            return NULL;
        }
    }
    if (sc->cap[slot] < size) {
        free(sc->p[slot]);
        sc->cap[slot] = 0;
        if (!(sc->p[slot] = pf_malloc_aligned(size)))
            return NULL;
        sc->cap[slot] = size;
    }
    return sc->p[slot];
}

/* One argument of a primitive. `user` wraps the caller's plain buffer (handle set per call);
 * `inner` is a library-owned buffer in the primitive's layout and `reorder` converts between
 * the two (user -> inner for inputs, inner -> user for outputs); both NULL when the primitive
 * takes the plain layout directly. */
struct edge {
    int arg;               /* DNNL_ARG_* */
    bool out;              /* written by the primitive */
    int slot;              /* `inner` lives in this scratch slot of the thread; -1: its own */
    bool keep;             /* this run: `inner` goes to `own` instead of the scratch slot */
    void *own;             /* lazily allocated home of `inner` when kept; NULL before */
    size_t size;           /* bytes of `inner` */
    bool constant;         /* inference weights: reordered once per caller buffer, then reused */
    const void *reordered; /* the caller buffer `inner` currently holds (constant edges) */
    dnnl_memory_t user;
    dnnl_memory_t inner;
    dnnl_primitive_t reorder;
};

/* What a step's tensors are: float32 NCHW (training), the int8 inference step's u8 / s8 / s32
 * channels-last tensors, or the blocked float inference step's nChw16c activations. */
enum step_mode { MODE_F32, MODE_INT8, MODE_BLK };

/* One operation (forward, backward data or backward weights) built for one descriptor. */
struct step {
    bool built;
    enum step_mode mode;        /* tensor types and activation layout */
    bool x_plain;               /* blocked step: the source is plain NCHW (a network input) */
    float lo, hi;               /* blocked step: the fused clamp it was built with */
    bool bias;                  /* built with bias (forward) or diff bias (backward weights) */
    dnnl_primitive_desc_t hint; /* forward descriptor guiding a backward one; NULL for forward */
    dnnl_primitive_desc_t pd;
    dnnl_primitive_t prim;
    int n_edges;
    struct edge e[MAX_EDGES];
};

struct conv_state {
    struct pf_conv_desc d; /* what the steps were built for */
    int threads;           /* OpenMP team size they were built for */
    dnnl_stream_t stream;
    struct step fwd, bwd_data, bwd_weights;
    struct step int8_fwd; /* u8 x s8 -> s32 inference, runtime source zero point */
    struct step blk_fwd;  /* float inference on the blocked layout, fused clamp */
    /* blk_fwd runs the channel counts padded to whole blocks: its weights and bias padded with
     * zeros, copied from the caller's (blk_w_of, blk_b_of) */
    struct pf_conv_desc blk_d;
    float *blk_w, *blk_b;
    const float *blk_w_of, *blk_b_of;
    const void *fwd_x; /* caller x whose reorder fwd's kept src buffer holds; NULL: none */
    bool after_bwd;    /* the last call was conv2d_backward: training, keep x's copy */
};

static void step_free(struct step *st)
{
    for (int i = st->n_edges - 1; i >= 0; i--) {
        struct edge *e = &st->e[i];
        if (e->reorder)
            dnnl_primitive_destroy(e->reorder);
        if (e->inner)
            dnnl_memory_destroy(e->inner);
        free(e->own);
        if (e->user)
            dnnl_memory_destroy(e->user);
    }
    if (st->prim)
        dnnl_primitive_destroy(st->prim);
    if (st->pd)
        dnnl_primitive_desc_destroy(st->pd);
    if (st->hint)
        dnnl_primitive_desc_destroy(st->hint);
    memset(st, 0, sizeof *st);
}

static void blk_free(struct conv_state *s)
{
    step_free(&s->blk_fwd);
    free(s->blk_w);
    free(s->blk_b);
    s->blk_w = s->blk_b = NULL;
    s->blk_w_of = s->blk_b_of = NULL;
}

static void cpu_conv_state_free(void *state)
{
    struct conv_state *s = state;
    if (!s)
        return;
    blk_free(s);
    step_free(&s->int8_fwd);
    step_free(&s->bwd_weights);
    step_free(&s->bwd_data);
    step_free(&s->fwd);
    if (s->stream)
        dnnl_stream_destroy(s->stream);
    free(s);
}

/* pf_conv_desc is all ints, so memcmp compares it field by field. */
static bool desc_equal(const struct pf_conv_desc *a, const struct pf_conv_desc *b)
{
    return memcmp(a, b, sizeof *a) == 0;
}

/* The state for d in *slot: created on first use, emptied when d or the thread count changed. */
static int state_get(const struct pf_conv_desc *d, void **slot, struct conv_state **out)
{
    int rc = engine_get();
    if (rc)
        return rc;
    struct conv_state *s = *slot;
    int threads = apply_threads();
    if (s && desc_equal(&s->d, d) && s->threads == threads) {
        *out = s;
        return 0;
    }
    if (!s) {
        s = pf_calloc(1, sizeof *s);
        if (!s)
            return -PF_ENOMEM;
        rc = dn(dnnl_stream_create(&s->stream, engine, dnnl_stream_default_flags),
                "stream creation");
        if (rc) {
            free(s);
            return rc;
        }
        *slot = s;
    }
    blk_free(s);
    step_free(&s->int8_fwd);
    step_free(&s->bwd_weights);
    step_free(&s->bwd_data);
    step_free(&s->fwd);
    s->fwd_x = NULL;
    s->after_bwd = false;
    s->d = *d;
    s->threads = threads;
    *out = s;
    return 0;
}

enum md_kind { MD_X, MD_W, MD_B, MD_Y, MD_ZP };

/* Element type of each kind: float32, or for the int8 step u8 / s8 / s32 (dt_int8). */
static dnnl_data_type_t md_type(enum md_kind kind, enum step_mode mode)
{
    if (kind == MD_ZP)
        return dnnl_s32;
    if (mode != MODE_INT8)
        return dnnl_f32;
    return kind == MD_X ? dnnl_u8 : kind == MD_W ? dnnl_s8 : dnnl_s32;
}

/* Memory descriptor of one tensor of d: the caller's layout for a step of that mode (`plain`;
 * x_plain: a blocked step's source is NCHW) or format any. MD_ZP is the one-element zero
 * point. */
static int md_init_t(dnnl_memory_desc_t *md, const struct pf_conv_desc *d, enum md_kind kind,
                     bool plain, enum step_mode mode, bool x_plain)
{
    if (kind == MD_ZP) {
        dnnl_dims_t one = {1};
        return dn(dnnl_memory_desc_init_by_tag(md, 1, one, dnnl_s32, dnnl_x), "memory descriptor");
    }
    dnnl_dims_t dims;
    int nd = 4;
    dnnl_format_tag_t tag = dnnl_nchw;
    switch (kind) {
    case MD_X:
        dims[0] = d->N, dims[1] = d->C, dims[2] = d->H, dims[3] = d->W;
        break;
    case MD_Y:
        dims[0] = d->N, dims[1] = d->K, dims[2] = d->OH, dims[3] = d->OW;
        break;
    case MD_B:
        nd = 1, dims[0] = d->K, tag = dnnl_x;
        break;
    default:
        if (d->groups == 1) {
            dims[0] = d->K, dims[1] = d->C, dims[2] = d->R, dims[3] = d->S;
            tag = dnnl_oihw;
        } else {
            nd = 5, tag = dnnl_goihw;
            dims[0] = d->groups, dims[1] = d->K / d->groups, dims[2] = d->C / d->groups;
            dims[3] = d->R, dims[4] = d->S;
        }
        break;
    }
    if (mode == MODE_INT8 && (kind == MD_X || kind == MD_Y))
        tag = dnnl_nhwc; /* the int8 path keeps activations channels-last */
    if (mode == MODE_BLK && (kind == MD_Y || (kind == MD_X && !x_plain)))
        tag = dnnl_nChw16c; /* PF_BLK */
    return dn(dnnl_memory_desc_init_by_tag(md, nd, dims, md_type(kind, mode),
                                           plain ? tag : dnnl_format_tag_any),
              "memory descriptor");
}

/* Memory descriptor of one tensor of d: plain (the caller's layout) or format any. */
static int md_init(dnnl_memory_desc_t *md, const struct pf_conv_desc *d, enum md_kind kind,
                   bool plain)
{
    return md_init_t(md, d, kind, plain, MODE_F32, false);
}

/* The four format-any descriptors of d. */
static int mds_any(const struct pf_conv_desc *d, dnnl_memory_desc_t md[4])
{
    int rc = 0;
    for (int k = MD_X; k <= MD_Y && !rc; k++)
        rc = md_init(&md[k], d, (enum md_kind)k, false);
    return rc;
}

/* Forward primitive descriptor (forward_training, so it can also serve as a backward hint). */
static int fwd_pd_create(const struct pf_conv_desc *d, bool bias, dnnl_primitive_desc_t *pd)
{
    dnnl_memory_desc_t md[4];
    dnnl_convolution_desc_t cd;
    dnnl_dims_t strides = {d->stride_h, d->stride_w};
    dnnl_dims_t pad_l = {d->pad_t, d->pad_l}, pad_r = {d->pad_b, d->pad_r};
    int rc = mds_any(d, md);
    if (rc)
        return rc;
    rc = dn(dnnl_convolution_forward_desc_init(&cd, dnnl_forward_training, dnnl_convolution_direct,
                                               &md[MD_X], &md[MD_W], bias ? &md[MD_B] : NULL,
                                               &md[MD_Y], strides, pad_l, pad_r),
            "convolution forward descriptor");
    if (rc)
        return rc;
    return dn(dnnl_primitive_desc_create(pd, &cd, NULL, engine, NULL),
              "convolution forward primitive descriptor");
}

/* Fills edge e for argument `arg` of st->pd, the caller's layout given by `kind`. */
static int edge_build(struct edge *e, const struct pf_conv_desc *d, const struct step *st, int arg,
                      bool out, enum md_kind kind, int slot)
{
    dnnl_memory_desc_t user;
    dnnl_primitive_desc_t rpd = NULL;
    e->arg = arg;
    e->out = out;
    e->slot = slot;
    int rc = md_init_t(&user, d, kind, true, st->mode, st->x_plain);
    if (rc)
        return rc;
    if (kind == MD_ZP) /* an attribute argument: always the plain one-element layout */
        return dn(dnnl_memory_create(&e->user, &user, engine, DNNL_MEMORY_NONE), "memory creation");
    const dnnl_memory_desc_t *inner =
        dnnl_primitive_desc_query_md(st->pd, dnnl_query_exec_arg_md, arg);
    if (!inner)
        return PF_ERR(PF_EDEVICE, "oneDNN: convolution has no argument %d", arg);
    rc = dn(dnnl_memory_create(&e->user, &user, engine, DNNL_MEMORY_NONE), "memory creation");
    if (rc || dnnl_memory_desc_equal(inner, &user))
        return rc;
    e->size = dnnl_memory_desc_get_size(inner);
    rc = dn(dnnl_memory_create(&e->inner, inner, engine,
                               slot >= 0 ? DNNL_MEMORY_NONE : DNNL_MEMORY_ALLOCATE),
            "buffer allocation");
    if (rc)
        return rc;
    if (out)
        rc = dn(dnnl_reorder_primitive_desc_create(&rpd, inner, engine, &user, engine, NULL),
                "reorder descriptor");
    else
        rc = dn(dnnl_reorder_primitive_desc_create(&rpd, &user, engine, inner, engine, NULL),
                "reorder descriptor");
    if (rc)
        return rc;
    rc = dn(dnnl_primitive_create(&e->reorder, rpd), "reorder creation");
    dnnl_primitive_desc_destroy(rpd);
    return rc;
}

/* Creates st->prim from st->pd and the edges listed (slots: each edge's scratch slot, -1 for
 * a buffer of its own; NULL: all their own); on failure the caller frees st. */
static int step_finish(struct step *st, const struct pf_conv_desc *d, int n, const int *args,
                       const bool *outs, const enum md_kind *kinds, const int *slots)
{
    int rc = dn(dnnl_primitive_create(&st->prim, st->pd), "convolution primitive creation");
    for (int i = 0; i < n && !rc; i++) {
        st->n_edges = i + 1;
        rc = edge_build(&st->e[i], d, st, args[i], outs[i], kinds[i], slots ? slots[i] : -1);
    }
    st->built = rc == 0;
    return rc;
}

static int build_fwd(struct conv_state *s, bool bias)
{
    struct step *st = &s->fwd;
    static const int args[] = {DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_DST, DNNL_ARG_BIAS};
    static const bool outs[] = {false, false, true, false};
    static const enum md_kind kinds[] = {MD_X, MD_W, MD_Y, MD_B};
    /* x's blocked copy is kept for conv2d_backward when training (edge keep), else scratch like
     * y's, which is gone once reordered out */
    static const int slots[] = {SCRATCH_X, -1, SCRATCH_Y, -1};
    st->bias = bias;
    int rc = fwd_pd_create(&s->d, bias, &st->pd);
    if (!rc)
        rc = step_finish(st, &s->d, bias ? 4 : 3, args, outs, kinds, slots);
    if (rc)
        step_free(st);
    return rc;
}

static int build_bwd_data(struct conv_state *s)
{
    struct step *st = &s->bwd_data;
    const struct pf_conv_desc *d = &s->d;
    static const int args[] = {DNNL_ARG_DIFF_DST, DNNL_ARG_WEIGHTS, DNNL_ARG_DIFF_SRC};
    static const bool outs[] = {false, false, true};
    static const enum md_kind kinds[] = {MD_Y, MD_W, MD_X};
    static const int slots[] = {SCRATCH_Y, -1, SCRATCH_DX};
    dnnl_memory_desc_t md[4];
    dnnl_convolution_desc_t cd;
    dnnl_dims_t strides = {d->stride_h, d->stride_w};
    dnnl_dims_t pad_l = {d->pad_t, d->pad_l}, pad_r = {d->pad_b, d->pad_r};
    int rc = fwd_pd_create(d, false, &st->hint);
    if (!rc)
        rc = mds_any(d, md);
    if (!rc)
        rc = dn(dnnl_convolution_backward_data_desc_init(&cd, dnnl_convolution_direct, &md[MD_X],
                                                         &md[MD_W], &md[MD_Y], strides, pad_l,
                                                         pad_r),
                "convolution backward-data descriptor");
    if (!rc)
        rc = dn(dnnl_primitive_desc_create(&st->pd, &cd, NULL, engine, st->hint),
                "convolution backward-data primitive descriptor");
    if (!rc)
        rc = step_finish(st, d, 3, args, outs, kinds, slots);
    if (rc)
        step_free(st);
    return rc;
}

static int build_bwd_weights(struct conv_state *s, bool bias)
{
    struct step *st = &s->bwd_weights;
    const struct pf_conv_desc *d = &s->d;
    static const int args[] = {DNNL_ARG_SRC, DNNL_ARG_DIFF_DST, DNNL_ARG_DIFF_WEIGHTS,
                               DNNL_ARG_DIFF_BIAS};
    static const bool outs[] = {false, false, true, true};
    static const enum md_kind kinds[] = {MD_X, MD_Y, MD_W, MD_B};
    static const int slots[] = {SCRATCH_X, SCRATCH_Y, -1, -1};
    dnnl_memory_desc_t md[4];
    dnnl_convolution_desc_t cd;
    dnnl_dims_t strides = {d->stride_h, d->stride_w};
    dnnl_dims_t pad_l = {d->pad_t, d->pad_l}, pad_r = {d->pad_b, d->pad_r};
    st->bias = bias;
    int rc = fwd_pd_create(d, bias, &st->hint);
    if (!rc)
        rc = mds_any(d, md);
    if (!rc)
        rc = dn(dnnl_convolution_backward_weights_desc_init(&cd, dnnl_convolution_direct, &md[MD_X],
                                                            &md[MD_W], bias ? &md[MD_B] : NULL,
                                                            &md[MD_Y], strides, pad_l, pad_r),
                "convolution backward-weights descriptor");
    if (!rc)
        rc = dn(dnnl_primitive_desc_create(&st->pd, &cd, NULL, engine, st->hint),
                "convolution backward-weights primitive descriptor");
    if (!rc)
        rc = step_finish(st, d, bias ? 4 : 3, args, outs, kinds, slots);
    if (rc)
        step_free(st);
    return rc;
}

/* Runs st on the caller's buffers ptr[i] (one per edge, in edge order): input reorders, the
 * primitive, output reorders, then waits for the stream. Where given[i] is set (given may be
 * NULL), input edge i reads that memory, already in the primitive's layout, and its reorder is
 * skipped. */
static int step_run_given(struct conv_state *s, struct step *st, void *const *ptr,
                          const dnnl_memory_t *given)
{
    dnnl_exec_arg_t args[MAX_EDGES];
    int rc = 0;
    for (int i = 0; i < st->n_edges && !rc; i++) {
        struct edge *e = &st->e[i];
        rc = dn(dnnl_memory_set_data_handle(e->user, ptr[i]), "set data handle");
        args[i].arg = e->arg;
        args[i].memory = e->inner ? e->inner : e->user;
        if (!rc && given && given[i]) {
            args[i].memory = given[i];
            continue;
        }
        if (!rc && e->inner && e->slot >= 0) {
            if (e->keep && !e->own)
                e->own = pf_malloc_aligned(e->size);
            void *buf = e->keep ? e->own : scratch_get(e->slot, e->size);
            rc = buf ? dn(dnnl_memory_set_data_handle(e->inner, buf), "set scratch handle")
                     : PF_ERR(PF_ENOMEM, "convolution scratch: out of memory (%zu bytes)", e->size);
        }
        if (!rc && e->reorder && !e->out && !(e->constant && e->reordered == ptr[i])) {
            dnnl_exec_arg_t r[2] = {{DNNL_ARG_SRC, e->user}, {DNNL_ARG_DST, e->inner}};
            rc = dn(dnnl_primitive_execute(e->reorder, s->stream, 2, r), "input reorder");
            e->reordered = rc ? NULL : ptr[i];
        }
    }
    if (!rc)
        rc = dn(dnnl_primitive_execute(st->prim, s->stream, st->n_edges, args), "convolution");
    for (int i = 0; i < st->n_edges && !rc; i++) {
        struct edge *e = &st->e[i];
        if (e->reorder && e->out) {
            dnnl_exec_arg_t r[2] = {{DNNL_ARG_SRC, e->inner}, {DNNL_ARG_DST, e->user}};
            rc = dn(dnnl_primitive_execute(e->reorder, s->stream, 2, r), "output reorder");
        }
    }
    if (!rc)
        rc = dn(dnnl_stream_wait(s->stream), "stream wait");
    return rc;
}

static int step_run(struct conv_state *s, struct step *st, void *const *ptr)
{
    return step_run_given(s, st, ptr, NULL);
}

/* The library buffer of edge i of a, if b's edge j wants exactly that layout (so b can read a's
 * reordered copy); NULL otherwise. */
static dnnl_memory_t shared_inner(const struct step *a, int i, const struct step *b, int j)
{
    const dnnl_memory_desc_t *ma, *mb;
    if (!a->built || !b->built || !a->e[i].inner || !b->e[j].inner)
        return NULL;
    if (dnnl_memory_get_memory_desc(a->e[i].inner, &ma) ||
        dnnl_memory_get_memory_desc(b->e[j].inner, &mb))
        return NULL;
    return dnnl_memory_desc_equal(ma, mb) ? a->e[i].inner : NULL;
}

/* ---- the three convolutions ---- */

static int cpu_conv_fwd(const struct pf_conv_desc *d, void **state, const float *x, const float *w,
                        const float *b, float *y)
{
    struct conv_state *s;
    int rc = state_get(d, state, &s);
    if (rc)
        return rc;
    bool bias = b != NULL;
    if (s->fwd.built && s->fwd.bias != bias)
        step_free(&s->fwd);
    if (!s->fwd.built && (rc = build_fwd(s, bias)))
        return rc;
    void *ptr[] = {(void *)x, (void *)w, y, (void *)b};
    /* in a training loop (a backward came last) the blocked x is kept for the next
     * conv2d_backward, which then skips reordering x again; inference uses the scratch */
    s->fwd.e[0].keep = s->after_bwd;
    s->after_bwd = false;
    s->fwd_x = NULL;
    rc = step_run(s, &s->fwd, ptr);
    if (!rc && s->fwd.e[0].reorder && s->fwd.e[0].keep)
        s->fwd_x = x;
    return rc;
}

static int cpu_conv_bwd_data(const struct pf_conv_desc *d, void **state, const float *dy,
                             const float *w, float *dx)
{
    struct conv_state *s;
    int rc = state_get(d, state, &s);
    if (rc)
        return rc;
    if (!s->bwd_data.built && (rc = build_bwd_data(s)))
        return rc;
    void *ptr[] = {(void *)dy, (void *)w, dx};
    return step_run(s, &s->bwd_data, ptr);
}

/* The state of d with its backward-weights step built, with a bias gradient or not. */
static int bwd_weights_ready(const struct pf_conv_desc *d, void **state, bool bias,
                             struct conv_state **out)
{
    struct conv_state *s;
    int rc = state_get(d, state, &s);
    if (rc)
        return rc;
    if (s->bwd_weights.built && s->bwd_weights.bias != bias)
        step_free(&s->bwd_weights);
    if (!s->bwd_weights.built && (rc = build_bwd_weights(s, bias)))
        return rc;
    *out = s;
    return 0;
}

static int cpu_conv_bwd_weights(const struct pf_conv_desc *d, void **state, const float *x,
                                const float *dy, float *dw, float *db)
{
    struct conv_state *s;
    int rc = bwd_weights_ready(d, state, db != NULL, &s);
    if (rc)
        return rc;
    void *ptr[] = {(void *)x, (void *)dy, dw, db};
    return step_run(s, &s->bwd_weights, ptr);
}

/* Both backward convolutions of a training step. x is the last forward's input, unchanged (the
 * seam's contract), so when the forward reordered it into the layout backward-weights wants,
 * that copy is read again instead of reordering x a second time; and backward-data reads the
 * dy that backward-weights reordered, when their layouts agree. */
static int cpu_conv_bwd(const struct pf_conv_desc *d, void **state, const float *x, const float *dy,
                        const float *w, float *dx, float *dw, float *db)
{
    struct conv_state *s;
    int rc = bwd_weights_ready(d, state, db != NULL, &s);
    if (rc)
        return rc;
    if (dx && !s->bwd_data.built && (rc = build_bwd_data(s)))
        return rc;
    /* bwd_weights edges: src, diff_dst, diff_weights, diff_bias; bwd_data: diff_dst, w, diff_src */
    dnnl_memory_t given[MAX_EDGES] = {NULL};
    if (s->fwd_x == x)
        given[0] = shared_inner(&s->fwd, 0, &s->bwd_weights, 0);
    void *pw[] = {(void *)x, (void *)dy, dw, db};
    if ((rc = step_run_given(s, &s->bwd_weights, pw, given)) || !dx) {
        s->after_bwd = rc == 0;
        return rc;
    }
    dnnl_memory_t given_d[MAX_EDGES] = {shared_inner(&s->bwd_weights, 1, &s->bwd_data, 0)};
    void *pd[] = {(void *)dy, (void *)w, dx};
    rc = step_run_given(s, &s->bwd_data, pd, given_d);
    s->after_bwd = rc == 0;
    return rc;
}

/* ---- integer inference ---- */

/* u8 x s8 -> s32 convolution with a runtime source zero point; oneDNN treats padding as the
 * zero point (padding compensation), which is the real value 0 our callers expect. */
static int build_int8_fwd(struct conv_state *s)
{
    struct step *st = &s->int8_fwd;
    const struct pf_conv_desc *d = &s->d;
    static const int args[] = {DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_DST,
                               DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_SRC};
    static const bool outs[] = {false, false, true, false};
    static const enum md_kind kinds[] = {MD_X, MD_W, MD_Y, MD_ZP};
    dnnl_memory_desc_t md[4];
    dnnl_convolution_desc_t cd;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_dims_t strides = {d->stride_h, d->stride_w};
    dnnl_dims_t pad_l = {d->pad_t, d->pad_l}, pad_r = {d->pad_b, d->pad_r};
    const int32_t runtime = DNNL_RUNTIME_S32_VAL;
    st->mode = MODE_INT8;
    int rc = 0;
    for (int k = MD_X; k <= MD_Y && !rc; k++)
        rc = md_init_t(&md[k], d, (enum md_kind)k, false, MODE_INT8, false);
    if (!rc)
        rc = dn(dnnl_convolution_forward_desc_init(&cd, dnnl_forward_inference,
                                                   dnnl_convolution_direct, &md[MD_X], &md[MD_W],
                                                   NULL, &md[MD_Y], strides, pad_l, pad_r),
                "int8 convolution descriptor");
    if (!rc)
        rc = dn(dnnl_primitive_attr_create(&attr), "attribute creation");
    if (!rc)
        rc = dn(dnnl_primitive_attr_set_zero_points(attr, DNNL_ARG_SRC, 1, 0, &runtime),
                "source zero point");
    if (!rc)
        rc = dn(dnnl_primitive_desc_create(&st->pd, &cd, attr, engine, NULL),
                "int8 convolution primitive descriptor");
    if (attr)
        dnnl_primitive_attr_destroy(attr);
    if (!rc)
        rc = step_finish(st, d, 4, args, outs, kinds, NULL);
    if (!rc)
        st->e[1].constant = true; /* the weights (s8, with oneDNN's zero-point compensation) */
    if (rc)
        step_free(st);
    return rc;
}

static int cpu_conv_u8s8s32(const struct pf_conv_desc *d, void **state, const uint8_t *x,
                            int32_t x_zp, const int8_t *w, int32_t *acc)
{
    struct conv_state *s;
    int rc = state_get(d, state, &s);
    if (rc)
        return rc;
    if (!s->int8_fwd.built && (rc = build_int8_fwd(s)))
        return rc;
    int32_t zp = x_zp;
    void *ptr[] = {(void *)x, (void *)w, acc, &zp};
    return step_run(s, &s->int8_fwd, ptr);
}

/* oneDNN's integer GEMM (VNNI kernels where the CPU has them): C = (A - ao)(B - 0)^T. */
static int cpu_gemm_u8s8s32(int M, int N, int K, const uint8_t *A, int32_t a_zp, const int8_t *B,
                            int32_t *C)
{
    const int32_t co = 0;
    apply_threads();
    if (a_zp < 0 || a_zp > 255)
        return PF_ERR(PF_EINVAL, "int8 GEMM: zero point %d outside 0..255", (int)a_zp);
    return dn(dnnl_gemm_u8s8s32('N', 'T', 'F', M, N, K, 1.0f, A, K, (uint8_t)a_zp, B, K, 0, 0.0f, C,
                                N, &co),
              "int8 GEMM");
}

/* ---- element-wise and per-channel work ----
 * Plain NCHW loops the compiler vectorises (omp simd for the float reductions), split over the
 * OpenMP team oneDNN uses (the same threads, so nothing is oversubscribed). Every reduction is
 * done by one thread in a fixed order: results do not depend on the thread count. Per-channel
 * loops go channel by channel, so a channel's planes are re-read from cache, not memory. Small
 * tensors (batch-1 inference) stay on the calling thread without entering a parallel region. */

/* Below this many elements a loop stays on the calling thread: entering a parallel region costs
 * a few microseconds, about what 32K floats of streaming work take. */
enum { PAR_MIN = 1 << 15 };
/* Elements per task of the flat element-wise loops (16 KiB of floats). */
enum { CHUNK = 4096 };

static inline float clamp_act(float v, float lo, float hi)
{
    return v > lo ? (v < hi ? v : hi) : lo;
}

/* True for the clamp (-inf, inf): no activation, so no mask to read. */
static inline bool act_none(float lo, float hi)
{
    return isinf(lo) && lo < 0 && isinf(hi) && hi > 0;
}

/* ---- float inference on the blocked layout ---- */

/* The blocked step: source nChw16c (or plain NCHW), destination nChw16c, weights in the layout
 * oneDNN picks (reordered once per weight buffer), the clamp as an eltwise post-op. */
static int build_blk_fwd(struct conv_state *s, bool x_plain, bool bias, float lo, float hi)
{
    struct step *st = &s->blk_fwd;
    const struct pf_conv_desc *d = &s->blk_d;
    static const int args[] = {DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_DST, DNNL_ARG_BIAS};
    static const bool outs[] = {false, false, true, false};
    static const enum md_kind kinds[] = {MD_X, MD_W, MD_Y, MD_B};
    dnnl_memory_desc_t md[4];
    dnnl_convolution_desc_t cd;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t po = NULL;
    dnnl_dims_t strides = {d->stride_h, d->stride_w};
    dnnl_dims_t pad_l = {d->pad_t, d->pad_l}, pad_r = {d->pad_b, d->pad_r};
    st->mode = MODE_BLK;
    st->x_plain = x_plain;
    st->bias = bias;
    st->lo = lo;
    st->hi = hi;
    int rc = 0;
    /* source and destination in the caller's layout (no reorders), weights any */
    for (int k = MD_X; k <= MD_Y && !rc; k++)
        rc = md_init_t(&md[k], d, (enum md_kind)k, k != MD_W, MODE_BLK, x_plain);
    if (!rc)
        rc = dn(dnnl_convolution_forward_desc_init(
                    &cd, dnnl_forward_inference, dnnl_convolution_direct, &md[MD_X], &md[MD_W],
                    bias ? &md[MD_B] : NULL, &md[MD_Y], strides, pad_l, pad_r),
                "blocked convolution descriptor");
    if (!rc)
        rc = dn(dnnl_primitive_attr_create(&attr), "attribute creation");
    if (!rc && !act_none(lo, hi)) {
        rc = dn(dnnl_post_ops_create(&po), "post-op creation");
        if (!rc)
            rc = isinf(hi)
                     ? dn(dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_relu, 0.0f, 0.0f),
                          "ReLU post-op")
                     : dn(dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_clip, lo, hi),
                          "clip post-op");
        if (!rc)
            rc = dn(dnnl_primitive_attr_set_post_ops(attr, po), "post-op attribute");
    }
    if (!rc)
        rc = dn(dnnl_primitive_desc_create(&st->pd, &cd, attr, engine, NULL),
                "blocked convolution primitive descriptor");
    if (po)
        dnnl_post_ops_destroy(po);
    if (attr)
        dnnl_primitive_attr_destroy(attr);
    if (!rc)
        rc = step_finish(st, d, bias ? 4 : 3, args, outs, kinds, NULL);
    if (!rc)
        st->e[1].constant = true;
    if (rc)
        step_free(st);
    return rc;
}

static int cpu_conv_blk(const struct pf_conv_desc *d, void **state, bool x_plain, const float *x,
                        const float *w, const float *b, float lo, float hi, float *y)
{
    struct conv_state *s;
    int rc = state_get(d, state, &s);
    if (rc)
        return rc;
    /* ReLU (lo 0, hi inf) needs lo exactly 0: the post-op is max(v, 0) */
    if (!act_none(lo, hi) && isinf(hi) && lo != 0.0f)
        return PF_ERR(PF_EINVAL, "blocked convolution: clamp [%g, inf) is not a ReLU", (double)lo);
    struct step *st = &s->blk_fwd;
    if (st->built &&
        (st->x_plain != x_plain || st->bias != (b != NULL) || st->lo != lo || st->hi != hi))
        blk_free(s);
    if (!st->built) {
        /* oneDNN 2.6 has no JIT kernel for some channel counts that are not whole blocks on
         * this layout (11 input channels fell back to its reference loops, 300x slower); the
         * padding lanes hold zeros, so the same convolution over whole blocks, with zero
         * weights and bias at the padding, gives the same output and always gets one. The
         * network input (plain) and grouped convolutions keep their real counts. */
        s->blk_d = s->d;
        if (!x_plain && d->groups == 1) {
            s->blk_d.C = (d->C + PF_BLK - 1) / PF_BLK * PF_BLK;
            s->blk_d.K = (d->K + PF_BLK - 1) / PF_BLK * PF_BLK;
        }
        if ((rc = build_blk_fwd(s, x_plain, b != NULL, lo, hi)))
            return rc;
    }
    const struct pf_conv_desc *pd = &s->blk_d;
    bool padded = pd->C != d->C || pd->K != d->K;
    if (padded && (w != s->blk_w_of || b != s->blk_b_of)) {
        size_t per = (size_t)pd->R * pd->S;
        if (!s->blk_w && !(s->blk_w = pf_calloc((size_t)pd->K * pd->C * per, sizeof *w)))
            return -PF_ENOMEM;
        if (b && !s->blk_b && !(s->blk_b = pf_calloc((size_t)pd->K, sizeof *b)))
            return -PF_ENOMEM;
        for (int k = 0; k < d->K; k++)
            memcpy(s->blk_w + (size_t)k * pd->C * per, w + (size_t)k * d->C * per,
                   (size_t)d->C * per * sizeof *w);
        if (b)
            memcpy(s->blk_b, b, (size_t)d->K * sizeof *b);
        s->blk_w_of = w;
        s->blk_b_of = b;
        st->e[1].reordered = NULL; /* the padded copy changed: reorder it again */
    }
    void *ptr[] = {(void *)x, padded ? s->blk_w : (void *)w, y, padded ? s->blk_b : (void *)b};
    return step_run(s, st, ptr);
}

/* add_act on elements [i0, i1). */
static void add_act_range(size_t i0, size_t i1, int k, const float *const *xs, float lo, float hi,
                          float *y)
{
    const float *a = xs[0];
    if (k == 1) {
        for (size_t i = i0; i < i1; i++)
            y[i] = clamp_act(a[i], lo, hi);
        return;
    }
    /* summed in input order, as the oracle does: same rounding */
    const float *b = xs[1];
    if (k == 2) {
        for (size_t i = i0; i < i1; i++)
            y[i] = clamp_act(a[i] + b[i], lo, hi);
        return;
    }
    for (size_t i = i0; i < i1; i++)
        y[i] = a[i] + b[i];
    for (int j = 2; j < k; j++) {
        const float *c = xs[j];
        for (size_t i = i0; i < i1; i++)
            y[i] += c[i];
    }
    for (size_t i = i0; i < i1; i++)
        y[i] = clamp_act(y[i], lo, hi);
}

static void cpu_add_act(size_t n, int k, const float *const *xs, float lo, float hi, float *y)
{
    if (n < PAR_MIN) {
        add_act_range(0, n, k, xs, lo, hi, y);
        return;
    }
    long n_chunks = (long)((n + CHUNK - 1) / CHUNK);
    int nt = apply_threads();
#pragma omp parallel for schedule(static) num_threads(nt)
    for (long t = 0; t < n_chunks; t++) {
        size_t i0 = (size_t)t * CHUNK;
        add_act_range(i0, i0 + CHUNK < n ? i0 + CHUNK : n, k, xs, lo, hi, y);
    }
}

/* act_backward on elements [i0, i1). Masking is idempotent, so a dx[j] that is dy may come
 * first. */
static void act_backward_range(size_t i0, size_t i1, float lo, float hi, const float *y,
                               const float *dy, int k, float *const *dx)
{
    for (int j = 0; j < k; j++) {
        float *d = dx[j];
        if (!d)
            continue;
        for (size_t i = i0; i < i1; i++) {
            float g = dy[i]; /* loaded unconditionally: the select vectorises */
            d[i] = (y[i] > lo) & (y[i] < hi) ? g : 0.0f;
        }
    }
}

static void cpu_act_backward(size_t n, float lo, float hi, const float *y, const float *dy, int k,
                             float *const *dx)
{
    if (n < PAR_MIN) {
        act_backward_range(0, n, lo, hi, y, dy, k, dx);
        return;
    }
    long n_chunks = (long)((n + CHUNK - 1) / CHUNK);
    int nt = apply_threads();
#pragma omp parallel for schedule(static) num_threads(nt)
    for (long t = 0; t < n_chunks; t++) {
        size_t i0 = (size_t)t * CHUNK;
        act_backward_range(i0, i0 + CHUNK < n ? i0 + CHUNK : n, lo, hi, y, dy, k, dx);
    }
}

static void cpu_accumulate(size_t n, float *dst, const float *src)
{
    if (n < PAR_MIN) {
        for (size_t i = 0; i < n; i++)
            dst[i] += src[i];
        return;
    }
    long n_chunks = (long)((n + CHUNK - 1) / CHUNK);
    int nt = apply_threads();
#pragma omp parallel for schedule(static) num_threads(nt)
    for (long t = 0; t < n_chunks; t++) {
        size_t i0 = (size_t)t * CHUNK, i1 = i0 + CHUNK < n ? i0 + CHUNK : n;
        for (size_t i = i0; i < i1; i++)
            dst[i] += src[i];
    }
}

/* Sum of one plane, in float lanes (a plane is at most a few thousand values); the caller adds
 * the planes in double. */
static inline float plane_sum(const float *x, int n)
{
    float s = 0.0f;
#pragma omp simd reduction(+ : s)
    for (int i = 0; i < n; i++)
        s += x[i];
    return s;
}

static inline float plane_sqdev(const float *x, int n, float mu)
{
    float s = 0.0f;
#pragma omp simd reduction(+ : s)
    for (int i = 0; i < n; i++)
        s += (x[i] - mu) * (x[i] - mu);
    return s;
}

/* The arguments of one batch-norm call, shared by the per-channel workers (backend.h has their
 * meaning). */
struct bn_fwd_args {
    int N, C, HW;
    const float *x, *gamma, *beta;
    double eps;
    bool stats;
    float lo, hi;
    float *mean, *var, *invstd, *y;
};

struct bn_bwd_args {
    int N, C, HW;
    const float *x, *y, *dy, *mean, *invstd, *gamma;
    bool stats;
    float lo, hi;
    float *dgamma, *dbeta, *dx;
};

/* batchnorm_forward of channel c. */
static void bn_forward_channel(const struct bn_fwd_args *a, int c)
{
    int N = a->N, C = a->C, HW = a->HW;
    const float *x = a->x;
    size_t m = (size_t)N * HW;
    if (a->stats) {
        /* two passes (mean, then squared deviations): no cancellation */
        double s = 0.0, ss = 0.0;
        for (int n = 0; n < N; n++)
            s += plane_sum(x + ((size_t)n * C + c) * HW, HW);
        float mu = (float)(s / (double)m);
        for (int n = 0; n < N; n++)
            ss += plane_sqdev(x + ((size_t)n * C + c) * HW, HW, mu);
        a->mean[c] = mu;
        a->var[c] = (float)(ss / (double)m);
    }
    float inv = (float)(1.0 / sqrt((double)a->var[c] + a->eps));
    a->invstd[c] = inv;
    float scale = a->gamma[c] * inv, shift = a->beta[c] - a->mean[c] * scale;
    float lo = a->lo, hi = a->hi;
    for (int n = 0; n < N; n++) {
        const float *xc = x + ((size_t)n * C + c) * HW;
        float *yc = a->y + ((size_t)n * C + c) * HW;
        for (int i = 0; i < HW; i++)
            yc[i] = clamp_act(xc[i] * scale + shift, lo, hi);
    }
}

static void cpu_batchnorm_forward(int N, int C, int HW, const float *x, const float *gamma,
                                  const float *beta, double eps, bool stats, float lo, float hi,
                                  float *mean, float *var, float *invstd, float *y)
{
    struct bn_fwd_args a = {N, C, HW, x, gamma, beta, eps, stats, lo, hi, mean, var, invstd, y};
    if ((size_t)N * C * HW < PAR_MIN) {
        for (int c = 0; c < C; c++)
            bn_forward_channel(&a, c);
        return;
    }
    int nt = apply_threads();
#pragma omp parallel for schedule(static) num_threads(nt)
    for (int c = 0; c < C; c++)
        bn_forward_channel(&a, c);
}

/* batchnorm_backward of channel c. */
static void bn_backward_channel(const struct bn_bwd_args *a, int c)
{
    int N = a->N, C = a->C, HW = a->HW;
    size_t m = (size_t)N * HW;
    float lo = a->lo, hi = a->hi, mu = a->mean[c], inv = a->invstd[c];
    bool mask = !act_none(lo, hi);
    double sg = 0.0, sgx = 0.0; /* sum g, sum g (x - mu) */
    for (int n = 0; n < N; n++) {
        size_t o = ((size_t)n * C + c) * HW;
        const float *xc = a->x + o, *yc = a->y + o, *dyc = a->dy + o;
        float s = 0.0f, t = 0.0f;
        if (mask) {
#pragma omp simd reduction(+ : s, t)
            for (int i = 0; i < HW; i++) {
                float d = dyc[i], g = (yc[i] > lo) & (yc[i] < hi) ? d : 0.0f;
                s += g;
                t += g * (xc[i] - mu);
            }
        } else {
#pragma omp simd reduction(+ : s, t)
            for (int i = 0; i < HW; i++) {
                s += dyc[i];
                t += dyc[i] * (xc[i] - mu);
            }
        }
        sg += s;
        sgx += t;
    }
    sgx *= inv; /* sum g xhat */
    a->dbeta[c] += (float)sg;
    a->dgamma[c] += (float)sgx;
    if (!a->dx)
        return;
    /* dx = k (g - mean(g) - xhat mean(g xhat)) = k g - ka + c1 (x - mu), k = gamma inv; the
     * two mean terms only with stats (the batch mean and variance depend on x) */
    float k = a->gamma[c] * inv;
    float ka = a->stats ? (float)(k * sg / (double)m) : 0.0f;
    float c1 = a->stats ? (float)(-k * inv * sgx / (double)m) : 0.0f;
    for (int n = 0; n < N; n++) {
        size_t o = ((size_t)n * C + c) * HW;
        const float *xc = a->x + o, *yc = a->y + o, *dyc = a->dy + o;
        float *dxc = a->dx + o;
        if (mask) {
            for (int i = 0; i < HW; i++) {
                float d = dyc[i], g = (yc[i] > lo) & (yc[i] < hi) ? d : 0.0f;
                dxc[i] = k * g - ka + c1 * (xc[i] - mu);
            }
        } else {
            for (int i = 0; i < HW; i++)
                dxc[i] = k * dyc[i] - ka + c1 * (xc[i] - mu);
        }
    }
}

static void cpu_batchnorm_backward(int N, int C, int HW, const float *x, const float *y, float *dy,
                                   float lo, float hi, const float *mean, const float *invstd,
                                   const float *gamma, bool stats, float *dgamma, float *dbeta,
                                   float *dx)
{
    struct bn_bwd_args a = {N,     C,     HW, x,  y,      dy,    mean, invstd,
                            gamma, stats, lo, hi, dgamma, dbeta, dx};
    if ((size_t)N * C * HW < PAR_MIN) {
        for (int c = 0; c < C; c++)
            bn_backward_channel(&a, c);
        return;
    }
    int nt = apply_threads();
#pragma omp parallel for schedule(static) num_threads(nt)
    for (int c = 0; c < C; c++)
        bn_backward_channel(&a, c);
}

const struct pf_backend_ops pf_backend_cpu = {
    .name = "cpu",
    .set_threads = cpu_set_threads,
    .sgemm = cpu_sgemm,
    .conv2d_forward = cpu_conv_fwd,
    .conv2d_backward_data = cpu_conv_bwd_data,
    .conv2d_backward_weights = cpu_conv_bwd_weights,
    .conv2d_backward = cpu_conv_bwd,
    .conv_state_free = cpu_conv_state_free,
    .conv2d_u8s8s32 = cpu_conv_u8s8s32,
    .gemm_u8s8s32 = cpu_gemm_u8s8s32,
    .conv2d_blk = cpu_conv_blk,
    .add_act = cpu_add_act,
    .act_backward = cpu_act_backward,
    .accumulate = cpu_accumulate,
    .batchnorm_forward = cpu_batchnorm_forward,
    .batchnorm_backward = cpu_batchnorm_backward,
};

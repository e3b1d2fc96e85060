/* maxpool.c: 2-D max pooling per channel. Keys: kernel, stride (default = kernel), pad.
 *
 * Padding cells never win (they count as -inf, as PyTorch and TensorFlow pad), so explicit
 * padding is limited to kernel / 2 (PyTorch's rule), which guarantees every window holds a real
 * cell; TensorFlow's SAME padding always does. Forward records the winning input offset (h * W
 * + w within the plane) per output in an int32 argmax cache sized by set_batch; backward routes
 * each dy there. Ties go to the first cell in row-major order.
 * count(): other_ops = kh * kw comparisons per output. */
#include <float.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/core/pf_alloc.h"
#include "engine/core/pf_status.h"
#include "engine/layers/layer.h"

struct maxpool_priv {
    struct pf_window win; /* resolved for l->in[0] */
    int32_t *argmax;      /* (cap, C, OH, OW) winning offset in the input plane */
    int cap;              /* samples argmax holds */
};

static const char *const maxpool_keys[] = {"kernel", "stride", "pad", NULL};

static int maxpool_init(struct pf_layer *l, const struct pf_cfg *cfg)
{
    struct maxpool_priv *p = l->priv;
    int rc;
    if ((rc = pf_window_parse(&p->win, cfg, l->name, 1)) < 0)
        return rc;
    if (p->win.pad_mode == 2 && (p->win.ph > p->win.kh / 2 || p->win.pw > p->win.kw / 2))
        return pf_cfg_err(pf_cfg_get(cfg, "pad"),
                          "%s: pad %d, %d must be at most half the "
                          "kernel %dx%d",
                          l->name, p->win.ph, p->win.pw, p->win.kh, p->win.kw);
    if ((rc = pf_window_resolve(&p->win, l->in[0].h, l->in[0].w, cfg, l->name)) < 0)
        return rc;
    l->out = (struct pf_shape){l->in[0].c, p->win.oh, p->win.ow};
    return 0;
}

static int maxpool_set_batch(struct pf_layer *l, int N)
{
    struct maxpool_priv *p = l->priv;
    if (N <= p->cap)
        return 0;
    int32_t *a = pf_realloc_array(p->argmax, (size_t)N * pf_shape_numel(l->out), sizeof *a);
    if (!a)
        return -PF_ENOMEM;
    p->argmax = a;
    p->cap = N;
    return 0;
}

static int maxpool_forward(struct pf_layer *l, const float *const *x, float *y, int N, bool train)
{
    (void)train;
    struct maxpool_priv *p = l->priv;
    const struct pf_window *w = &p->win;
    if (N > p->cap)
        return PF_ERR(PF_EINVAL, "%s: batch %d exceeds the %d set by set_batch", l->name, N,
                      p->cap);
    int H = l->in[0].h, W = l->in[0].w, OH = l->out.h, OW = l->out.w;
    size_t planes = (size_t)N * l->out.c;
    for (size_t pl = 0; pl < planes; pl++) {
        const float *xp = x[0] + pl * H * W; /* (H, W) */
        float *yp = y + pl * OH * OW;        /* (OH, OW) */
        int32_t *ap = p->argmax + pl * OH * OW;
        for (int oh = 0; oh < OH; oh++) {
            for (int ow = 0; ow < OW; ow++) {
                int hs, he, ws, we;
                pf_window_clip(w, H, W, oh, ow, &hs, &he, &ws, &we);
                float best = -FLT_MAX;
                int32_t arg = hs * W + ws;
                for (int h = hs; h < he; h++)
                    for (int q = ws; q < we; q++)
                        if (xp[h * W + q] > best) {
                            best = xp[h * W + q];
                            arg = h * W + q;
                        }
                yp[oh * OW + ow] = xp[arg];
                ap[oh * OW + ow] = arg;
            }
        }
    }
    return 0;
}

static int maxpool_backward(struct pf_layer *l, const float *const *x, const float *y, float *dy,
                            float *const *dx, int N)
{
    (void)x;
    (void)y;
    struct maxpool_priv *p = l->priv;
    if (!dx[0])
        return 0;
    size_t in_plane = (size_t)l->in[0].h * l->in[0].w, out_plane = (size_t)l->out.h * l->out.w;
    size_t planes = (size_t)N * l->out.c;
    memset(dx[0], 0, planes * in_plane * sizeof(float));
    for (size_t pl = 0; pl < planes; pl++) {
        float *dxp = dx[0] + pl * in_plane;
        const float *dyp = dy + pl * out_plane;
        const int32_t *ap = p->argmax + pl * out_plane;
        for (size_t i = 0; i < out_plane; i++)
            dxp[ap[i]] += dyp[i];
    }
    return 0;
}

static void maxpool_count(const struct pf_layer *l, struct pf_count *out)
{
    const struct maxpool_priv *p = l->priv;
    out->macs = 0;
    out->other_ops = pf_shape_numel(l->out) * (uint64_t)p->win.kh * p->win.kw;
    out->params = 0;
}

static int maxpool_to_yaml(const struct pf_layer *l, char *buf, size_t n)
{
    const struct maxpool_priv *p = l->priv;
    return pf_window_to_yaml(&p->win, buf, n, p->win.sh != p->win.kh || p->win.sw != p->win.kw);
}

static void maxpool_deinit(struct pf_layer *l)
{
    struct maxpool_priv *p = l->priv;
    if (!p)
        return;
    free(p->argmax);
    p->argmax = NULL;
    p->cap = 0;
}

const struct pf_layer_ops pf_layer_maxpool = {
    .name = "maxpool",
    .keys = maxpool_keys,
    .priv_size = sizeof(struct maxpool_priv),
    .init = maxpool_init,
    .set_batch = maxpool_set_batch,
    .forward = maxpool_forward,
    .backward = maxpool_backward,
    .count = maxpool_count,
    .to_yaml = maxpool_to_yaml,
    .deinit = maxpool_deinit,
};

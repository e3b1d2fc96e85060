/* avgpool.c: 2-D average pooling per channel. Keys: kernel, stride (default = kernel), pad.
 *
 * Divisor: with explicit padding (pad: n or [h, w]) padding cells count as zeros and every
 * window divides by kh * kw, PyTorch's default (count_include_pad = True); explicit padding is
 * limited to kernel / 2 as in PyTorch. With pad: same the divisor is the number of real cells in
 * the window, TensorFlow's rule, so the edge outputs are true means. With pad: valid both agree.
 * count(): other_ops = kh * kw adds per output. */
#include <stdio.h>
#include <string.h>

#include "engine/core/pf_status.h"
#include "engine/layers/layer.h"

struct avgpool_priv {
    struct pf_window win; /* resolved for l->in[0] */
};

static const char *const avgpool_keys[] = {"kernel", "stride", "pad", NULL};

static int avgpool_init(struct pf_layer *l, const struct pf_cfg *cfg)
{
    struct avgpool_priv *p = l->priv;
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

/* The window of output (oh, ow) clipped to the input, and its divisor. */
static float avgpool_window(const struct pf_window *w, int H, int W, int oh, int ow, int *hs,
                            int *he, int *ws, int *we)
{
    pf_window_clip(w, H, W, oh, ow, hs, he, ws, we);
    if (w->pad_mode == 1)
        return 1.0f / (float)((*he - *hs) * (*we - *ws));
    return 1.0f / (float)(w->kh * w->kw);
}

static int avgpool_forward(struct pf_layer *l, const float *const *x, float *y, int N, bool train)
{
    (void)train;
    const struct avgpool_priv *p = l->priv;
    int H = l->in[0].h, W = l->in[0].w, OH = l->out.h, OW = l->out.w;
    size_t planes = (size_t)N * l->out.c;
    for (size_t pl = 0; pl < planes; pl++) {
        const float *xp = x[0] + pl * H * W; /* (H, W) */
        float *yp = y + pl * OH * OW;        /* (OH, OW) */
        for (int oh = 0; oh < OH; oh++)
            for (int ow = 0; ow < OW; ow++) {
                int hs, he, ws, we;
                float scale = avgpool_window(&p->win, H, W, oh, ow, &hs, &he, &ws, &we);
                float s = 0.0f;
                for (int h = hs; h < he; h++)
                    for (int q = ws; q < we; q++)
                        s += xp[h * W + q];
                yp[oh * OW + ow] = s * scale;
            }
    }
    return 0;
}

static int avgpool_backward(struct pf_layer *l, const float *const *x, const float *y, float *dy,
                            float *const *dx, int N)
{
    (void)x;
    (void)y;
    const struct avgpool_priv *p = l->priv;
    if (!dx[0])
        return 0;
    int H = l->in[0].h, W = l->in[0].w, OH = l->out.h, OW = l->out.w;
    size_t planes = (size_t)N * l->out.c;
    memset(dx[0], 0, planes * H * W * sizeof(float));
    for (size_t pl = 0; pl < planes; pl++) {
        float *dxp = dx[0] + pl * H * W;
        const float *dyp = dy + pl * OH * OW;
        for (int oh = 0; oh < OH; oh++)
            for (int ow = 0; ow < OW; ow++) {
                int hs, he, ws, we;
                float g =
                    dyp[oh * OW + ow] * avgpool_window(&p->win, H, W, oh, ow, &hs, &he, &ws, &we);
                for (int h = hs; h < he; h++)
                    for (int q = ws; q < we; q++)
                        dxp[h * W + q] += g;
            }
    }
    return 0;
}

static void avgpool_count(const struct pf_layer *l, struct pf_count *out)
{
    const struct avgpool_priv *p = l->priv;
    out->macs = 0;
    out->other_ops = pf_shape_numel(l->out) * (uint64_t)p->win.kh * p->win.kw;
    out->params = 0;
}

static int avgpool_to_yaml(const struct pf_layer *l, char *buf, size_t n)
{
    const struct avgpool_priv *p = l->priv;
    return pf_window_to_yaml(&p->win, buf, n, p->win.sh != p->win.kh || p->win.sw != p->win.kw);
}

const struct pf_layer_ops pf_layer_avgpool = {
    .name = "avgpool",
    .keys = avgpool_keys,
    .priv_size = sizeof(struct avgpool_priv),
    .init = avgpool_init,
    .forward = avgpool_forward,
    .backward = avgpool_backward,
    .count = avgpool_count,
    .to_yaml = avgpool_to_yaml,
};

/* infer.h: the float inference network (module API): a trained or pruned model compiled for
 * fast inference on the CPU.
 *
 * pf_model_forward runs the training graph: every layer reads and writes plain NCHW, so each
 * oneDNN convolution reorders its input into the blocked layout its kernels use and its output
 * back, and batch norm and activations are passes of their own. Those passes scale with the
 * channel count while the convolutions' MACs scale with its square, which is why a
 * channel-pruned model ran well short of its MACs ratio there. The inference network runs the
 * same model with batch norm folded into the convolution before it (pf_model_fold_bn), the
 * activation fused into the convolution, and every activation kept in the BLOCKED layout
 * (backend.h, conv2d_blk: blocks of PF_BLK channels, the layout oneDNN's AVX-512 kernels use)
 * from the first convolution to the classifier: no reorders, no batch-norm passes.
 *
 * Layers: conv2d (grouped too), dense, batchnorm (folded where it follows a conv2d or dense;
 * elsewhere a per-channel scale and shift), maxpool, avgpool, gap, relu, relu6, flatten,
 * dropout, add, concat; anything else, and a model with activation quantization on, is
 * -PF_EUNSUPPORTED naming the layer. Its logits equal pf_model_forward's (inference mode) up
 * to float rounding (batch norm folding: about 1e-5 relative). */
#ifndef PF_ENGINE_MODEL_INFER_H
#define PF_ENGINE_MODEL_INFER_H

#include "engine/model/graph.h"

struct pf_infer_net;

/* Builds the inference network of m (weights are copied: m may change or go afterwards). Free
 * with pf_infer_net_free. 0, -PF_EUNSUPPORTED, -PF_ENOMEM or a netdef error. */
int pf_infer_net_new(const struct pf_model *m, struct pf_infer_net **out);
void pf_infer_net_free(struct pf_infer_net *n);

/* Runs N images x (N, C, H, W) and writes the logits (N, classes). Allocates its buffers on the
 * first call at a batch size (not in later calls at that size or below). 0 or an error. */
int pf_infer_net_forward(struct pf_infer_net *n, const float *x, int N, float *logits);
/* The same as a pf_forward_fn (train.h) of net = a struct pf_infer_net. */
int pf_infer_forward(void *net, const float *x, int N, float *logits);

#endif

/* int8.h: integer inference of a quantized model (module API), the target of `uniform-tf`.
 *
 * A model is "int8-ready" when (1) batch norm has been folded into the convolutions before it
 * (pf_model_fold_bn), (2) every conv2d / dense weight is an affine qtensor of at most 8 bits with
 * zero point 0 and one scale per output channel (TF's symmetric int8 weights), (3) the model has
 * activation quantization (graph.h) of at most 8 bits on the network input and on every layer
 * output except the logits, with observed ranges, and (4) biases are int32 affine qtensors with
 * scale s_in * s_w[k] (pf_int8_quantize_biases). Saved, such a model is the int8 model: int8
 * weights, int32 biases, scales and zero points under /quant.
 *
 * Its float forward pass with fake quantization (pf_model_forward) is the SIMULATED model; struct
 * pf_int8_net runs the same network on integers: uint8 activations with per-tensor scale and
 * zero point, int8 x uint8 products accumulated in int32 (pf_conv2d_u8s8s32 / pf_gemm_u8s8s32:
 * oneDNN's int8 convolution and GEMM on `cpu`, plain loops on `cpu_ref`), and requantization
 * q_out = clamp(round(acc * s_in * s_w / s_out) + zp_out) with the fused ReLU / ReLU6 as the
 * clamp bounds. The logits are dequantized from the last layer's accumulator. The integer path
 * differs from the simulated one only by float rounding at requantization boundaries (an output
 * value may land one step away). */
#ifndef PF_ENGINE_MODEL_INT8_H
#define PF_ENGINE_MODEL_INT8_H

#include <stdint.h>

#include "engine/io/dataset.h"
#include "engine/model/graph.h"
#include "engine/model/train.h"

/* A copy of m with every batchnorm that directly follows a conv2d or dense layer (its only
 * consumer, with no activation of its own) folded into it, with running statistics:
 * w' = w * gamma / sqrt(var + eps) per output channel, b' = (b - mean) * gamma / sqrt(var + eps)
 * + beta; the conv gets a bias and the batchnorm's activation; readers of the batchnorm read the
 * conv. Other layers are copied as they are (a batchnorm elsewhere stays). Masks and quantized
 * forms are not carried over (the weights change). Caller frees *out. 0, -PF_ENOMEM or a netdef
 * error. Inference outputs of the copy equal m's up to float rounding. */
int pf_model_fold_bn(const struct pf_model *m, struct pf_model **out);

/* Batch-norm layer bn in inference mode as y = x * scale[c] + shift[c], c < bn->out.c (computed
 * in double from its running statistics and eps): scale = gamma / sqrt(running_var + eps),
 * shift = beta - running_mean * scale. 0 or an error. */
int pf_bn_affine(const struct pf_layer *bn, float *scale, float *shift);

/* The scale and zero point of activation entry i of m (a layer, or m->n_layers for the
 * input), following ties. -PF_EINVAL if the entry is off or has no observed range. */
int pf_int8_act_params(const struct pf_model *m, int i, float *scale, int32_t *zero_point);

/* Quantizes the bias of every conv2d / dense layer whose weight is an affine qtensor to int32
 * with scale s_in * s_w[k] (s_in: the scale of the layer's input activation): the bias becomes
 * an affine 32-bit qtensor and holds its decoded values. 0, -PF_EINVAL (no input quantization)
 * or -PF_ENOMEM. */
int pf_int8_quantize_biases(struct pf_model *m);

struct pf_int8_net;

/* Builds the integer network of an int8-ready model (conditions at the top; each unmet one is
 * -PF_EUNSUPPORTED / -PF_EINVAL naming the layer). Layers supported: conv2d (grouped too),
 * dense, maxpool, avgpool, gap, relu, relu6, flatten, dropout, add, concat. Borrows nothing after
 * it returns (weights are copied). Free with pf_int8_net_free. */
int pf_int8_net_new(const struct pf_model *m, struct pf_int8_net **out);
void pf_int8_net_free(struct pf_int8_net *n);

/* Runs N images x (N, C, H, W), float as pf_model_forward takes them, and writes the logits
 * (N, classes). Allocates its buffers on the first call at a batch size (not in later calls).
 * 0 or an error. */
int pf_int8_net_forward(struct pf_int8_net *n, const float *x, int N, float *logits);
/* The same as a pf_forward_fn (train.h) of net = a struct pf_int8_net. */
int pf_int8_forward(void *net, const float *x, int N, float *logits);

/* Evaluates the integer network on idx[0..cnt) of d (all if idx is NULL) in batches of `batch`,
 * as pf_evaluate does for float models (pred, if not NULL: each image's predicted class). */
int pf_int8_net_evaluate(struct pf_int8_net *n, const struct pf_dataset *d, const uint32_t *idx,
                         uint32_t cnt, int batch, struct pf_eval_result *r, int *pred);

#endif

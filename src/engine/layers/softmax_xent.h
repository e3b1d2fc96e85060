/* softmax_xent.h: softmax cross-entropy loss on logits (the network's training loss).
 * Not a layer kind: the training loop calls it on the last layer's output. */
#ifndef PF_ENGINE_LAYERS_SOFTMAX_XENT_H
#define PF_ENGINE_LAYERS_SOFTMAX_XENT_H

/* Mean over the batch of -log softmax(logits[n])[labels[n]], computed stably (log-sum-exp with
 * the row max subtracted). logits (N, classes), labels (N) in [0, classes).
 * dlogits (N, classes), may be NULL: overwritten with (softmax - onehot) / N, the gradient of
 * the mean loss. correct_out, may be NULL: the number of rows whose arg max (first on ties)
 * equals the label. Borrows everything. Returns 0, or -PF_EINVAL (N < 1, classes < 1, a label
 * out of range; nothing is written then). */
int pf_softmax_xent(const float *logits, const int *labels, int N, int classes, float *loss_out,
                    float *dlogits, int *correct_out);

#endif

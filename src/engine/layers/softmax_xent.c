/* softmax_xent.c: softmax cross-entropy, mean over the batch, with its gradient.
 * Stable: log-sum-exp subtracts the row max, so large logits never overflow exp(). Sums are in
 * double (classes can be many and the loss is reported to users). */
#include "engine/layers/softmax_xent.h"

#include <math.h>
#include <stddef.h>

#include "engine/core/pf_status.h"

int pf_softmax_xent(const float *logits, const int *labels, int N, int classes, float *loss_out,
                    float *dlogits, int *correct_out)
{
    if (N < 1 || classes < 1)
        return PF_ERR(PF_EINVAL, "softmax cross-entropy: batch %d, classes %d", N, classes);
    for (int n = 0; n < N; n++)
        if (labels[n] < 0 || labels[n] >= classes)
            return PF_ERR(PF_EINVAL,
                          "softmax cross-entropy: label %d of sample %d is outside "
                          "0..%d",
                          labels[n], n, classes - 1);
    double loss = 0.0;
    int correct = 0;
    for (int n = 0; n < N; n++) {
        const float *z = logits + (size_t)n * classes; /* (classes) */
        int arg = 0;
        for (int j = 1; j < classes; j++)
            if (z[j] > z[arg])
                arg = j;
        correct += arg == labels[n];
        double mx = z[arg], s = 0.0;
        for (int j = 0; j < classes; j++)
            s += exp((double)z[j] - mx);
        double lse = mx + log(s);
        loss += lse - z[labels[n]];
        if (dlogits) {
            float *d = dlogits + (size_t)n * classes;
            for (int j = 0; j < classes; j++)
                d[j] = (float)((exp((double)z[j] - lse) - (j == labels[n])) / N);
        }
    }
    if (loss_out)
        *loss_out = (float)(loss / N);
    if (correct_out)
        *correct_out = correct;
    return 0;
}

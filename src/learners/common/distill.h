/* distill.h: knowledge distillation loss (PocketFlow's learners/distillation_helper.py).
 *
 * Teacher = the unpruned / uncompressed model (same architecture), its logits z_t computed in
 * inference mode on the same batch and treated as constants. With T = tempr_dst and
 * w = loss_w_dst (PocketFlow: 4.0 and 4.0), the loss added to the task loss is
 *     L_dst = w * mean_n( -sum_k softmax(z_t,n / T)_k * log softmax(z_s,n / T)_k )
 * (PocketFlow: no T^2 factor). With t2_scaled the loss is multiplied by T^2 (Hinton et al.),
 * which keeps the soft term's gradient scale independent of T.
 * Gradient with respect to the student logits:
 *     dL/dz_s,n = w * s * (softmax(z_s,n / T) - softmax(z_t,n / T)) / (T * N),  s = 1 or T^2.
 *
 * Wiring into fine-tuning (not done yet): a per-step hook between the loss and the backward
 * pass of pf_train (train.h) that runs the teacher's forward on the batch, calls
 * pf_distill_loss with dz_s = the loop's dlogits (accumulating), and adds the loss; then common
 * options enbl_dst / loss_w_dst / tempr_dst in pf_run_common_opts and a teacher = clone of
 * r->model taken by pf_run_exec before the learner runs. */
#ifndef PF_LEARNERS_COMMON_DISTILL_H
#define PF_LEARNERS_COMMON_DISTILL_H

#include <stdbool.h>

#define PF_DISTILL_LOSS_W 4.0 /* PocketFlow's loss_w_dst */
#define PF_DISTILL_TEMPR  4.0 /* PocketFlow's tempr_dst */

struct pf_distill_cfg {
    double loss_w;  /* loss_w_dst, >= 0 */
    double tempr;   /* tempr_dst, > 0 */
    bool t2_scaled; /* multiply by T^2 (not PocketFlow's default) */
};

/* Distillation loss of student logits zs against teacher logits zt, both (N, K). loss_out may be
 * NULL. dzs (N, K), may be NULL: the gradient is ADDED to it (so it can sit on top of the task
 * loss's dlogits). Computed stably in double precision. Returns 0, or -PF_EINVAL (N < 1, K < 1,
 * tempr <= 0, loss_w < 0; nothing written then). */
int pf_distill_loss(const float *zs, const float *zt, int N, int K, const struct pf_distill_cfg *c,
                    float *loss_out, float *dzs);

#endif

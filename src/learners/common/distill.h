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
 *
 * Wiring (PocketFlow's --enbl_dst, for every learner): with the common option enbl_dst,
 * pf_run_exec clones the model as loaded (before the learner changes it) into run->teacher;
 * every fine-tune through pf_run_finetune / pf_run_finetune_cfg then chains the learner's own
 * training hooks with the hook below (struct pf_train_hooks, before_backward): per step it runs
 * the teacher forward in inference mode on the same augmented batch, adds the gradient of
 * L_dst to the task loss's dlogits, and keeps the mean of L_dst for the "loss_dst" metric.
 * Options loss_w_dst, tempr_dst and dst_t2_scaled (ours) set the struct pf_distill_cfg.
 * PocketFlow's LeNet and FMNIST ConvNet output probabilities (a softmax inside the net), so
 * there its "logits" were probabilities and both the task loss and this one applied a second
 * softmax on top; our nets always output logits, so that quirk is not reproduced. */
#ifndef PF_LEARNERS_COMMON_DISTILL_H
#define PF_LEARNERS_COMMON_DISTILL_H

#include <stdbool.h>

#include "engine/model/graph.h"
#include "engine/model/train.h"

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

/* The training hook's state: one per fine-tune. */
struct pf_distill_hook {
    struct pf_model *teacher;  /* borrowed; its activations are resized to the batch */
    struct pf_distill_cfg cfg; /* checked by pf_distill_hook_init */
    double loss_sum;           /* sum of the per-step L_dst since pf_distill_hook_take */
    long steps;                /* steps in loss_sum */
};

/* Sets up h for a student of teacher's shape and fills hooks with a before_backward that
 * does the work (its user is h; the other entries are NULL). The teacher must take the same
 * input and output as many classes as the student (checked at the first step). Returns 0 or
 * -PF_EINVAL (a bad cfg, named as the options tempr_dst / loss_w_dst). */
int pf_distill_hook_init(struct pf_distill_hook *h, struct pf_model *teacher,
                         const struct pf_distill_cfg *cfg, struct pf_train_hooks *hooks);

/* The hook itself (struct pf_train_hooks.before_backward; user = struct pf_distill_hook): the
 * teacher's forward (inference mode) on x, then pf_distill_loss on the student's logits
 * (pf_model_logits(m)) adding into dlogits (N, classes). Returns 0, -PF_ESHAPE (teacher and
 * student disagree on the input or the classes) or an error of the forward. */
int pf_distill_before_backward(struct pf_model *m, const float *x, int N, float *dlogits, long step,
                               void *user);

/* The mean L_dst over the steps since the previous call (0 if none), and resets it. */
double pf_distill_hook_take(struct pf_distill_hook *h);

#endif

/* groups.h: channel groups, the output channels of a model that must be pruned together.
 *
 * Computed once per model from the graph (pf_groups_build). A group is born at every layer that
 * creates channels (a non-depthwise conv2d, a dense layer, the network input) and is passed
 * through unchanged by batchnorm, relu, relu6, pools, dropout and depthwise convs (groups = C:
 * its input and output channels are the same channels). An `add` ties its inputs' groups into
 * one (union-find): e.g. in a ResNet the convs feeding a residual add, and the shortcut, form one
 * group. A `concat` output is the concatenation of its inputs' groups; `flatten` and `gap` keep
 * the groups (flatten turns each channel into H*W consecutive features).
 *
 * Each layer's output channel axis is therefore a list of segments {group, mult}: `mult`
 * consecutive channels per group channel (mult = 1 for most layers; H*W after a flatten; the
 * channel multiplier of a depthwise conv with K = m*C). A layer's input axis is its producer's
 * output list.
 *
 * A group is prunable unless it holds the network input, or the last layer's output (logits),
 * or it meets a grouped conv (1 < groups < C: its groups would no longer divide the channels),
 * or an `add` whose inputs are split into different segments. Its producers are the layers
 * whose weights' OUTPUT axis holds the group (conv2d, dense); its consumers are the conv2d /
 * dense layers whose weights' INPUT axis reads it (a depthwise conv is a member, neither). */
#ifndef PF_ENGINE_MODEL_GROUPS_H
#define PF_ENGINE_MODEL_GROUPS_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/model/graph.h"

struct pf_chan_seg {
    int group; /* index into pf_groups.groups */
    int mult;  /* channels of the layer per channel of the group (>= 1) */
};

enum pf_group_fixed {
    PF_GROUP_FREE = 0,  /* prunable */
    PF_GROUP_INPUT,     /* the network input's channels */
    PF_GROUP_LOGITS,    /* reaches the model's output (the class logits) */
    PF_GROUP_GROUPED,   /* read or written by a grouped conv (1 < groups < C) */
    PF_GROUP_MIXED_ADD, /* an add of differently segmented inputs (e.g. two unlike concats) */
    PF_GROUP_OTHER,     /* read or written by a layer kind the pruner does not know */
};

struct pf_group {
    int channels; /* channels of the group in the model as it is now */
    enum pf_group_fixed fixed;
    int *producers; /* layer indices whose weights' output axis is this group; owned */
    int n_producers;
    int *consumers; /* conv2d / dense layers whose weights' input axis reads it; owned */
    int n_consumers;
    int *touch; /* every layer whose input or output holds the group, ascending; owned */
    int n_touch;
};

struct pf_groups {
    int n_layers; /* of the model it was built for */
    int n_groups;
    struct pf_group *groups;    /* n_groups, owned */
    int *out_start;             /* n_layers + 1: layer i's output segments are */
    struct pf_chan_seg *segs;   /*   segs[out_start[i] .. out_start[i + 1]) ; owned */
    int input_start, input_end; /* segments of the network input (one, the input group) */
};

/* Builds the channel groups of m. Caller frees *out with pf_groups_free. Returns 0 or
 * -PF_ENOMEM (*out NULL). Borrows m; the result describes m's graph (layer indices), and stays
 * valid across pf_model_prune_group, which updates the channel counts. */
int pf_groups_build(const struct pf_model *m, struct pf_groups **out);
void pf_groups_free(struct pf_groups *g);

/* Output segments of layer i (layer -1: the network input). */
static inline const struct pf_chan_seg *pf_groups_out(const struct pf_groups *g, int i, int *n)
{
    int s = i < 0 ? g->input_start : g->out_start[i],
        e = i < 0 ? g->input_end : g->out_start[i + 1];
    *n = e - s;
    return g->segs + s;
}

/* Segments of layer i's first input (its producer's output). */
const struct pf_chan_seg *pf_groups_in(const struct pf_groups *g, const struct pf_model *m, int i,
                                       int *n);
/* The group of layer i's output when it is a single segment, else -1 (a concat). */
int pf_groups_out_group(const struct pf_groups *g, int i);
/* The group of layer i's first input when it is a single segment, else -1. */
int pf_groups_in_group(const struct pf_groups *g, const struct pf_model *m, int i);
/* Why a group cannot be pruned, in words ("" when it can). */
const char *pf_group_fixed_str(enum pf_group_fixed f);

/* ---- physical channel removal ---- */

/* Removes the channels of `group` with keep[c] == 0 (keep has g->groups[group].channels
 * entries; at least one kept) from every layer that holds them: producers lose output channels
 * (weights, bias), consumers input channels (dense: the matching features), batchnorm and
 * depthwise convs both; every touched layer's shapes are updated down the graph, masks shrink
 * with their params, g's channel count is updated, and activations are reallocated for the
 * model's batch. A fixed group is refused (-PF_EINVAL, naming the group's first layer). On an
 * allocation failure (-PF_ENOMEM) the model may be left part-pruned: discard it. */
int pf_model_prune_group(struct pf_model *m, struct pf_groups *g, int group, const uint8_t *keep);

/* L1-norm channel ranking (Li et al. 2017, PocketFlow's cp_lasso = False flavour): scores every
 * channel of `group` by the summed L1 norm of its producers' output filters, and marks the
 * n_keep highest in keep[0..channels) (1 = keep; ties keep the lower index). Returns 0 or
 * -PF_EINVAL (n_keep out of 1..channels). */
int pf_group_l1_keep(const struct pf_model *m, const struct pf_groups *g, int group, int n_keep,
                     uint8_t *keep);

#endif

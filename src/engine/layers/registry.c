/* registry.c: every layer kind, looked up by its YAML `type:` name.
 * To add a layer kind: write src/engine/layers/<kind>.c defining
 * `const struct pf_layer_ops pf_layer_<kind>`, add its extern to layer.h and one row below, add
 * tests/check_layer_<kind>.c (shape, forward fixture, gradient check). */
#include <string.h>

#include "engine/core/pf_status.h"
#include "engine/layers/layer.h"

/* one row per kind, kept so by hand */
/* clang-format off */
const struct pf_layer_ops *const pf_layers[] = {
    &pf_layer_conv2d,
    &pf_layer_dense,
    &pf_layer_batchnorm,
    &pf_layer_relu,
    &pf_layer_relu6,
    &pf_layer_maxpool,
    &pf_layer_avgpool,
    &pf_layer_gap,
    &pf_layer_add,
    &pf_layer_concat,
    &pf_layer_flatten,
    &pf_layer_dropout,
    &pf_layer_layernorm,
    NULL,
};
/* clang-format on */
const size_t pf_layers_len = PF_ARRAY_LEN(pf_layers) - 1;

const struct pf_layer_ops *pf_layer_find(const char *name)
{
    for (size_t i = 0; i < pf_layers_len; i++)
        if (strcmp(pf_layers[i]->name, name) == 0)
            return pf_layers[i];
    return NULL;
}

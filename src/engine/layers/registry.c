/* registry.c: every layer kind, looked up by its YAML `type:` name.
 * To add a layer kind: write src/engine/layers/<kind>.c defining
 * `const struct pf_layer_ops pf_layer_<kind>`, add one extern and one row below, and add
 * tests/check_layer_<kind>.c (shape, forward fixture, gradient check). */
#include <string.h>

#include "engine/core/pf_status.h"
#include "engine/layers/layer.h"

const struct pf_layer_ops *const pf_layers[] = {
    NULL,
};
const size_t pf_layers_len = PF_ARRAY_LEN(pf_layers) - 1;

const struct pf_layer_ops *pf_layer_find(const char *name)
{
    for (size_t i = 0; i < pf_layers_len; i++)
        if (strcmp(pf_layers[i]->name, name) == 0)
            return pf_layers[i];
    return NULL;
}

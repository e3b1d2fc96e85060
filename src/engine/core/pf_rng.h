/* pf_rng.h: seeded random numbers (xoshiro256**, seeded through splitmix64). Deterministic on
 * every platform, so a run is bit-reproducible for a given seed and thread count. */
#ifndef PF_ENGINE_CORE_PF_RNG_H
#define PF_ENGINE_CORE_PF_RNG_H

#include <stdint.h>

struct pf_rng {
    uint64_t s[4]; /* xoshiro256** state */
};

void pf_rng_seed(struct pf_rng *r, uint64_t seed);
uint64_t pf_rng_u64(struct pf_rng *r);
/* Uniform in [0, n); n > 0. Unbiased (rejection). */
uint32_t pf_rng_below(struct pf_rng *r, uint32_t n);
/* Uniform float in [0, 1). */
float pf_rng_uniform(struct pf_rng *r);
/* Standard normal (Box-Muller; no cached second value, so the stream is simple to replay). */
float pf_rng_normal(struct pf_rng *r);
/* Fisher-Yates shuffle of idx[0..n). */
void pf_rng_shuffle(struct pf_rng *r, uint32_t *idx, uint32_t n);

#endif

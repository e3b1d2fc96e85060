/* pf_rng.c: xoshiro256** (Blackman & Vigna), seeded by splitmix64. */
#include "engine/core/pf_rng.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static inline uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

void pf_rng_seed(struct pf_rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&seed);
}

uint64_t pf_rng_u64(struct pf_rng *r)
{
    uint64_t *s = r->s;
    uint64_t out = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return out;
}

uint32_t pf_rng_below(struct pf_rng *r, uint32_t n)
{
    uint32_t lim = (uint32_t)(-n) % n; /* 2^32 mod n: values below it are rejected */
    for (;;) {
        uint32_t x = (uint32_t)(pf_rng_u64(r) >> 32);
        if (x >= lim)
            return x % n;
    }
}

float pf_rng_uniform(struct pf_rng *r)
{
    return (float)(pf_rng_u64(r) >> 40) * 0x1.0p-24f;
}

float pf_rng_normal(struct pf_rng *r)
{
    double u1 = ((double)(pf_rng_u64(r) >> 11) + 1.0) * 0x1.0p-53; /* (0, 1] */
    double u2 = (double)(pf_rng_u64(r) >> 11) * 0x1.0p-53;
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

void pf_rng_shuffle(struct pf_rng *r, uint32_t *idx, uint32_t n)
{
    for (uint32_t i = n; i > 1; i--) {
        uint32_t j = pf_rng_below(r, i);
        uint32_t t = idx[i - 1];
        idx[i - 1] = idx[j];
        idx[j] = t;
    }
}

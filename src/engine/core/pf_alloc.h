/* pf_alloc.h: overflow-checked allocation that reports PF_ENOMEM instead of aborting. */
#ifndef PF_ENGINE_CORE_PF_ALLOC_H
#define PF_ENGINE_CORE_PF_ALLOC_H

#include <stddef.h>

/* Each returns NULL and sets PF_ENOMEM (with the size) on failure or size overflow.
 * Free with free(). pf_malloc_aligned's result is 64-byte aligned (free with free()). */
void *pf_malloc(size_t n);
void *pf_calloc(size_t count, size_t size);
void *pf_malloc_aligned(size_t n);
/* Resizes p to count*size bytes; on failure p is untouched (never p = realloc(p, n)). */
void *pf_realloc_array(void *p, size_t count, size_t size);
/* strdup that reports PF_ENOMEM. */
char *pf_strdup(const char *s);

#endif

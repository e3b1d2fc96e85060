/* pf_time.c: the monotonic clock. */
#include "engine/core/pf_time.h"

#include <time.h>

double pf_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

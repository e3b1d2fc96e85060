/* pf_time.h: the one monotonic clock every timing in pocketflow reads. */
#ifndef PF_ENGINE_CORE_PF_TIME_H
#define PF_ENGINE_CORE_PF_TIME_H

/* Seconds on CLOCK_MONOTONIC (an arbitrary origin: only differences mean anything). */
double pf_now_s(void);

#endif

/* events.c: the bounded event queue between a worker (a learner's run) and the main thread. */
#include <string.h>

#include "learners/learner.h"

void pf_evq_init(struct pf_event_queue *q)
{
    memset(q, 0, sizeof *q);
    pthread_mutex_init(&q->lock, NULL);
}

void pf_evq_deinit(struct pf_event_queue *q)
{
    pthread_mutex_destroy(&q->lock);
}

static bool droppable(enum pf_event_kind k)
{
    return k == PF_EV_METRIC || k == PF_EV_PROGRESS;
}

void pf_evq_push(struct pf_event_queue *q, const struct pf_event *e)
{
    pthread_mutex_lock(&q->lock);
    if (q->len == PF_EVQ_CAP) {
        /* drop the oldest droppable event; if none (a flood of logs), drop the oldest */
        int victim = 0;
        for (int i = 0; i < q->len; i++)
            if (droppable(q->ev[(q->head + i) % PF_EVQ_CAP].kind)) {
                victim = i;
                break;
            }
        for (int i = victim; i > 0; i--)
            q->ev[(q->head + i) % PF_EVQ_CAP] = q->ev[(q->head + i - 1) % PF_EVQ_CAP];
        q->head = (q->head + 1) % PF_EVQ_CAP;
        q->len--;
        q->dropped++;
    }
    q->ev[(q->head + q->len) % PF_EVQ_CAP] = *e;
    q->len++;
    pthread_mutex_unlock(&q->lock);
}

int pf_evq_pop(struct pf_event_queue *q, struct pf_event *out, int max)
{
    pthread_mutex_lock(&q->lock);
    int n = q->len < max ? q->len : max;
    for (int i = 0; i < n; i++)
        out[i] = q->ev[(q->head + i) % PF_EVQ_CAP];
    q->head = (q->head + n) % PF_EVQ_CAP;
    q->len -= n;
    pthread_mutex_unlock(&q->lock);
    return n;
}

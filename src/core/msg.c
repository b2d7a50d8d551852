#include "core/msg.h"

#include <stdlib.h>

bool msg_queue_push(struct msg_queue *q, struct msg *m)
{
	struct msg *old = atomic_load_explicit(&q->head, memory_order_relaxed);

	do {
		m->next = old;
	} while (!atomic_compare_exchange_weak_explicit(&q->head, &old, m, memory_order_release,
							memory_order_relaxed));
	return old == NULL;
}

bool msg_queue_empty(struct msg_queue *q)
{
	return atomic_load_explicit(&q->head, memory_order_relaxed) == NULL;
}

int msg_queue_run(struct msg_queue *q)
{
	struct msg *list, *fifo = NULL;
	int n = 0;

	if (msg_queue_empty(q))
		return 0;
	list = atomic_exchange_explicit(&q->head, NULL, memory_order_acquire);
	/* The stack holds newest first: reverse it so messages run in the order they were sent. */
	while (list) {
		struct msg *next = list->next;

		list->next = fifo;
		fifo = list;
		list = next;
	}
	while (fifo) {
		struct msg *m = fifo;

		fifo = m->next;
		m->fn(m->arg);
		free(m);
		n++;
	}
	return n;
}

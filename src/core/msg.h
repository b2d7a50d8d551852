/* Multi-producer single-consumer message queue (internal to the reactor). Producers push with a
 * CAS on the head; the consumer takes the whole list at once and runs it oldest first. */
#ifndef VHOSTD_CORE_MSG_H
#define VHOSTD_CORE_MSG_H

#include <stdatomic.h>
#include <stdbool.h>

struct msg {
	void (*fn)(void *arg);
	void *arg;
	struct msg *next;
};

struct msg_queue {
	_Atomic(struct msg *) head;
};

/* Returns true when the queue was empty before (the consumer may need waking). */
bool msg_queue_push(struct msg_queue *q, struct msg *m);
/* Runs every queued message; returns how many ran. */
int msg_queue_run(struct msg_queue *q);
bool msg_queue_empty(struct msg_queue *q);

#endif

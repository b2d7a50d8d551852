/* What queue.c and user.c need from the controller (internal to src/vhost). */
#ifndef VHOSTD_VHOST_DEV_INTERNAL_H
#define VHOSTD_VHOST_DEV_INTERNAL_H

#include "vhost/vhost.h"

struct reactor;
struct vhost_session;

struct reactor *vhost_dev_worker_for_queue(const struct vhost_dev *dev, uint16_t index);
void vhost_session_foreach_queue(struct vhost_session *s, void (*fn)(struct vhost_vq *vq, void *arg),
				 void (*done)(void *arg), void *arg);

#endif

/*
 * A front-end connection to a controller (internal to src/vhost). Owned by the control thread; its
 * queues run on workers (vq.h). user.c speaks the protocol, dev.c moves queues between threads.
 */
#ifndef VHOSTD_VHOST_SESSION_H
#define VHOSTD_VHOST_SESSION_H

#include "vhost/mem.h"
#include "vhost/user_proto.h"
#include "vhost/vq.h"

struct vhost_dev;
struct reactor_fd;

struct vhost_session {
	struct vhost_dev *dev;
	char name[96];
	int fd;
	struct reactor_fd *rfd;
	/* receive state: a message may arrive in pieces */
	struct vhost_user_msg rx;
	size_t rx_have;
	/* protocol state */
	uint64_t features, protocol_features;
	bool features_set;
	uint8_t status;
	struct vhost_mem mem;
	struct vhost_vq vqs[VHOST_MAX_QUEUES];
	int backend_fd;
	struct vhost_inflight *inflight;
	uint64_t inflight_recover; /* queues whose area came from a previous back-end, not yet started */
	/* a message waiting for queues to stop before it can be applied */
	struct vhost_user_msg deferred;
	bool has_deferred;
	int stops_pending;
	void (*stops_done)(struct vhost_session *s);
	bool closing;
};

const char *vhost_session_name(const struct vhost_session *s);

/* user.c */
struct vhost_session *vhost_session_create(struct vhost_dev *dev, int fd);
/* Applies a message whose queues are stopped; replies. Returns 0 or -errno to drop the connection. */
int vhost_session_apply(struct vhost_session *s, struct vhost_user_msg *msg);
void vhost_session_free(struct vhost_session *s);
/* Drops the connection: queues drain, then the session is freed and the controller told. */
void vhost_session_disconnect(struct vhost_session *s);
/* Sends CONFIG_CHANGE_MSG over the back-end channel; -ENOTSUP when the front-end did not set one up. */
int vhost_session_send_config_change(struct vhost_session *s);

/* dev.c */
bool vhost_vq_ready(const struct vhost_session *s, const struct vhost_vq *vq);
void vhost_session_start_ready_queues(struct vhost_session *s);
/* Stops the started queues in mask; then() runs on the control thread once all have stopped
 * (at once when none had to). */
void vhost_session_stop_queues(struct vhost_session *s, uint64_t mask, void (*then)(struct vhost_session *s));
uint64_t vhost_session_started_mask(const struct vhost_session *s);
/* Swaps a running queue's call fd on its worker. */
void vhost_vq_update_call_fd(struct vhost_vq *vq, int fd);
void vhost_dev_session_closed(struct vhost_dev *dev);
const struct vhost_dev_ops *vhost_session_ops(const struct vhost_session *s);

#endif

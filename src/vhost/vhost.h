/*
 * The vhost-user back-end shared by both personalities.
 *
 * A controller (vhost_dev) listens on DIR/<name>; one front-end at a time connects (a session). The
 * control reactor runs the socket protocol; each virtqueue, once the front-end made it ready, runs on
 * one worker of the controller's cpumask (queue i on worker i mod n). On its worker the layer pops
 * requests from the ring, validated (hostile guest rules, DESIGN.md), and hands them to the
 * personality's request(); the personality finishes each with vhost_req_complete() on the same worker.
 * A queue stops (GET_VRING_BASE, disable, disconnect, memory change) only after every request it
 * handed out has completed.
 */
#ifndef VHOSTD_VHOST_H
#define VHOSTD_VHOST_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>
#include <jansson.h>

#include "core/cpuset.h"

/* seg_max advertised to guests plus header and status descriptors. */
#define VHOST_SEG_MAX 126
#define VHOST_REQ_MAX_IOV (VHOST_SEG_MAX + 2)
#define VHOST_MAX_QUEUES 64

struct vhost_dev;
struct vhost_vq;

struct vhost_req {
	struct vhost_vq *vq;
	uint16_t id;      /* head index (split) or buffer id (packed) */
	uint16_t slots;   /* ring slots the chain took (packed) */
	uint16_t iovcnt;  /* device-readable iovecs first (out_cnt of them), then device-writable */
	uint16_t out_cnt;
	uint32_t out_len; /* bytes the device may read */
	uint32_t in_len;  /* bytes the device may write */
	uint32_t used_max; /* in_len as popped (in_len may be trimmed): the most ever reported */
	struct iovec iov[VHOST_REQ_MAX_IOV];
};

struct vhost_dev_ops {
	const char *type;   /* "vhost-blk", "vhost-scsi" */
	size_t req_size;    /* size of the personality's request; struct vhost_req first */
	/* Control thread. */
	uint64_t (*features)(struct vhost_dev *dev);      /* device feature bits offered */
	uint16_t (*num_queues)(struct vhost_dev *dev);    /* GET_QUEUE_NUM */
	int (*get_config)(struct vhost_dev *dev, uint8_t *config, uint32_t len); /* bytes filled */
	void (*dump_info)(struct vhost_dev *dev, json_t *backend_specific);
	void (*destroy)(struct vhost_dev *dev);           /* frees the personality's part */
	/* The queue's worker. */
	int (*queue_start)(struct vhost_vq *vq);
	/* Optional: the queue is about to stop and will wait for every request handed out; return
	 * the ones held without I/O behind them (eventq buffers) now. */
	void (*queue_stopping)(struct vhost_vq *vq);
	void (*queue_stop)(struct vhost_vq *vq);
	void (*request)(struct vhost_vq *vq, struct vhost_req *req);
};

struct vhost_dev_opts {
	const char *name;
	const char *cpumask;   /* NULL: every worker */
	bool packed_ring;      /* offer VIRTIO_F_RING_PACKED */
};

/* Global settings, before the first controller. */
void vhost_set_socket_dir(const char *dir);
const char *vhost_socket_dir(void);
void vhost_set_socket_perms(unsigned mode, int uid, int gid); /* uid/gid -1: unchanged */

/* Control thread. Creates the controller and binds its socket now (listen=true) or later. */
int vhost_dev_create(const struct vhost_dev_opts *opts, const struct vhost_dev_ops *ops, void *ctx,
		     bool listen, struct vhost_dev **out, char *err, size_t errlen);
int vhost_dev_listen(struct vhost_dev *dev, char *err, size_t errlen);
/* -EBUSY while a front-end is connected. */
int vhost_dev_delete(struct vhost_dev *dev);
struct vhost_dev *vhost_dev_find(const char *name);
void vhost_dev_foreach(void (*fn)(struct vhost_dev *dev, void *arg), void *arg);
/* Shutdown: closes every listening socket, disconnects every front-end (queues drain first), deletes
 * every controller, then calls done. */
void vhost_shutdown(void (*done)(void *arg), void *arg);
const char *vhost_dev_name(const struct vhost_dev *dev);
void *vhost_dev_ctx(const struct vhost_dev *dev);
const struct vhost_dev_ops *vhost_dev_ops(const struct vhost_dev *dev);
const struct cpuset *vhost_dev_cpumask(const struct vhost_dev *dev);
bool vhost_dev_packed_ring(const struct vhost_dev *dev);
bool vhost_dev_connected(const struct vhost_dev *dev);
/* vhost_get_controllers' common fields (ctrlr, cpumask, delay_base_us, iops_threshold, socket, ...). */
void vhost_dev_dump(struct vhost_dev *dev, json_t *obj);
/* Tells the front-end the config space changed (BACKEND_REQ CONFIG_CHANGE_MSG); -ENOTCONN/-ENOTSUP. */
int vhost_dev_config_changed(struct vhost_dev *dev);
/* Interrupt coalescing as SPDK: delay guest notifications by up to delay_base_us when a queue runs
 * above iops_threshold. 0/0 turns it off. */
int vhost_dev_set_coalescing(struct vhost_dev *dev, uint32_t delay_base_us, uint32_t iops_threshold);
uint32_t vhost_dev_coalesce_delay(const struct vhost_dev *dev);
uint32_t vhost_dev_coalesce_threshold(const struct vhost_dev *dev);
/* Runs fn on the worker of every started queue, then done on the control thread. */
void vhost_dev_foreach_queue(struct vhost_dev *dev, void (*fn)(struct vhost_vq *vq, void *arg),
			     void (*done)(void *arg), void *arg);

/* The queue's worker. */
struct vhost_dev *vhost_vq_dev(const struct vhost_vq *vq);
uint16_t vhost_vq_index(const struct vhost_vq *vq);
void *vhost_vq_priv(const struct vhost_vq *vq);
void vhost_vq_set_priv(struct vhost_vq *vq, void *priv);
uint64_t vhost_vq_features(const struct vhost_vq *vq); /* negotiated */
/* Returns req to the guest with used_len bytes written. Never calls back into the personality:
 * the queue_stop() its last request may allow runs later. */
void vhost_req_complete(struct vhost_req *req, uint32_t used_len);


#endif

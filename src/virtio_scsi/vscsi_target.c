/*
 * Targets on the control thread: adding one (live too), removing one (RPC or bdev gone), resize,
 * and the references that hold a target's desc open while a queue's LUN copy uses it.
 *
 * A slot is read by an I/O queue when it starts (vscsi_ioq_start). A finalized target therefore
 * stays allocated (with removing set and no refs, so nobody takes it) until no session runs.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/reactor.h"
#include "virtio_scsi/vscsi_internal.h"

bool vscsi_target_get(struct vscsi_target *t)
{
	int n = atomic_load(&t->refs);

	while (n > 0)
		if (atomic_compare_exchange_weak(&t->refs, &n, n + 1))
			return true;
	return false;
}

static void vscsi_target_bury(struct vscsi_ctrlr *c, struct vscsi_target *t)
{
	t->next_dead = c->dead;
	c->dead = t;
	if (c->deleting || vhost_dev_connected(c->vdev))
		return;
	while (c->dead) {
		t = c->dead;
		c->dead = t->next_dead;
		free(t->bdev_name);
		free(t);
	}
}

/* Control thread, after the last reference: every LUN copy is gone. */
static void vscsi_target_finalize(void *arg)
{
	struct vscsi_target *t = arg;
	struct vscsi_ctrlr *c = t->ctrlr;

	bdev_close(t->desc);
	t->desc = NULL;
	atomic_store(&c->targets[t->num], NULL);
	c->live--;
	if (!c->deleting) {
		log_notice("%s: target %d (bdev %s) removed", vhost_dev_name(c->vdev), t->num,
			   t->bdev_name);
		vscsi_event_post(c, VIRTIO_SCSI_T_TRANSPORT_RESET, t->num,
				 VIRTIO_SCSI_EVT_RESET_REMOVED);
	}
	vscsi_target_bury(c, t);
	vscsi_ctrlr_maybe_free(c);
}

void vscsi_target_put(struct vscsi_target *t)
{
	if (atomic_fetch_sub(&t->refs, 1) == 1)
		reactor_send(reactor_control(), vscsi_target_finalize, t);
}

/* --- walks over the started queues --- */

struct vscsi_walk {
	struct vscsi_target *t;
	atomic_bool change; /* some queue negotiated VIRTIO_SCSI_F_CHANGE */
};

static struct vscsi_walk *vscsi_walk_begin(struct vscsi_target *t)
{
	struct vscsi_walk *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->t = t;
	t->ctrlr->busy++;
	return w;
}

static void vscsi_walk_end(struct vscsi_walk *w)
{
	struct vscsi_ctrlr *c = w->t->ctrlr;

	vscsi_target_put(w->t);
	free(w);
	c->busy--;
	vscsi_ctrlr_maybe_free(c);
}

static void vscsi_attach_on_queue(struct vhost_vq *vq, void *arg)
{
	struct vscsi_walk *w = arg;
	struct vscsi_ioq *q = vscsi_ioq_of(vq);

	if (q)
		vscsi_ioq_attach(q, w->t);
}

static void vscsi_attach_done(void *arg)
{
	struct vscsi_walk *w = arg;
	struct vscsi_target *t = w->t;

	if (!atomic_load(&t->removing))
		vscsi_event_post(t->ctrlr, VIRTIO_SCSI_T_TRANSPORT_RESET, t->num,
				 VIRTIO_SCSI_EVT_RESET_RESCAN);
	vscsi_walk_end(w);
}

static void vscsi_detach_on_queue(struct vhost_vq *vq, void *arg)
{
	struct vscsi_walk *w = arg;
	struct vscsi_ioq *q = vscsi_ioq_of(vq);

	/* The LUN's removed callback drops the copy's reference once its tasks are done. */
	if (q && q->devs[w->t->num])
		scsi_dev_remove_lun(q->devs[w->t->num], 0);
}

static void vscsi_detach_done(void *arg)
{
	vscsi_walk_end(arg);
}

static void vscsi_resize_on_queue(struct vhost_vq *vq, void *arg)
{
	struct vscsi_walk *w = arg;
	struct vscsi_ioq *q = vscsi_ioq_of(vq);
	struct scsi_lun *lun;

	if (vhost_vq_index(vq) == VSCSI_EVENTQ &&
	    (vhost_vq_features(vq) & (1ULL << VIRTIO_SCSI_F_CHANGE)))
		atomic_store(&w->change, true);
	lun = q ? vscsi_ioq_lun(q, w->t->num, 0) : NULL;
	if (lun)
		scsi_lun_notify_resize(lun);
}

static void vscsi_resize_done(void *arg)
{
	struct vscsi_walk *w = arg;
	struct vscsi_target *t = w->t;

	/* ASC/ASCQ 2A/09, CAPACITY DATA HAS CHANGED; the event's reason is ascq << 8 | asc. */
	uint32_t reason = (SCSI_ASC_CAPACITY_CHANGED & 0xff) << 8 | SCSI_ASC_CAPACITY_CHANGED >> 8;

	if (atomic_load(&w->change) && !atomic_load(&t->removing))
		vscsi_event_post(t->ctrlr, VIRTIO_SCSI_T_PARAM_CHANGE, t->num, reason);
	vscsi_walk_end(w);
}

/* Runs fn on every started queue, holding a reference on t until done. */
static void vscsi_target_walk(struct vscsi_target *t, void (*fn)(struct vhost_vq *vq, void *arg),
			      void (*done)(void *arg))
{
	struct vscsi_walk *w;

	if (!vscsi_target_get(t))
		return;
	w = vscsi_walk_begin(t);
	if (!w) {
		log_error("%s: target %d: out of memory telling the queues",
			  vhost_dev_name(t->ctrlr->vdev), t->num);
		vscsi_target_put(t);
		return;
	}
	vhost_dev_foreach_queue(t->ctrlr->vdev, fn, done, w);
}

void vscsi_target_start_removal(struct vscsi_target *t)
{
	struct vscsi_ctrlr *c = t->ctrlr;

	if (atomic_exchange(&t->removing, true))
		return;
	/* Queues started from now on skip the target; those running drop their copy. */
	if (!c->deleting && vhost_dev_connected(c->vdev))
		vscsi_target_walk(t, vscsi_detach_on_queue, vscsi_detach_done);
	vscsi_target_put(t); /* the controller's reference */
}

void vscsi_targets_release_all(struct vscsi_ctrlr *c)
{
	for (int i = 0; i < VSCSI_MAX_TARGETS; i++) {
		struct vscsi_target *t = atomic_load(&c->targets[i]);

		if (t)
			vscsi_target_start_removal(t);
	}
}

static void vscsi_target_bdev_event(enum bdev_event event, struct bdev *bdev, void *ctx)
{
	struct vscsi_target *t = ctx;
	struct vscsi_ctrlr *c = t->ctrlr;

	if (atomic_load(&t->removing))
		return;
	switch (event) {
	case BDEV_EVENT_REMOVE:
		log_warn("%s: bdev %s of target %d is being removed", vhost_dev_name(c->vdev),
			 t->bdev_name, t->num);
		vscsi_target_start_removal(t);
		break;
	case BDEV_EVENT_RESIZE:
		log_notice("%s: bdev %s of target %d resized to %llu blocks",
			   vhost_dev_name(c->vdev), t->bdev_name, t->num,
			   (unsigned long long)bdev_num_blocks(bdev));
		if (vhost_dev_connected(c->vdev))
			vscsi_target_walk(t, vscsi_resize_on_queue, vscsi_resize_done);
		break;
	}
}

static int vscsi_target_pick(struct vscsi_ctrlr *c, int num, char *err, size_t errlen)
{
	struct vscsi_target *t;

	if (num == -1) {
		for (int i = 0; i < VSCSI_MAX_TARGETS; i++)
			if (!atomic_load(&c->targets[i]))
				return i;
		snprintf(err, errlen, "every target number (0..%d) is in use",
			 VSCSI_MAX_TARGETS - 1);
		return -ENOSPC;
	}
	if (num < 0 || num >= VSCSI_MAX_TARGETS) {
		snprintf(err, errlen, "scsi_target_num %d out of range (-1 or 0..%d)", num,
			 VSCSI_MAX_TARGETS - 1);
		return -EINVAL;
	}
	t = atomic_load(&c->targets[num]);
	if (t && atomic_load(&t->removing)) {
		snprintf(err, errlen, "target %d is still being removed", num);
		return -EBUSY;
	}
	if (t) {
		snprintf(err, errlen, "target %d is already in use (bdev %s)", num, t->bdev_name);
		return -EEXIST;
	}
	return num;
}

int vscsi_target_add(struct vhost_dev *dev, int num, const char *bdev_name, char *err,
		     size_t errlen)
{
	struct vscsi_ctrlr *c = vhost_dev_ctx(dev);
	struct vscsi_target *t;
	int rc;

	err[0] = '\0';
	num = vscsi_target_pick(c, num, err, errlen);
	if (num < 0)
		return num;
	t = calloc(1, sizeof(*t));
	if (!t || !(t->bdev_name = strdup(bdev_name))) {
		free(t);
		return -ENOMEM;
	}
	t->ctrlr = c;
	t->num = num;
	atomic_init(&t->refs, 1);
	rc = bdev_open(bdev_name, true, vscsi_target_bdev_event, t, &t->desc);
	if (rc) {
		snprintf(err, errlen,
			 rc == -ENODEV ? "no such bdev '%s'" : "cannot open bdev '%s': %s",
			 bdev_name, strerror(-rc));
		free(t->bdev_name);
		free(t);
		return rc;
	}
	scsi_lun_shared_init(&t->shared, bdev_num_blocks(bdev_desc_bdev(t->desc)));
	atomic_store(&c->targets[num], t);
	c->live++;
	log_notice("%s: target %d over bdev %s", vhost_dev_name(dev), num, bdev_name);
	if (vhost_dev_connected(dev))
		vscsi_target_walk(t, vscsi_attach_on_queue, vscsi_attach_done);
	return num;
}

int vscsi_target_remove(struct vhost_dev *dev, int num, char *err, size_t errlen)
{
	struct vscsi_ctrlr *c = vhost_dev_ctx(dev);
	struct vscsi_target *t;

	err[0] = '\0';
	if (num < 0 || num >= VSCSI_MAX_TARGETS) {
		snprintf(err, errlen, "scsi_target_num %d out of range (0..%d)", num,
			 VSCSI_MAX_TARGETS - 1);
		return -EINVAL;
	}
	t = atomic_load(&c->targets[num]);
	if (!t) {
		snprintf(err, errlen, "controller '%s' has no target %d", vhost_dev_name(dev), num);
		return -ENODEV;
	}
	if (atomic_load(&t->removing)) {
		snprintf(err, errlen, "target %d is already being removed", num);
		return -EBUSY;
	}
	log_notice("%s: removing target %d (bdev %s)", vhost_dev_name(dev), num, t->bdev_name);
	vscsi_target_start_removal(t);
	return 0;
}

const char *vscsi_target_bdev_name(const struct vhost_dev *dev, int num)
{
	struct vscsi_ctrlr *c = vhost_dev_ctx(dev);
	struct vscsi_target *t = atomic_load(&c->targets[num]);

	return t && !atomic_load(&t->removing) ? t->bdev_name : NULL;
}

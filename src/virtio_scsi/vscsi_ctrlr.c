/* vhost-scsi controllers: features, config space, queue roles, dump and lifetime. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "virtio_scsi/vscsi_internal.h"

static uint64_t vscsi_features(struct vhost_dev *dev)
{
	(void)dev;
	return (1ULL << VIRTIO_SCSI_F_HOTPLUG) | (1ULL << VIRTIO_SCSI_F_CHANGE);
}

static uint16_t vscsi_num_queues(struct vhost_dev *dev)
{
	(void)dev;
	return VSCSI_FIRST_IOQ + VSCSI_IO_QUEUES;
}

static int vscsi_get_config(struct vhost_dev *dev, uint8_t *config, uint32_t len)
{
	struct virtio_scsi_config cfg = {
		.num_queues = VSCSI_IO_QUEUES,
		.seg_max = VHOST_SEG_MAX,
		.max_sectors = SCSI_MAX_TRANSFER_BYTES / 512,
		.cmd_per_lun = 128,
		.event_info_size = sizeof(struct virtio_scsi_event),
		.sense_size = VIRTIO_SCSI_SENSE_DEFAULT_SIZE,
		.cdb_size = VIRTIO_SCSI_CDB_DEFAULT_SIZE,
		.max_channel = 0,
		.max_target = VSCSI_MAX_TARGETS - 1,
		.max_lun = SCSI_DEV_MAX_LUNS - 1,
	};

	(void)dev;
	if (len < sizeof(cfg))
		return -EINVAL;
	memcpy(config, &cfg, sizeof(cfg));
	return sizeof(cfg);
}

static void vscsi_dump_info(struct vhost_dev *dev, json_t *backend_specific)
{
	json_t *targets = json_array();
	char name[32];

	for (int i = 0; i < VSCSI_MAX_TARGETS; i++) {
		const char *bdev = vscsi_target_bdev_name(dev, i);

		if (!bdev)
			continue;
		snprintf(name, sizeof(name), "Target %d", i);
		json_array_append_new(targets, json_pack("{s:i, s:i, s:s, s:[{s:i, s:s}]}",
							 "scsi_dev_num", i, "id", i, "target_name",
							 name, "luns", "id", 0, "bdev_name", bdev));
	}
	json_object_set_new(backend_specific, "scsi", targets);
}

void vscsi_ctrlr_maybe_free(struct vscsi_ctrlr *c)
{
	if (!c->deleting || c->live || c->busy)
		return;
	while (c->dead) {
		struct vscsi_target *t = c->dead;

		c->dead = t->next_dead;
		free(t->bdev_name);
		free(t);
	}
	free(c);
}

static void vscsi_destroy(struct vhost_dev *dev)
{
	struct vscsi_ctrlr *c = vhost_dev_ctx(dev);

	/* No session any more: targets only wait for messages already on their way. */
	c->deleting = true;
	c->vdev = NULL;
	vscsi_targets_release_all(c);
	vscsi_ctrlr_maybe_free(c);
}

static int vscsi_queue_start(struct vhost_vq *vq)
{
	switch (vhost_vq_index(vq)) {
	case VSCSI_CONTROLQ:
		return 0;
	case VSCSI_EVENTQ:
		return vscsi_eventq_start(vq);
	default:
		return vscsi_ioq_start(vq);
	}
}

static void vscsi_queue_stopping(struct vhost_vq *vq)
{
	if (vhost_vq_index(vq) == VSCSI_EVENTQ)
		vscsi_eventq_stopping(vq);
}

static void vscsi_queue_stop(struct vhost_vq *vq)
{
	switch (vhost_vq_index(vq)) {
	case VSCSI_CONTROLQ:
		break;
	case VSCSI_EVENTQ:
		vscsi_eventq_stop(vq);
		break;
	default:
		vscsi_ioq_stop(vq);
		break;
	}
}

static void vscsi_request(struct vhost_vq *vq, struct vhost_req *req)
{
	switch (vhost_vq_index(vq)) {
	case VSCSI_CONTROLQ:
		vscsi_ctrlq_request(vq, req);
		break;
	case VSCSI_EVENTQ:
		vscsi_eventq_request(vq, req);
		break;
	default:
		vscsi_ioq_request(vq, req);
		break;
	}
}

const struct vhost_dev_ops vscsi_dev_ops = {
	.type = "vhost-scsi",
	.req_size = sizeof(struct vscsi_req),
	.features = vscsi_features,
	.num_queues = vscsi_num_queues,
	.get_config = vscsi_get_config,
	.dump_info = vscsi_dump_info,
	.destroy = vscsi_destroy,
	.queue_start = vscsi_queue_start,
	.queue_stopping = vscsi_queue_stopping,
	.queue_stop = vscsi_queue_stop,
	.request = vscsi_request,
};

bool vscsi_ctrlr_is(const struct vhost_dev *dev)
{
	return vhost_dev_ops(dev) == &vscsi_dev_ops;
}

bool vscsi_ctrlr_started(const struct vhost_dev *dev)
{
	return ((struct vscsi_ctrlr *)vhost_dev_ctx(dev))->started;
}

int vscsi_ctrlr_create(const struct vscsi_ctrlr_opts *opts, char *err, size_t errlen)
{
	struct vhost_dev_opts vopts = { .name = opts->name, .cpumask = opts->cpumask };
	struct vscsi_ctrlr *c = calloc(1, sizeof(*c));
	int rc;

	if (!c)
		return -ENOMEM;
	c->started = !opts->delay;
	rc = vhost_dev_create(&vopts, &vscsi_dev_ops, c, !opts->delay, &c->vdev, err, errlen);
	if (rc) {
		free(c);
		return rc;
	}
	log_notice("%s: vhost-scsi controller%s", opts->name,
		   opts->delay ? " (socket bound on vhost_start_scsi_controller)" : "");
	return 0;
}

int vscsi_ctrlr_start(struct vhost_dev *dev, char *err, size_t errlen)
{
	struct vscsi_ctrlr *c = vhost_dev_ctx(dev);
	int rc;

	err[0] = '\0';
	if (c->started)
		return 0;
	rc = vhost_dev_listen(dev, err, errlen);
	if (rc == 0)
		c->started = true;
	return rc;
}

/*
 * error bdev "EE_<base>": passes I/O to its base bdev through its own desc and channels, except
 * the I/Os an operator asked to fail (-EIO), to hold (PENDING, SPDK's semantics: held until the
 * injection is cleared or the bdev goes away), to corrupt (one byte XORed in the data written or
 * read) or to refuse for lack of resources (NOMEM: parked and retried when one of the channel's
 * I/Os completes, or after a millisecond; the caller only sees it take longer, as SPDK's bdev
 * layer retries a NOMEM). Removing the base removes the error bdev.
 *
 * Rules are shared by every worker (atomics: the control thread sets them, workers consume them).
 * Held I/Os live in their submitting thread's channel; the control thread releases them by
 * sending that thread a message. The RPCs are in error_rpc.c.
 */
#include "bdev/bdev.h"
#include "bdev/bdev_module.h"
#include "bdev/bdev_rpc_util.h"

#include "core/log.h"
#include "core/reactor.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct error_rule {
	_Atomic uint32_t type; /* enum bdev_error_type */
	_Atomic uint32_t num;  /* I/Os still to hit */
	_Atomic uint32_t queue_depth;
	_Atomic uint64_t corrupt_offset;
	_Atomic uint32_t corrupt_value;
};

#define NOMEM_RETRY_US 1000

struct error_channel;

struct error_disk {
	struct bdev bdev;
	struct bdev_desc *base_desc;
	struct error_rule rules[BDEV_IO_TYPE_COUNT];
	bool removing;
	/* One reference for the bdev, one per release message in flight. */
	atomic_uint refs;
	/* channels: born and dying on workers, walked by the control thread */
	pthread_mutex_t lock;
	struct error_channel *channels;
	uint64_t next_channel_id;
};

/* An I/O passed to the base on behalf of a user's I/O. */
struct error_child {
	struct bdev_io io;
	struct bdev_io *parent;
	struct error_channel *ech;
	struct error_child *next_free;
	uint64_t corrupt_offset; /* a read to corrupt once it is done: corrupt_value != 0 */
	uint8_t corrupt_value;
};

/* A list of parent I/Os, linked through driver_ctx[0]. */
struct error_io_list {
	struct bdev_io *head;
	struct bdev_io **tail;
};

struct error_channel {
	struct error_disk *disk;
	struct reactor *reactor;
	uint64_t id;
	struct bdev_channel *base_ch;
	struct error_io_list held;   /* PENDING */
	struct error_io_list parked; /* NOMEM, to retry */
	struct reactor_timer *retry_timer;
	uint32_t inflight;           /* passed to the base, not back yet */
	struct error_child *free_children;
	struct error_channel *next;
};

struct error_release_msg {
	struct error_disk *disk;
	uint64_t channel_id;
	int status; /* 0: pass the held I/Os to the base; else fail them with it */
};

static const struct bdev_ops error_ops;

static void error_disk_put(struct error_disk *disk)
{
	if (atomic_fetch_sub(&disk->refs, 1) != 1)
		return;
	pthread_mutex_destroy(&disk->lock);
	free(disk);
}

/* --- I/O path (worker) --- */

static struct bdev_io **error_io_link(struct bdev_io *io)
{
	return (struct bdev_io **)&io->driver_ctx[0];
}

static void error_list_init(struct error_io_list *l)
{
	l->head = NULL;
	l->tail = &l->head;
}

static void error_list_push(struct error_io_list *l, struct bdev_io *io)
{
	*error_io_link(io) = NULL;
	*l->tail = io;
	l->tail = error_io_link(io);
}

/* Empties l; returns what it held, linked. */
static struct bdev_io *error_list_take(struct error_io_list *l)
{
	struct bdev_io *io = l->head;

	error_list_init(l);
	return io;
}

/* XORs the byte at offset of the I/O's data with value (SPDK's corrupt_data). */
static void error_corrupt(const struct bdev_io *io, uint64_t offset, uint8_t value)
{
	for (int i = 0; i < io->iovcnt; i++) {
		if (offset < io->iov[i].iov_len) {
			((uint8_t *)io->iov[i].iov_base)[offset] ^= value;
			return;
		}
		offset -= io->iov[i].iov_len;
	}
}

static void error_retry_parked(struct error_channel *ech);
static void error_retry_timer(void *arg);

static void error_child_done(struct bdev_io *child_io, int status)
{
	struct error_child *child = (struct error_child *)child_io;
	struct error_channel *ech = child->ech;
	struct bdev_io *parent = child->parent;

	if (child->corrupt_value && status == 0)
		error_corrupt(parent, child->corrupt_offset, child->corrupt_value);
	child->next_free = ech->free_children;
	ech->free_children = child;
	ech->inflight--;
	/* Something came back: what was refused for lack of resources may go now. Before the
	 * parent completes: its owner may then put the channel. */
	if (ech->parked.head)
		error_retry_parked(ech);
	bdev_io_complete(parent, status);
}

/* corrupt_value: a read to corrupt once the base has filled it (0: none). */
static void error_pass(struct error_channel *ech, struct bdev_io *io, uint64_t corrupt_offset,
		       uint8_t corrupt_value)
{
	struct error_child *child = ech->free_children;

	if (child) {
		ech->free_children = child->next_free;
	} else {
		child = malloc(sizeof(*child));
		if (!child) {
			bdev_io_complete(io, -ENOMEM);
			return;
		}
	}
	memset(&child->io, 0, sizeof(child->io));
	child->io.type = io->type;
	child->io.offset_blocks = io->offset_blocks;
	child->io.num_blocks = io->num_blocks;
	child->io.iov = io->iov;
	child->io.iovcnt = io->iovcnt;
	child->io.done = error_child_done;
	child->parent = io;
	child->ech = ech;
	child->corrupt_offset = corrupt_offset;
	child->corrupt_value = corrupt_value;
	ech->inflight++;
	bdev_io_submit(ech->base_ch, &child->io);
}

/* Takes one hit of the rule, if any is left and the channel is deep enough for it. */
static enum bdev_error_type error_rule_take(struct error_rule *rule, uint32_t inflight)
{
	uint32_t num = atomic_load_explicit(&rule->num, memory_order_relaxed);

	if (!num || inflight < atomic_load_explicit(&rule->queue_depth, memory_order_relaxed))
		return BDEV_ERROR_NONE;
	while (num) {
		if (atomic_compare_exchange_weak(&rule->num, &num, num - 1))
			return (enum bdev_error_type)atomic_load(&rule->type);
	}
	return BDEV_ERROR_NONE;
}

static void error_submit(struct bdev *bdev, void *chctx, struct bdev_io *io)
{
	struct error_disk *disk = bdev->ctx;
	struct error_channel *ech = chctx;
	struct error_rule *rule = &disk->rules[io->type];
	uint64_t offset;
	uint8_t value;

	switch (error_rule_take(rule, ech->inflight)) {
	case BDEV_ERROR_FAILURE:
		bdev_io_complete(io, -EIO);
		break;
	case BDEV_ERROR_PENDING:
		error_list_push(&ech->held, io);
		break;
	case BDEV_ERROR_NOMEM:
		error_list_push(&ech->parked, io);
		/* Nothing out whose return would retry it: a timer does. */
		if (!ech->inflight && !ech->retry_timer)
			ech->retry_timer = reactor_timer_add(NOMEM_RETRY_US, false,
							     error_retry_timer, ech);
		break;
	case BDEV_ERROR_CORRUPT_DATA:
		offset = atomic_load(&rule->corrupt_offset);
		value = (uint8_t)atomic_load(&rule->corrupt_value);
		if (io->type == BDEV_IO_WRITE) /* in the caller's buffer, as SPDK does */
			error_corrupt(io, offset, value);
		error_pass(ech, io, offset, io->type == BDEV_IO_READ ? value : 0);
		break;
	case BDEV_ERROR_NONE:
		error_pass(ech, io, 0, 0);
		break;
	}
}

/* Submits the parked I/Os again: each meets the rules anew, as a retried NOMEM does. */
static void error_retry_parked(struct error_channel *ech)
{
	struct bdev_io *io = error_list_take(&ech->parked), *next;

	for (; io; io = next) {
		next = *error_io_link(io);
		error_submit(&ech->disk->bdev, ech, io);
	}
}

static void error_retry_timer(void *arg)
{
	struct error_channel *ech = arg;

	ech->retry_timer = NULL;
	error_retry_parked(ech);
}

static void error_release_run(void *arg)
{
	struct error_release_msg *msg = arg;
	struct error_disk *disk = msg->disk;
	struct error_channel *ech;
	struct bdev_io *io, *next;

	pthread_mutex_lock(&disk->lock);
	for (ech = disk->channels; ech && ech->id != msg->channel_id; ech = ech->next)
		;
	pthread_mutex_unlock(&disk->lock);
	/* Found or not, it cannot die under us: only this thread destroys it. */
	if (ech) {
		for (io = error_list_take(&ech->held); io; io = next) {
			next = *error_io_link(io);
			if (msg->status)
				bdev_io_complete(io, msg->status);
			else
				error_pass(ech, io, 0, 0);
		}
	}
	error_disk_put(disk);
	free(msg);
}

/* --- channels (worker) --- */

static void *error_channel_create(struct bdev *bdev)
{
	struct error_disk *disk = bdev->ctx;
	struct error_channel *ech = calloc(1, sizeof(*ech));

	if (!ech)
		return NULL;
	ech->base_ch = bdev_channel_get(disk->base_desc);
	if (!ech->base_ch) {
		free(ech);
		return NULL;
	}
	ech->disk = disk;
	ech->reactor = reactor_current();
	error_list_init(&ech->held);
	error_list_init(&ech->parked);
	pthread_mutex_lock(&disk->lock);
	ech->id = disk->next_channel_id++;
	ech->next = disk->channels;
	disk->channels = ech;
	pthread_mutex_unlock(&disk->lock);
	return ech;
}

static void error_channel_destroy(struct bdev *bdev, void *chctx)
{
	struct error_disk *disk = bdev->ctx;
	struct error_channel *ech = chctx;

	pthread_mutex_lock(&disk->lock);
	for (struct error_channel **pp = &disk->channels; *pp; pp = &(*pp)->next) {
		if (*pp == ech) {
			*pp = ech->next;
			break;
		}
	}
	pthread_mutex_unlock(&disk->lock);
	if (ech->held.head)
		log_error("bdev: %s: channel closed with held I/O", bdev->name);
	if (ech->retry_timer)
		reactor_timer_cancel(ech->retry_timer);
	for (struct bdev_io *io = error_list_take(&ech->parked), *next; io; io = next) {
		next = *error_io_link(io);
		bdev_io_complete(io, -ENOMEM);
	}
	while (ech->free_children) {
		struct error_child *c = ech->free_children;

		ech->free_children = c->next_free;
		free(c);
	}
	bdev_channel_put(ech->base_ch);
	free(ech);
}

/* --- control thread --- */

/* Asks every channel's thread to give back its held I/Os. */
static void error_release_all(struct error_disk *disk, int status)
{
	pthread_mutex_lock(&disk->lock);
	for (struct error_channel *ech = disk->channels; ech; ech = ech->next) {
		struct error_release_msg *msg = malloc(sizeof(*msg));

		if (!msg) {
			log_error("bdev: %s: out of memory releasing held I/O", disk->bdev.name);
			continue;
		}
		msg->disk = disk;
		msg->channel_id = ech->id;
		msg->status = status;
		atomic_fetch_add(&disk->refs, 1);
		if (reactor_send(ech->reactor, error_release_run, msg) < 0) {
			atomic_fetch_sub(&disk->refs, 1);
			free(msg);
			log_error("bdev: %s: cannot release held I/O", disk->bdev.name);
		}
	}
	pthread_mutex_unlock(&disk->lock);
}

static void error_unregister(struct bdev *bdev)
{
	struct error_disk *disk = bdev->ctx;

	disk->removing = true;
	for (int t = 0; t < BDEV_IO_TYPE_COUNT; t++)
		atomic_store(&disk->rules[t].num, 0);
	error_release_all(disk, -ENODEV);
}

static void error_destruct(struct bdev *bdev)
{
	struct error_disk *disk = bdev->ctx;
	struct bdev *base = bdev_desc_bdev(disk->base_desc);

	bdev_release(base);
	bdev_close(disk->base_desc);
	error_disk_put(disk);
}

static bool error_io_type_supported(struct bdev *bdev, enum bdev_io_type type)
{
	struct error_disk *disk = bdev->ctx;

	return bdev_io_type_supported(bdev_desc_bdev(disk->base_desc), type);
}

static void error_dump_info(struct bdev *bdev, json_t *driver_specific)
{
	struct error_disk *disk = bdev->ctx;

	json_object_set_new(driver_specific, "error_disk",
			    json_pack("{s:s}", "base_bdev", bdev_desc_bdev(disk->base_desc)->name));
}

static void error_write_config(struct bdev *bdev, json_t *config)
{
	struct error_disk *disk = bdev->ctx;
	char uuid[37];

	bdev_uuid_format(bdev, uuid);
	rpc_config_add(config, "bdev_error_create",
		       json_pack("{s:s, s:s}", "base_name", bdev_desc_bdev(disk->base_desc)->name,
				 "uuid", uuid));
}

static const struct bdev_ops error_ops = {
	.channel_create = error_channel_create,
	.channel_destroy = error_channel_destroy,
	.submit = error_submit,
	.io_type_supported = error_io_type_supported,
	.unregister = error_unregister,
	.destruct = error_destruct,
	.dump_info = error_dump_info,
	.write_config = error_write_config,
};

static void error_base_event(enum bdev_event event, struct bdev *base, void *ctx)
{
	struct error_disk *disk = ctx;
	int rc;

	if (event == BDEV_EVENT_REMOVE) {
		if (!disk->removing)
			bdev_unregister(&disk->bdev, NULL, NULL);
		return;
	}
	rc = bdev_notify_resize(&disk->bdev, bdev_num_blocks(base));
	if (rc)
		log_warn("bdev: %s cannot follow the resize of %s: %s", disk->bdev.name, base->name,
			 strerror(-rc));
}

int bdev_error_create(const char *base_name, const uint8_t *uuid, struct bdev **out)
{
	struct error_disk *disk;
	struct bdev *base;
	char name[256];
	int rc;

	if (!base_name || snprintf(name, sizeof(name), "EE_%s", base_name) >= (int)sizeof(name))
		return -EINVAL;
	if (bdev_get_by_name(name))
		return -EEXIST;
	disk = calloc(1, sizeof(*disk));
	if (!disk)
		return -ENOMEM;
	pthread_mutex_init(&disk->lock, NULL);
	atomic_init(&disk->refs, 1);
	rc = bdev_open(base_name, true, error_base_event, disk, &disk->base_desc);
	if (rc)
		goto fail;
	base = bdev_desc_bdev(disk->base_desc);
	rc = bdev_claim(base);
	if (rc)
		goto fail_close;
	disk->bdev.name = strdup(name);
	disk->bdev.product_name = "Error Injection Disk";
	disk->bdev.block_size = base->block_size;
	disk->bdev.num_blocks = bdev_num_blocks(base);
	disk->bdev.write_cache = base->write_cache;
	disk->bdev.unmap_reads_zero = base->unmap_reads_zero;
	disk->bdev.max_unmap_blocks = base->max_unmap_blocks;
	disk->bdev.max_write_zeroes_blocks = base->max_write_zeroes_blocks;
	disk->bdev.required_alignment = base->required_alignment;
	disk->bdev.ops = &error_ops;
	disk->bdev.ctx = disk;
	if (uuid)
		memcpy(disk->bdev.uuid, uuid, 16);
	rc = disk->bdev.name ? bdev_register(&disk->bdev) : -ENOMEM;
	if (rc)
		goto fail_release;
	if (out)
		*out = &disk->bdev;
	return 0;
fail_release:
	free(disk->bdev.name);
	bdev_release(base);
fail_close:
	bdev_close(disk->base_desc);
fail:
	error_disk_put(disk);
	return rc;
}

int bdev_error_delete(const char *name, bdev_delete_done_fn done, void *arg)
{
	return bdev_unregister_by_name(name, &error_ops, done, arg);
}

static struct error_disk *error_disk_get(const char *name)
{
	struct bdev *bdev = bdev_get_by_name(name);

	return bdev && bdev->ops == &error_ops ? bdev->ctx : NULL;
}

int bdev_error_inject_opts(const char *name, enum bdev_io_type io_type,
			   const struct bdev_error_opts *o)
{
	struct error_disk *disk = error_disk_get(name);

	if (!disk)
		return -ENODEV;
	if ((unsigned)io_type > BDEV_IO_TYPE_COUNT || o->type == BDEV_ERROR_NONE ||
	    (unsigned)o->type > BDEV_ERROR_NOMEM ||
	    (o->type == BDEV_ERROR_CORRUPT_DATA && o->corrupt_value == 0)) /* XOR 0 changes nothing */
		return -EINVAL;
	for (int t = 0; t < BDEV_IO_TYPE_COUNT; t++) {
		struct error_rule *rule = &disk->rules[t];

		if (io_type != BDEV_IO_TYPE_COUNT && (int)io_type != t)
			continue;
		/* num last: a worker that sees the count also sees the rest. */
		atomic_store(&rule->type, o->type);
		atomic_store(&rule->queue_depth, o->queue_depth);
		atomic_store(&rule->corrupt_offset, o->corrupt_offset);
		atomic_store(&rule->corrupt_value, o->corrupt_value);
		atomic_store(&rule->num, o->num);
	}
	return 0;
}

int bdev_error_inject(const char *name, enum bdev_io_type io_type, enum bdev_error_type type,
		      uint32_t num)
{
	return bdev_error_inject_opts(name, io_type,
				      &(struct bdev_error_opts){ .type = type, .num = num });
}

int bdev_error_clear(const char *name)
{
	struct error_disk *disk = error_disk_get(name);

	if (!disk)
		return -ENODEV;
	for (int t = 0; t < BDEV_IO_TYPE_COUNT; t++)
		atomic_store(&disk->rules[t].num, 0);
	error_release_all(disk, 0);
	return 0;
}

int bdev_error_io_type_parse(const char *s, enum bdev_io_type *type)
{
	if (strcmp(s, "all") == 0) {
		*type = BDEV_IO_TYPE_COUNT;
		return 0;
	}
	for (int t = 0; t < BDEV_IO_TYPE_COUNT; t++) {
		if (strcmp(s, bdev_io_type_name(t)) == 0) {
			*type = (enum bdev_io_type)t;
			return 0;
		}
	}
	return -EINVAL;
}

int bdev_error_type_parse(const char *s, enum bdev_error_type *type)
{
	static const char *const names[] = {
		[BDEV_ERROR_FAILURE] = "failure",
		[BDEV_ERROR_PENDING] = "pending",
		[BDEV_ERROR_CORRUPT_DATA] = "corrupt_data",
		[BDEV_ERROR_NOMEM] = "nomem",
	};

	for (int t = BDEV_ERROR_FAILURE; t <= BDEV_ERROR_NOMEM; t++) {
		if (strcmp(s, names[t]) == 0) {
			*type = (enum bdev_error_type)t;
			return 0;
		}
	}
	return -EINVAL;
}

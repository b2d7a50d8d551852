/*
 * The bdev registry and lifecycle (control reactor): register, open/close, RESIZE/REMOVE events,
 * unregister that waits for the last close. The I/O path lives in bdev_io.c.
 */
#include "bdev/bdev.h"
#include "bdev/bdev_internal.h"
#include "bdev/bdev_module.h"

#include "core/log.h"
#include "core/reactor.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define DESC_EVENT_RESIZE (1u << BDEV_EVENT_RESIZE)
#define DESC_EVENT_REMOVE (1u << BDEV_EVENT_REMOVE)

struct bdev_desc {
	struct bdev *bdev;       /* NULL once closed */
	bool write;
	bdev_event_fn event_fn;
	void *event_ctx;
	struct bdev_desc *next;
	/* Events are delivered from a message so the caller of notify/unregister never runs the
	 * callbacks inside its own stack; the desc outlives bdev_close() until that message ran. */
	unsigned pending_events;
	bool message_queued;
	bool in_callback;
};

static struct bdev *registry;

static void bdev_destruct_msg(void *arg);

struct bdev *bdev_get_by_name(const char *name)
{
	for (struct bdev *b = registry; b; b = b->internal->next)
		if (strcmp(b->name, name) == 0)
			return b;
	return NULL;
}

void bdev_foreach(void (*fn)(struct bdev *bdev, void *arg), void *arg)
{
	struct bdev *b = registry, *next;

	for (; b; b = next) {
		next = b->internal->next;
		fn(b, arg);
	}
}

static void bdev_uuid_generate(uint8_t uuid[16])
{
	if (getrandom(uuid, 16, 0) != 16) {
		/* No entropy source: still unique enough within this process. */
		uint64_t t = reactor_now_us() ^ (uintptr_t)uuid;

		memcpy(uuid, &t, 8);
		memcpy(uuid + 8, &t, 8);
	}
	uuid[6] = (uuid[6] & 0x0f) | 0x40; /* version 4 */
	uuid[8] = (uuid[8] & 0x3f) | 0x80; /* RFC 4122 variant */
}

static bool bdev_uuid_is_zero(const uint8_t uuid[16])
{
	for (int i = 0; i < 16; i++)
		if (uuid[i])
			return false;
	return true;
}

void bdev_uuid_format(const struct bdev *bdev, char out[37])
{
	const uint8_t *u = bdev->uuid;

	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12],
		 u[13], u[14], u[15]);
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int bdev_uuid_parse(const char *s, uint8_t uuid[16])
{
	int n = 0;

	if (strlen(s) != 36)
		return -EINVAL;
	for (int i = 0; i < 36; i++) {
		int hi, lo;

		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return -EINVAL;
			continue;
		}
		hi = hex_digit(s[i]);
		lo = hex_digit(s[i + 1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		uuid[n++] = (uint8_t)(hi << 4 | lo);
		i++;
	}
	return 0;
}

int bdev_register(struct bdev *bdev)
{
	struct bdev_internal *in;
	struct bdev **tail = &registry;

	if (!bdev->name || !bdev->name[0] || !bdev->ops || !bdev->ops->submit ||
	    !bdev->ops->io_type_supported || !bdev->ops->destruct)
		return -EINVAL;
	if (bdev->block_size == 0 || bdev->num_blocks == 0)
		return -EINVAL;
	if (bdev_get_by_name(bdev->name))
		return -EEXIST;
	in = calloc(1, sizeof(*in));
	if (!in)
		return -ENOMEM;
	pthread_mutex_init(&in->lock, NULL);
	if (bdev_uuid_is_zero(bdev->uuid))
		bdev_uuid_generate(bdev->uuid);
	bdev->internal = in;
	while (*tail)
		tail = &(*tail)->internal->next;
	*tail = bdev;
	log_info("bdev: registered %s (%" PRIu64 " blocks of %u)", bdev->name, bdev->num_blocks,
		 bdev->block_size);
	return 0;
}

static void registry_remove(struct bdev *bdev)
{
	for (struct bdev **pp = &registry; *pp; pp = &(*pp)->internal->next) {
		if (*pp == bdev) {
			*pp = bdev->internal->next;
			return;
		}
	}
}

static void desc_free(struct bdev_desc *desc)
{
	free(desc);
}

static void desc_events_run(void *arg)
{
	struct bdev_desc *desc = arg;

	desc->message_queued = false;
	desc->in_callback = true;
	/* REMOVE last: a RESIZE queued before it is still worth knowing; nothing follows REMOVE. */
	for (int ev = BDEV_EVENT_RESIZE; ev <= BDEV_EVENT_REMOVE && desc->bdev; ev++) {
		if (!(desc->pending_events & (1u << ev)))
			continue;
		desc->pending_events &= ~(1u << ev);
		desc->event_fn((enum bdev_event)ev, desc->bdev, desc->event_ctx);
	}
	desc->in_callback = false;
	if (!desc->bdev)
		desc_free(desc); /* closed while its message was queued or inside the callback */
}

static void desc_event_post(struct bdev_desc *desc, unsigned event_bit)
{
	desc->pending_events |= event_bit;
	if (desc->message_queued || desc->in_callback)
		return; /* the queued message, or the loop now running, will see the bit */
	if (reactor_send(reactor_control(), desc_events_run, desc) < 0) {
		log_error("bdev: cannot queue an event for %s", desc->bdev->name);
		return;
	}
	desc->message_queued = true;
}

int bdev_notify_resize(struct bdev *bdev, uint64_t num_blocks)
{
	uint64_t old = bdev_num_blocks(bdev);

	if (num_blocks == 0)
		return -EINVAL;
	if (num_blocks < old && bdev->internal->descs)
		return -EBUSY;
	__atomic_store_n(&bdev->num_blocks, num_blocks, __ATOMIC_RELEASE);
	if (num_blocks == old)
		return 0;
	log_notice("bdev: %s resized from %" PRIu64 " to %" PRIu64 " blocks", bdev->name, old,
		   num_blocks);
	for (struct bdev_desc *d = bdev->internal->descs; d; d = d->next)
		desc_event_post(d, DESC_EVENT_RESIZE);
	return 0;
}

int bdev_open(const char *name, bool write, bdev_event_fn event_fn, void *event_ctx,
	      struct bdev_desc **out)
{
	struct bdev *bdev = bdev_get_by_name(name);
	struct bdev_desc *desc;

	if (!bdev)
		return -ENODEV;
	if (!event_fn)
		return -EINVAL;
	if (write && bdev->internal->claimed)
		return -EPERM;
	desc = calloc(1, sizeof(*desc));
	if (!desc)
		return -ENOMEM;
	desc->bdev = bdev;
	desc->write = write;
	desc->event_fn = event_fn;
	desc->event_ctx = event_ctx;
	desc->next = bdev->internal->descs;
	bdev->internal->descs = desc;
	*out = desc;
	return 0;
}

static void bdev_destruct_maybe(struct bdev *bdev)
{
	struct bdev_internal *in = bdev->internal;

	if (!in->unregistering || in->descs || in->destruct_queued)
		return;
	if (reactor_send(reactor_control(), bdev_destruct_msg, bdev) < 0) {
		bdev_destruct_msg(bdev);
		return;
	}
	in->destruct_queued = true;
}

void bdev_close(struct bdev_desc *desc)
{
	struct bdev *bdev = desc->bdev;

	for (struct bdev_desc **pp = &bdev->internal->descs; *pp; pp = &(*pp)->next) {
		if (*pp == desc) {
			*pp = desc->next;
			break;
		}
	}
	desc->bdev = NULL;
	if (!desc->message_queued && !desc->in_callback)
		desc_free(desc);
	bdev_destruct_maybe(bdev);
}

struct bdev *bdev_desc_bdev(const struct bdev_desc *desc)
{
	return desc->bdev;
}

int bdev_claim(struct bdev *bdev)
{
	if (bdev->internal->claimed)
		return -EBUSY;
	bdev->internal->claimed = true;
	return 0;
}

void bdev_release(struct bdev *bdev)
{
	bdev->internal->claimed = false;
}

static void bdev_destruct_msg(void *arg)
{
	struct bdev *bdev = arg;
	struct bdev_internal *in = bdev->internal;
	void (*done)(void *) = in->unregister_done;
	void *done_arg = in->unregister_arg;
	char *name = bdev->name;

	log_info("bdev: %s destructed", name);
	bdev_io_bdev_fini(bdev);
	pthread_mutex_destroy(&in->lock);
	free(in);
	bdev->internal = NULL;
	bdev->name = NULL;
	bdev->ops->destruct(bdev);
	free(name);
	if (done)
		done(done_arg);
}

void bdev_unregister(struct bdev *bdev, void (*done)(void *arg), void *arg)
{
	struct bdev_internal *in = bdev->internal;

	if (in->unregistering) {
		log_warn("bdev: %s is already being unregistered", bdev->name);
		return;
	}
	in->unregistering = true;
	in->unregister_done = done;
	in->unregister_arg = arg;
	atomic_store(&in->removed, true);
	registry_remove(bdev);
	if (bdev->ops->unregister)
		bdev->ops->unregister(bdev);
	for (struct bdev_desc *d = in->descs; d; d = d->next)
		desc_event_post(d, DESC_EVENT_REMOVE);
	bdev_destruct_maybe(bdev);
}

struct unregister_by_name_ctx {
	bdev_delete_done_fn done;
	void *arg;
};

static void unregister_by_name_done(void *arg)
{
	struct unregister_by_name_ctx *ctx = arg;

	if (ctx->done)
		ctx->done(ctx->arg, 0);
	free(ctx);
}

int bdev_unregister_by_name(const char *name, const struct bdev_ops *ops, bdev_delete_done_fn done,
			    void *arg)
{
	struct bdev *bdev = bdev_get_by_name(name);
	struct unregister_by_name_ctx *ctx;

	if (!bdev || bdev->ops != ops)
		return -ENODEV;
	ctx = malloc(sizeof(*ctx));
	if (!ctx)
		return -ENOMEM;
	ctx->done = done;
	ctx->arg = arg;
	bdev_unregister(bdev, unregister_by_name_done, ctx);
	return 0;
}

struct unregister_all_ctx {
	unsigned left;
	void (*done)(void *arg);
	void *arg;
};

static void unregister_all_one_done(void *arg)
{
	struct unregister_all_ctx *ctx = arg;

	if (--ctx->left)
		return;
	if (ctx->done)
		ctx->done(ctx->arg);
	free(ctx);
}

void bdev_unregister_all(void (*done)(void *arg), void *arg)
{
	struct unregister_all_ctx *ctx = calloc(1, sizeof(*ctx));
	struct bdev *last;

	if (!ctx) {
		log_error("bdev: out of memory at shutdown");
		return;
	}
	ctx->done = done;
	ctx->arg = arg;
	ctx->left = 1; /* held until every unregister was started */
	/* Newest first: stacked bdevs (error) were registered after their bases. */
	while (registry) {
		last = registry;
		while (last->internal->next)
			last = last->internal->next;
		ctx->left++;
		bdev_unregister(last, unregister_all_one_done, ctx);
	}
	unregister_all_one_done(ctx);
}

uint64_t bdev_num_blocks(const struct bdev *bdev)
{
	return __atomic_load_n(&bdev->num_blocks, __ATOMIC_ACQUIRE);
}

bool bdev_io_type_supported(struct bdev *bdev, enum bdev_io_type type)
{
	if ((unsigned)type >= BDEV_IO_TYPE_COUNT)
		return false;
	return bdev->ops->io_type_supported(bdev, type);
}

const char *bdev_io_type_name(enum bdev_io_type type)
{
	static const char *const names[BDEV_IO_TYPE_COUNT] = {
		[BDEV_IO_READ] = "read",
		[BDEV_IO_WRITE] = "write",
		[BDEV_IO_FLUSH] = "flush",
		[BDEV_IO_UNMAP] = "unmap",
		[BDEV_IO_WRITE_ZEROES] = "write_zeroes",
	};

	return (unsigned)type < BDEV_IO_TYPE_COUNT ? names[type] : NULL;
}

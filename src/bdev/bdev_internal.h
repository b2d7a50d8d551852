/* Generic-layer state shared by bdev.c (lifecycle, control thread) and bdev_io.c (I/O path). */
#ifndef VHOSTD_BDEV_INTERNAL_H
#define VHOSTD_BDEV_INTERNAL_H

#include "bdev/bdev.h"

#include <pthread.h>
#include <stdatomic.h>

struct bdev_internal {
	struct bdev *next;        /* registry, in registration order (control thread) */
	struct bdev_desc *descs;  /* open descs (control thread) */
	bool unregistering;
	bool claimed;
	bool destruct_queued;
	void (*unregister_done)(void *arg);
	void *unregister_arg;
	atomic_bool removed;      /* read by every submit: I/O fails with -ENODEV once set */
	/* Channels live on worker threads; the list and the folded stats are only touched when a
	 * channel is born or dies and when iostat is read, never per I/O. */
	pthread_mutex_t lock;
	struct bdev_channel *channels;
	struct bdev_iostat folded; /* counters of channels that died */
};

/* Frees what the I/O path keeps for a bdev (called at destruct, no channel may remain). */
void bdev_io_bdev_fini(struct bdev *bdev);

#endif

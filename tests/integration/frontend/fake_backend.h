/*
 * A small vhost-user-blk back-end in a thread, written from the spec independently of the library
 * (its own message framing, its own ring walking). It covers what qemu-storage-daemon 7.2 lacks:
 * packed rings, INFLIGHT_SHMFD, STATUS, and misbehaviour on demand. RAM disk of FAKE_SECTORS.
 */
#ifndef VHOSTD_TESTS_FAKE_BACKEND_H
#define VHOSTD_TESTS_FAKE_BACKEND_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define FAKE_SECTORS 2048
#define FAKE_QUEUES 2

struct fake_backend {
	char path[108];
	int listen_fd;
	pthread_t thread;
	volatile bool stop;
	/* misbehaviour */
	bool bad_used_id;     /* answer every request with id num+1 */
	/* what the front-end did, for the test to check */
	uint64_t acked_features;
	uint64_t acked_protocol;
	uint8_t status;
	bool inflight_set;
	int requests_seen;
	int nregions;
	uint8_t disk[FAKE_SECTORS * 512];
};

/* Listens on a temp path and serves one connection in a thread. 0 or -errno. */
int fake_start(struct fake_backend *b);
void fake_stop(struct fake_backend *b);

#endif

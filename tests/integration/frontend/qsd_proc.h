/*
 * A qemu-storage-daemon child process exporting one vhost-user-blk device, for tests that prove
 * the front-end library against a back-end that is not ours. The binary is $QSD or
 * qemu-storage-daemon on $PATH (Debian package qemu-system-common).
 */
#ifndef VHOSTD_TESTS_QSD_PROC_H
#define VHOSTD_TESTS_QSD_PROC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct qsd_proc {
	pid_t pid;
	char dir[64];       /* private temp directory */
	char sock[96];      /* vhost-user socket */
	char qmp[96];       /* QMP socket */
	char image[128];    /* backing file ("" for null-co) */
};

/* Path of the binary, or NULL when it cannot be found. */
const char *qsd_binary(void);

/* Starts qsd exporting node "n" with num_queues queues: a null-co device of size bytes when
 * file_backed is false, otherwise a raw file of size bytes in the temp directory. Waits for the
 * socket. Returns 0 or -errno. */
int qsd_start(struct qsd_proc *p, bool file_backed, uint64_t size, int num_queues);
/* Stops the daemon and removes its files. */
void qsd_stop(struct qsd_proc *p);

/* QMP connection: returns fd after capabilities negotiation, or -errno. */
int qsd_qmp_open(struct qsd_proc *p);
/* Sends one command line; the reply is read with qsd_qmp_reply. */
int qsd_qmp_send(int fd, const char *json);
/* Reads lines until a reply ("return" or "error"); returns 0 for "return", -EIO for "error". */
int qsd_qmp_reply(int fd);

#endif

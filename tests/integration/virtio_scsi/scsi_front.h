/*
 * virtio-scsi on top of the front-end library (frontend/frontend.h), for the vhost-scsi tests:
 * command requests (virtio_scsi_cmd_req/resp chains with data out or in), TMFs and AN requests on
 * the control queue, eventq buffers and the events that come back in them.
 *
 * Queue numbers are the device's: 0 control, 1 events, 2.. I/O. Buffers (and the bookkeeping of
 * commands in flight) come from the front-end's guest-memory allocator and are not reused.
 */
#ifndef VHOSTD_TESTS_SCSI_FRONT_H
#define VHOSTD_TESTS_SCSI_FRONT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/virtio_scsi.h>

#include "frontend/frontend.h"

#define SF_CONTROLQ 0
#define SF_EVENTQ 1
#define SF_IOQ 2

/* The LUN address Linux sends: 1, target, flat-space LUN. */
void sf_lun(uint8_t out[8], int target, int lun);

struct sf_result {
	uint8_t response;   /* VIRTIO_SCSI_S_* */
	uint8_t status;     /* SCSI status */
	uint32_t sense_len, resid;
	uint8_t sense[VIRTIO_SCSI_SENSE_SIZE];
	uint32_t used_len;  /* what the device reported for the whole chain */
};

/* A command in flight (sf_cmd_submit) until sf_cmd_wait hands it back. */
struct sf_cmd;

enum sf_dir { SF_NONE, SF_IN /* from the device */, SF_OUT /* to the device */ };

/* Queues one command on q: cdb (cdb_len <= 32 bytes), len bytes of data in the given direction
 * (data is copied for SF_OUT; for SF_IN it receives the data at sf_cmd_wait). NULL + errno. */
struct sf_cmd *sf_cmd_submit(struct vu_front *f, int q, const uint8_t lun[8], uint64_t tag,
			     const uint8_t *cdb, size_t cdb_len, void *data, uint32_t len,
			     enum sf_dir dir);
/* Waits for any command of q: 1 with the tag it was submitted with and its result (the cmd is
 * done), 0 on timeout, -errno. */
int sf_cmd_wait(struct vu_front *f, int q, int timeout_ms, uint64_t *tag, struct sf_result *res);
/* One synchronous command to target/LUN 0 on q: 0 with *res, or -errno (-ETIMEDOUT). */
int sf_cmd(struct vu_front *f, int q, int target, const uint8_t *cdb, size_t cdb_len, void *data,
	   uint32_t len, enum sf_dir dir, struct sf_result *res);

/* A TMF (VIRTIO_SCSI_T_TMF_*) on the control queue: 0 with its response, or -errno. */
int sf_tmf(struct vu_front *f, uint32_t subtype, const uint8_t lun[8], uint64_t tag,
	   uint8_t *response, int timeout_ms);
/* AN query (subscribe=false) or subscribe: 0 with event_actual and response, or -errno. */
int sf_an(struct vu_front *f, bool subscribe, const uint8_t lun[8], uint32_t events,
	  uint32_t *event_actual, uint8_t *response, int timeout_ms);

/* Posts n event buffers on the event queue. 0 or -errno. */
int sf_event_post(struct vu_front *f, int n);
/* Waits for one filled event buffer: 1 with *ev, 0 on timeout, -errno. */
int sf_event_wait(struct vu_front *f, int timeout_ms, struct virtio_scsi_event *ev);

#endif

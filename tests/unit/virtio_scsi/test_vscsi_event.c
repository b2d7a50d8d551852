/*
 * The vhost-scsi event queue (vscsi_event.c) on its own: events wait on the control thread until
 * the guest posts eventq buffers, go out oldest first, and past VSCSI_EVENTS_MAX collapse into one
 * EVENTS_MISSED - also while a delivery walk is out.
 *
 * The vhost and reactor calls it makes are faked here: one device with a control, an event and an
 * I/O queue; messages to the control thread run when the test pumps them; a walk over the queues
 * runs when the test finishes it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/reactor.h"
#include "virtio_scsi/vscsi_internal.h"

#define NBUF 8

struct vhost_vq {
	struct vhost_dev *dev;
	uint16_t index;
	void *priv;
};

struct vhost_dev {
	struct vscsi_ctrlr *ctrlr;
	bool connected;
	struct vhost_vq vq[3];
};

/* A walk over the queues that has not finished. */
struct walk {
	void (*fn)(struct vhost_vq *vq, void *arg);
	void (*done)(void *arg);
	void *arg;
};

struct msg {
	reactor_msg_fn fn;
	void *arg;
};

static struct fake {
	struct vhost_dev dev;
	struct vscsi_ctrlr ctrlr;
	struct walk walk;
	int walks;
	struct msg msgs[64];
	int nmsgs;
	int warnings;
	/* eventq buffers as the guest posts them, and what came back in them */
	struct vscsi_req req[NBUF];
	struct virtio_scsi_event buf[NBUF];
	int posted;
	struct vscsi_req *completed[NBUF * 2];
	uint32_t used_len[NBUF * 2];
	int ncompleted;
} fk;

/* --- fakes of what vscsi_event.c calls --- */

const char *vhost_dev_name(const struct vhost_dev *dev)
{
	(void)dev;
	return "sc";
}

void *vhost_dev_ctx(const struct vhost_dev *dev)
{
	return dev->ctrlr;
}

bool vhost_dev_connected(const struct vhost_dev *dev)
{
	return dev->connected;
}

void vhost_dev_foreach_queue(struct vhost_dev *dev, void (*fn)(struct vhost_vq *vq, void *arg),
			     void (*done)(void *arg), void *arg)
{
	assert_ptr_equal(dev, &fk.dev);
	assert_null(fk.walk.fn); /* one walk at a time */
	fk.walk = (struct walk){ fn, done, arg };
	fk.walks++;
}

struct vhost_dev *vhost_vq_dev(const struct vhost_vq *vq)
{
	return vq->dev;
}

uint16_t vhost_vq_index(const struct vhost_vq *vq)
{
	return vq->index;
}

void *vhost_vq_priv(const struct vhost_vq *vq)
{
	return vq->priv;
}

void vhost_vq_set_priv(struct vhost_vq *vq, void *priv)
{
	vq->priv = priv;
}

void vhost_req_complete(struct vhost_req *req, uint32_t used_len)
{
	assert_true(fk.ncompleted < NBUF * 2);
	fk.completed[fk.ncompleted] = (struct vscsi_req *)req;
	fk.used_len[fk.ncompleted++] = used_len;
}

struct reactor *reactor_control(void)
{
	return (struct reactor *)&fk; /* only passed back to reactor_send */
}

int reactor_send(struct reactor *r, reactor_msg_fn fn, void *arg)
{
	assert_ptr_equal(r, reactor_control());
	assert_true(fk.nmsgs < 64);
	fk.msgs[fk.nmsgs++] = (struct msg){ fn, arg };
	return 0;
}

void log_write(enum log_level level, const char *fmt, ...)
{
	(void)fmt;
	fk.warnings += level == LOG_WARN;
}

void vscsi_ctrlr_maybe_free(struct vscsi_ctrlr *c)
{
	assert_ptr_equal(c, &fk.ctrlr);
}

/* --- driving it --- */

static struct vhost_vq *eventq(void)
{
	return &fk.dev.vq[VSCSI_EVENTQ];
}

/* Runs the messages sent to the control thread, in order. */
static void pump(void)
{
	for (int i = 0; i < fk.nmsgs; i++)
		fk.msgs[i].fn(fk.msgs[i].arg);
	fk.nmsgs = 0;
}

/* Finishes the walk that is out: each queue's part, then done on the control thread. */
static void finish_walk(void)
{
	struct walk w = fk.walk;

	assert_non_null(w.fn);
	fk.walk = (struct walk){ 0 };
	for (int i = 0; i < 3; i++)
		w.fn(&fk.dev.vq[i], w.arg);
	w.done(w.arg);
}

/* Pumps messages and finishes walks until nothing more happens. */
static void settle(void)
{
	while (fk.nmsgs || fk.walk.fn) {
		pump();
		if (fk.walk.fn)
			finish_walk();
	}
}

/* The guest posts n eventq buffers of in_len bytes each. */
static void post_buffers_len(int n, uint32_t in_len)
{
	for (int i = 0; i < n; i++) {
		struct vscsi_req *r;

		assert_true(fk.posted < NBUF);
		r = &fk.req[fk.posted];
		memset(&fk.buf[fk.posted], 0xaa, sizeof(fk.buf[0]));
		r->vreq.vq = eventq();
		r->vreq.iovcnt = 1;
		r->vreq.out_cnt = 0;
		r->vreq.in_len = in_len;
		r->vreq.iov[0] = (struct iovec){ &fk.buf[fk.posted], in_len };
		fk.posted++;
		vscsi_eventq_request(eventq(), &r->vreq);
	}
}

static void post_buffers(int n)
{
	post_buffers_len(n, sizeof(struct virtio_scsi_event));
}

/* What came back in the k-th completed buffer (posted in order, so completed[k] says which). */
static const struct virtio_scsi_event *completed_event(int k)
{
	assert_true(k < fk.ncompleted);
	assert_int_equal(fk.used_len[k], sizeof(struct virtio_scsi_event));
	return &fk.buf[fk.completed[k] - fk.req];
}

static void assert_target_event(const struct virtio_scsi_event *ev, uint32_t event, int num,
				uint32_t reason)
{
	const uint8_t lun[8] = { 1, (uint8_t)num };

	assert_int_equal(ev->event, event);
	assert_int_equal(ev->reason, reason);
	assert_memory_equal(ev->lun, lun, sizeof(lun));
}

static void assert_events_missed(const struct virtio_scsi_event *ev)
{
	const uint8_t zero[8] = { 0 };

	assert_int_equal(ev->event, VIRTIO_SCSI_T_EVENTS_MISSED);
	assert_int_equal(ev->reason, 0);
	assert_memory_equal(ev->lun, zero, sizeof(zero));
}

static char ioq_priv;

static int setup(void **state)
{
	(void)state;
	memset(&fk, 0, sizeof(fk));
	fk.dev.ctrlr = &fk.ctrlr;
	fk.dev.connected = true;
	for (int i = 0; i < 3; i++)
		fk.dev.vq[i] = (struct vhost_vq){ .dev = &fk.dev, .index = (uint16_t)i };
	/* An I/O queue's private data is not an eventq: delivery must not take it for one (ASan
	 * catches a read past this byte). */
	fk.dev.vq[VSCSI_FIRST_IOQ].priv = &ioq_priv;
	fk.ctrlr.vdev = &fk.dev;
	return vscsi_eventq_start(eventq());
}

static int teardown(void **state)
{
	(void)state;
	assert_null(fk.walk.fn);
	vscsi_eventq_stopping(eventq());
	vscsi_eventq_stop(eventq());
	assert_null(eventq()->priv);
	return 0;
}

static void post_rescan(int num)
{
	vscsi_event_post(&fk.ctrlr, VIRTIO_SCSI_T_TRANSPORT_RESET, num,
			 VIRTIO_SCSI_EVT_RESET_RESCAN);
}

/* Nothing is lost for want of a buffer: events wait, then go out oldest first. */
static void events_wait_for_buffers_and_go_in_order(void **state)
{
	(void)state;
	for (int i = 0; i < 3; i++)
		post_rescan(i);
	settle();
	assert_int_equal(fk.ncompleted, 0);
	assert_int_equal(fk.ctrlr.events.count, 3);

	post_buffers(2);
	settle();
	assert_int_equal(fk.ncompleted, 2);
	assert_target_event(completed_event(0), VIRTIO_SCSI_T_TRANSPORT_RESET, 0,
			    VIRTIO_SCSI_EVT_RESET_RESCAN);
	assert_target_event(completed_event(1), VIRTIO_SCSI_T_TRANSPORT_RESET, 1,
			    VIRTIO_SCSI_EVT_RESET_RESCAN);
	assert_int_equal(fk.ctrlr.events.count, 1);

	post_buffers(2);
	settle();
	assert_int_equal(fk.ncompleted, 3); /* the 4th buffer is held for the next event */
	assert_target_event(completed_event(2), VIRTIO_SCSI_T_TRANSPORT_RESET, 2,
			    VIRTIO_SCSI_EVT_RESET_RESCAN);
	assert_int_equal(fk.ctrlr.events.count, 0);

	vscsi_event_post(&fk.ctrlr, VIRTIO_SCSI_T_PARAM_CHANGE, 7, 0x2a09);
	settle();
	assert_int_equal(fk.ncompleted, 4);
	assert_target_event(completed_event(3), VIRTIO_SCSI_T_PARAM_CHANGE, 7, 0x2a09);
	assert_int_equal(fk.warnings, 0);
}

/* VSCSI_EVENTS_MAX events still wait one by one; one more and they become one EVENTS_MISSED,
 * which also covers every later event until it went out. */
static void past_the_limit_events_collapse_into_events_missed(void **state)
{
	(void)state;
	for (int i = 0; i < VSCSI_EVENTS_MAX; i++)
		post_rescan(i);
	assert_int_equal(fk.ctrlr.events.count, VSCSI_EVENTS_MAX);
	assert_target_event(&fk.ctrlr.events.ev[VSCSI_EVENTS_MAX - 1],
			    VIRTIO_SCSI_T_TRANSPORT_RESET, VSCSI_EVENTS_MAX - 1,
			    VIRTIO_SCSI_EVT_RESET_RESCAN);
	assert_int_equal(fk.warnings, 0);

	post_rescan(VSCSI_EVENTS_MAX);
	assert_int_equal(fk.ctrlr.events.count, 1);
	assert_events_missed(&fk.ctrlr.events.ev[0]);
	assert_int_equal(fk.warnings, 1);
	vscsi_event_post(&fk.ctrlr, VIRTIO_SCSI_T_TRANSPORT_RESET, 3,
			 VIRTIO_SCSI_EVT_RESET_REMOVED);
	assert_int_equal(fk.ctrlr.events.count, 1);
	settle();

	post_buffers(2);
	settle();
	assert_int_equal(fk.ncompleted, 1);
	assert_events_missed(completed_event(0));
	assert_int_equal(fk.ctrlr.events.count, 0);
	assert_int_equal(fk.warnings, 1);

	/* Past it, events are single again. */
	post_rescan(4);
	settle();
	assert_int_equal(fk.ncompleted, 2);
	assert_target_event(completed_event(1), VIRTIO_SCSI_T_TRANSPORT_RESET, 4,
			    VIRTIO_SCSI_EVT_RESET_RESCAN);
}

/* The list collapses while a walk is out with its oldest event: that event goes out, and the
 * EVENTS_MISSED that replaced the list must still follow it. */
static void collapse_during_a_walk_keeps_events_missed(void **state)
{
	(void)state;
	post_buffers(2);
	settle();
	assert_int_equal(fk.ncompleted, 0);

	post_rescan(0);
	pump();
	assert_non_null(fk.walk.fn); /* out with event 0 */
	for (int i = 1; i <= VSCSI_EVENTS_MAX; i++)
		post_rescan(i);
	assert_int_equal(fk.ctrlr.events.count, 1);
	assert_events_missed(&fk.ctrlr.events.ev[0]);

	settle();
	assert_int_equal(fk.ncompleted, 2);
	assert_target_event(completed_event(0), VIRTIO_SCSI_T_TRANSPORT_RESET, 0,
			    VIRTIO_SCSI_EVT_RESET_RESCAN);
	assert_events_missed(completed_event(1));
	assert_int_equal(fk.ctrlr.events.count, 0);
}

/* Events posted while a walk is out wait for the next walk, behind the ones already out. */
static void events_during_a_walk_follow_it(void **state)
{
	(void)state;
	post_buffers(3);
	post_rescan(0);
	pump();
	assert_non_null(fk.walk.fn);
	post_rescan(1);
	post_rescan(2);
	assert_int_equal(fk.walks, 1); /* no second walk while one is out */
	settle();
	assert_int_equal(fk.walks, 2);
	assert_int_equal(fk.ncompleted, 3);
	for (int i = 0; i < 3; i++)
		assert_target_event(completed_event(i), VIRTIO_SCSI_T_TRANSPORT_RESET, i,
				    VIRTIO_SCSI_EVT_RESET_RESCAN);
}

/* No guest connected: nothing to tell (a guest that connects later scans the bus). */
static void nothing_waits_without_a_guest(void **state)
{
	(void)state;
	fk.dev.connected = false;
	for (int i = 0; i <= VSCSI_EVENTS_MAX; i++)
		post_rescan(i);
	assert_int_equal(fk.ctrlr.events.count, 0);
	assert_int_equal(fk.walks, 0);
	assert_int_equal(fk.warnings, 0);
}

/* A buffer too small for an event goes straight back, empty, and is not held. */
static void short_buffers_go_back_empty(void **state)
{
	(void)state;
	post_buffers_len(1, sizeof(struct virtio_scsi_event) - 1);
	assert_int_equal(fk.ncompleted, 1);
	assert_int_equal(fk.used_len[0], 0);
	post_rescan(0);
	settle();
	assert_int_equal(fk.ncompleted, 1);
	assert_int_equal(fk.ctrlr.events.count, 1);
}

/* A stopping queue hands its buffers back as NO_EVENT and delivers nothing more; the events keep
 * waiting. */
static void a_stopping_queue_returns_buffers_as_no_event(void **state)
{
	(void)state;
	post_buffers(2);
	settle();
	vscsi_eventq_stopping(eventq());
	assert_int_equal(fk.ncompleted, 2);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(fk.used_len[i], sizeof(struct virtio_scsi_event));
		assert_int_equal(fk.buf[fk.completed[i] - fk.req].event, VIRTIO_SCSI_T_NO_EVENT);
	}
	post_rescan(0);
	settle();
	assert_int_equal(fk.ncompleted, 2);
	assert_int_equal(fk.ctrlr.events.count, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(events_wait_for_buffers_and_go_in_order, setup,
						teardown),
		cmocka_unit_test_setup_teardown(past_the_limit_events_collapse_into_events_missed,
						setup, teardown),
		cmocka_unit_test_setup_teardown(collapse_during_a_walk_keeps_events_missed, setup,
						teardown),
		cmocka_unit_test_setup_teardown(events_during_a_walk_follow_it, setup, teardown),
		cmocka_unit_test_setup_teardown(nothing_waits_without_a_guest, setup, teardown),
		cmocka_unit_test_setup_teardown(short_buffers_go_back_empty, setup, teardown),
		cmocka_unit_test_setup_teardown(a_stopping_queue_returns_buffers_as_no_event, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

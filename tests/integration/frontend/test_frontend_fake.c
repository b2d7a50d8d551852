/*
 * The front-end library against fake_backend.c, a back-end written separately from the spec: the
 * paths qemu-storage-daemon 7.2 cannot exercise (packed rings, INFLIGHT_SHMFD, STATUS) and a
 * back-end that returns a buffer id that was never in flight.
 */
#include "blk_io.h"
#include "fake_backend.h"
#include "frontend/vu_wire.h"
#include "tap.h"

#include <errno.h>
#include <linux/virtio_ring.h>
#include <stdio.h>
#include <string.h>

#define BIT(n) (1ULL << (n))
#define VIRTIO_F_RING_PACKED_BIT 34

static struct fake_backend fake;

static struct vu_front *start_and_connect(struct vu_front_opts *o)
{
	const char *err = NULL;
	struct vu_front *f;
	int rc;

	memset(&fake, 0, sizeof(fake));
	rc = fake_start(&fake);
	CHECK_MSG(rc == 0, "fake back-end: %s", strerror(-rc));
	if (rc)
		return NULL;
	o->path = fake.path;
	f = vu_front_connect(o, &err);
	CHECK_MSG(f, "connect: %s (%s)", err ? err : "?", strerror(errno));
	if (!f)
		fake_stop(&fake);
	return f;
}

static void close_and_stop(struct vu_front *f)
{
	vu_front_close(f);
	fake_stop(&fake);
}

static void test_packed_handshake(void)
{
	struct vu_front_opts o = { .want_features = ~0ULL, .packed = true, .num_queues = 2 };
	struct vu_front *f = start_and_connect(&o);

	if (!f)
		return;
	CHECK(vu_front_features(f) & BIT(VIRTIO_F_RING_PACKED_BIT));
	CHECK(fake.acked_features & BIT(VIRTIO_F_RING_PACKED_BIT));
	CHECK(fake.acked_features & BIT(VU_F_PROTOCOL_FEATURES));
	CHECK(vu_front_protocol_features(f) & BIT(VU_PROTO_F_STATUS));
	CHECK_EQ(fake.status, 0xf); /* ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK */
	CHECK(fake.inflight_set);
	CHECK_EQ(vu_front_inflight_size(f), 4096 * FAKE_QUEUES);
	CHECK_EQ(fake.nregions, 1);
	CHECK(vu_front_split_desc(f, 0) == NULL); /* raw split access refuses packed queues */
	vu_front_close(f);
	CHECK_EQ(fake.status, 0); /* reset on stop, as QEMU does */
	fake_stop(&fake);
}

static void test_packed_write_read(void)
{
	struct vu_front_opts o = { .want_features = ~0ULL, .packed = true, .num_queues = 2 };
	struct vu_front *f = start_and_connect(&o);

	if (!f)
		return;
	blk_check_write_read(f, 0, 0, false, 1, NULL);
	blk_check_write_read(f, 1, 8, false, 2, NULL);
	blk_check_write_read(f, 0, 16, true, 3, NULL);
	blk_check_write_read(f, 1, FAKE_SECTORS - 8, true, 4, NULL);
	CHECK_EQ(vu_blk_request(f, 0, 0x77, 0, NULL, 0), VIRTIO_BLK_S_UNSUPP);
	close_and_stop(f);
}

/* Odd ring sizes are legal for packed rings: every wrap lands mid-chain sooner or later. */
static void test_packed_wraparound(void)
{
	static const struct {
		uint16_t size;
		bool no_event_idx, busy_poll;
	} runs[] = {
		{ 7, false, false }, { 7, true, false }, { 5, false, true }, { 64, false, false },
	};

	for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
		struct vu_front_opts o = { .want_features = ~0ULL, .packed = true,
					   .queue_size = runs[i].size,
					   .no_event_idx = runs[i].no_event_idx,
					   .busy_poll = runs[i].busy_poll };
		struct vu_front *f = start_and_connect(&o);
		int direct_qd = runs[i].size / 3;

		if (!f)
			return;
		blk_run_deep(f, direct_qd, 500, false, FAKE_SECTORS);
		blk_run_deep(f, runs[i].size, 500, true, FAKE_SECTORS);
		blk_check_write_read(f, 0, 24, false, 5 + i, NULL);
		close_and_stop(f);
	}
}

static void test_packed_queue_full(void)
{
	struct vu_front_opts o = { .want_features = ~0ULL, .packed = true, .queue_size = 4 };
	struct vu_front *f = start_and_connect(&o);
	struct vu_buf b[3];
	struct blk_io *io;

	if (!f)
		return;
	io = blk_io_new(f, 512);
	REQUIRE(io);
	b[0] = (struct vu_buf){ .gpa = io->gpa, .len = 16 };
	b[1] = (struct vu_buf){ .gpa = io->data_gpa, .len = 512, .write = true };
	b[2] = (struct vu_buf){ .gpa = io->gpa + 16, .len = 1, .write = true };
	CHECK_EQ(vu_front_enqueue(f, 0, b, 5, false, NULL), -EINVAL); /* longer than the ring */
	CHECK_EQ(vu_front_enqueue(f, 0, b, 3, false, NULL) >= 0, 1);
	CHECK_EQ(vu_front_enqueue(f, 0, b, 3, false, NULL), -ENOSPC); /* 1 descriptor left */
	CHECK_EQ(vu_front_enqueue(f, 0, b, 3, true, NULL) >= 0, 1);  /* indirect takes 1 */
	CHECK_EQ(vu_front_enqueue(f, 0, b, 3, true, NULL), -ENOSPC);
	CHECK_EQ(vu_front_notify(f, 0), 0);
	for (int i = 0; i < 2; i++)
		CHECK_EQ(vu_front_wait(f, 0, BLK_IO_TIMEOUT_MS, NULL, NULL), 1);
	CHECK_EQ(vu_front_enqueue(f, 0, b, 3, false, NULL) >= 0, 1); /* room again */
	CHECK_EQ(vu_front_notify(f, 0), 0);
	CHECK_EQ(vu_front_wait(f, 0, BLK_IO_TIMEOUT_MS, NULL, NULL), 1);
	close_and_stop(f);
}

static void test_bad_used_id(void)
{
	struct vu_front_opts o = { .want_features = ~0ULL, .packed = true };
	struct vu_front *f = start_and_connect(&o);
	uint8_t buf[512];

	if (!f)
		return;
	fake.bad_used_id = true;
	CHECK_EQ(vu_blk_request(f, 0, VIRTIO_BLK_T_IN, 0, buf, sizeof(buf)), -EPROTO);
	close_and_stop(f);
}

int main(int argc, char **argv)
{
	static const struct tap_test tests[] = {
		TAP_TEST(test_packed_handshake),
		TAP_TEST(test_packed_write_read),
		TAP_TEST(test_packed_wraparound),
		TAP_TEST(test_packed_queue_full),
		TAP_TEST(test_bad_used_id),
	};

	return tap_run(tests, TAP_COUNT(tests), argc, argv);
}

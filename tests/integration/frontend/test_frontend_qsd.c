/*
 * The front-end library against qemu-storage-daemon, a vhost-user-blk back-end that is not ours:
 * if these pass, the library speaks the protocol as QEMU does, independently of vhostd.
 */
#include "frontend/frontend.h"
#include "frontend/vu_wire.h"
#include "blk_io.h"
#include "qsd_proc.h"
#include "tap.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_ring.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define GIB (1024ULL * 1024 * 1024)
#define MIB (1024ULL * 1024)
#define BIT(n) (1ULL << (n))
#define VIRTIO_F_VERSION_1_BIT 32

static struct qsd_proc qsd;

/* Starts a daemon for one test; the test body runs only when it is up. */
static bool qsd_up(bool file_backed, uint64_t size, int num_queues)
{
	int rc;

	qsd_stop(&qsd); /* a test that stopped early (REQUIRE) left its daemon running */
	rc = qsd_start(&qsd, file_backed, size, num_queues);

	CHECK_MSG(rc == 0, "cannot start qemu-storage-daemon: %s", strerror(-rc));
	return rc == 0;
}

/* The qsd's backing file, when it has one, to check data beneath the device. */
static const char *image(void)
{
	return qsd.image[0] ? qsd.image : NULL;
}

static struct vu_front *connect_opts(struct vu_front_opts *o)
{
	const char *err = NULL;
	struct vu_front *f;

	o->path = qsd.sock;
	f = vu_front_connect(o, &err);
	CHECK_MSG(f, "connect: %s (%s)", err ? err : "?", strerror(errno));
	return f;
}

static struct vu_front *connect_default(void)
{
	struct vu_front_opts o = { .want_features = ~0ULL };

	return connect_opts(&o);
}

static void test_qsd_present(void)
{
	const char *bin = qsd_binary();

	CHECK_MSG(bin, "qemu-storage-daemon not found: install qemu-system-common or set "
		       "QSD=/path/to/qemu-storage-daemon");
	if (bin)
		printf("# using %s\n", bin);
}

static void test_handshake(void)
{
	struct vu_front *f;

	if (!qsd_up(false, GIB, 1))
		return;
	f = connect_default();
	if (f) {
		uint64_t feat = vu_front_features(f), proto = vu_front_protocol_features(f);

		CHECK(feat & BIT(VIRTIO_F_VERSION_1_BIT));
		CHECK(feat & BIT(VIRTIO_RING_F_EVENT_IDX));
		CHECK(feat & BIT(VIRTIO_RING_F_INDIRECT_DESC));
		CHECK(feat & BIT(VIRTIO_BLK_F_FLUSH));
		/* bit 30 is vhost-user's, not a virtio feature */
		CHECK(!(feat & BIT(VU_F_PROTOCOL_FEATURES)));
		CHECK(proto & BIT(VU_PROTO_F_REPLY_ACK));
		CHECK(proto & BIT(VU_PROTO_F_CONFIG));
		CHECK_EQ(vu_front_num_queues(f), 1);
		CHECK_EQ(vu_front_queue_size(f, 0), 128);
		CHECK_EQ(vu_front_queue_size(f, 1), 0);
		CHECK_EQ(vu_front_backend_fd(f) >= 0, !!(proto & BIT(VU_PROTO_F_BACKEND_REQ)));
		CHECK_EQ(vu_front_inflight_size(f) > 0, !!(proto & BIT(VU_PROTO_F_INFLIGHT_SHMFD)));
		printf("# features %#llx protocol features %#llx inflight %zu bytes\n",
		       (unsigned long long)feat, (unsigned long long)proto,
		       vu_front_inflight_size(f));
		vu_front_close(f);
	}
	qsd_stop(&qsd);
}

static void test_get_config_capacity(void)
{
	struct virtio_blk_config cfg;
	struct vu_front *f;

	if (!qsd_up(false, GIB, 1))
		return;
	f = connect_default();
	if (f) {
		memset(&cfg, 0xa5, sizeof(cfg));
		CHECK_EQ(vu_front_get_config(f, &cfg, 60), 0);
		CHECK_EQ(cfg.capacity, GIB / 512);
		if (vu_front_features(f) & BIT(VIRTIO_BLK_F_BLK_SIZE))
			CHECK_EQ(cfg.blk_size, 512);
		CHECK_EQ(vu_front_get_config(f, &cfg, 0), -EINVAL);
		CHECK_EQ(vu_front_get_config(f, &cfg, VU_CONFIG_MAX + 1), -EINVAL);
		vu_front_close(f);
	}
	qsd_stop(&qsd);
}

static void test_split_write_read(void)
{
	struct vu_front *f;

	if (!qsd_up(true, 64 * MIB, 1))
		return;
	f = connect_default();
	if (f) {
		blk_check_write_read(f, 0, 0, false, 1, image());
		blk_check_write_read(f, 0, 8, false, 2, image());
		blk_check_write_read(f, 0, 64 * MIB / 512 - 8, false, 3, image()); /* last 4 KiB */
		vu_front_close(f);
	}
	qsd_stop(&qsd);
}

static void test_split_indirect_write_read(void)
{
	struct vu_front *f;

	if (!qsd_up(true, 64 * MIB, 1))
		return;
	f = connect_default();
	if (f) {
		blk_check_write_read(f, 0, 16, true, 4, image());
		blk_check_write_read(f, 0, 17, true, 5, image()); /* unaligned to 4 KiB */
		vu_front_close(f);
	}
	qsd_stop(&qsd);
}

static void test_no_event_idx_no_indirect(void)
{
	struct vu_front_opts o = { .want_features = ~0ULL, .no_event_idx = true,
				   .no_indirect = true };
	struct vu_front *f;
	uint8_t buf[512];

	if (!qsd_up(true, 64 * MIB, 1))
		return;
	f = connect_opts(&o);
	if (f) {
		CHECK(!(vu_front_features(f) & BIT(VIRTIO_RING_F_EVENT_IDX)));
		CHECK(!(vu_front_features(f) & BIT(VIRTIO_RING_F_INDIRECT_DESC)));
		blk_check_write_read(f, 0, 32, false, 6, image());
		/* without INDIRECT_DESC agreed the library refuses indirect chains */
		CHECK_EQ(vu_blk_request_opt(f, 0, VIRTIO_BLK_T_IN, 0, buf, sizeof(buf), true),
			 -EINVAL);
		vu_front_close(f);
	}
	qsd_stop(&qsd);
}

static void test_packed_write_read(void)
{
	struct vu_front_opts o = { .want_features = ~0ULL, .packed = true, .path = NULL };
	const char *err = NULL;
	struct vu_front *f;

	if (!qsd_up(true, 64 * MIB, 1))
		return;
	o.path = qsd.sock;
	f = vu_front_connect(&o, &err);
	if (!f && errno == EOPNOTSUPP) {
		/* libvhost-user (qsd 7.2) has no packed ring: proven against vhostd instead */
		printf("# SKIP packed ring: %s\n", err);
	} else {
		CHECK_MSG(f, "connect: %s", err);
		if (f) {
			blk_check_write_read(f, 0, 40, false, 7, image());
			blk_check_write_read(f, 0, 48, true, 8, image());
			vu_front_close(f);
		}
	}
	qsd_stop(&qsd);
}

static void test_multiqueue(void)
{
	struct vu_front_opts o = { .want_features = ~0ULL, .num_queues = 4 };
	struct blk_io *io[4];
	struct vu_front *f;

	if (!qsd_up(true, 64 * MIB, 4))
		return;
	f = connect_opts(&o);
	if (!f)
		goto out;
	CHECK_EQ(vu_front_num_queues(f), 4);
	for (int q = 0; q < 4; q++) {
		io[q] = blk_io_new(f, 4096);
		REQUIRE(io[q]);
		blk_fill(io[q]->data, 4096, 100 + q);
		CHECK(blk_io_submit(f, q, io[q], VIRTIO_BLK_T_OUT, 1000 + 8 * q, 4096, true,
				    false) >= 0);
	}
	for (int q = 0; q < 4; q++) {
		void *cookie = NULL;

		CHECK_EQ(vu_front_wait(f, q, BLK_IO_TIMEOUT_MS, &cookie, NULL), 1);
		CHECK(cookie == io[q]);
		CHECK_EQ(io[q]->status, VIRTIO_BLK_S_OK);
	}
	/* read each back through a different queue than the one that wrote it */
	for (int q = 0; q < 4; q++) {
		uint8_t expect[4096], got[4096];

		blk_fill(expect, sizeof(expect), 100 + q);
		CHECK_EQ(vu_blk_request(f, (q + 1) % 4, VIRTIO_BLK_T_IN, 1000 + 8 * q, got,
					sizeof(got)), VIRTIO_BLK_S_OK);
		CHECK_MSG(memcmp(expect, got, sizeof(got)) == 0, "queue %d data differs", q);
	}
	vu_front_close(f);
out:
	qsd_stop(&qsd);
	/* more queues than the export has must be refused at connect time */
	if (!qsd_up(false, GIB, 2))
		return;
	o.num_queues = 3;
	o.path = qsd.sock;
	f = vu_front_connect(&o, NULL);
	CHECK(!f && errno == EINVAL);
	vu_front_close(f);
	qsd_stop(&qsd);
}

static void test_flush(void)
{
	struct vu_front *f;

	if (!qsd_up(true, 64 * MIB, 1))
		return;
	f = connect_default();
	if (f) {
		REQUIRE(vu_front_features(f) & BIT(VIRTIO_BLK_F_FLUSH));
		CHECK_EQ(vu_blk_request(f, 0, VIRTIO_BLK_T_FLUSH, 0, NULL, 0), VIRTIO_BLK_S_OK);
		vu_front_close(f);
	}
	qsd_stop(&qsd);
}

static void test_ring_wraparound(void)
{
	struct vu_front_opts o = { .want_features = ~0ULL, .queue_size = 16 };

	if (!qsd_up(false, GIB, 1))
		return;
	/* 16 descriptors: five 3-descriptor chains, or sixteen indirect ones */
	for (int pass = 0; pass < 3; pass++) {
		struct vu_front *f;

		o.no_event_idx = pass == 1;
		o.busy_poll = pass == 2;
		f = connect_opts(&o);
		if (!f)
			continue;
		blk_run_deep(f, 5, 1000, false, GIB / 512);
		blk_run_deep(f, 16, 1000, true, GIB / 512);
		vu_front_close(f);
	}
	qsd_stop(&qsd);
}

static void test_queue_full(void)
{
	struct vu_front_opts o = { .want_features = ~0ULL, .queue_size = 8, .no_indirect = true };
	struct vu_buf b[3];
	struct blk_io *io;
	struct vu_front *f;

	if (!qsd_up(false, GIB, 1))
		return;
	f = connect_opts(&o);
	if (f) {
		io = blk_io_new(f, 512);
		REQUIRE(io);
		b[0] = (struct vu_buf){ .gpa = io->gpa, .len = 16 };
		b[1] = (struct vu_buf){ .gpa = io->data_gpa, .len = 512, .write = true };
		b[2] = (struct vu_buf){ .gpa = io->gpa + 16, .len = 1, .write = true };
		/* two 3-descriptor chains fit in 8 descriptors, a third does not */
		CHECK(vu_front_enqueue(f, 0, b, 3, false, NULL) >= 0);
		CHECK(vu_front_enqueue(f, 0, b, 3, false, NULL) >= 0);
		CHECK_EQ(vu_front_enqueue(f, 0, b, 3, false, NULL), -ENOSPC);
		CHECK_EQ(vu_front_enqueue(f, 0, b, 0, false, NULL), -EINVAL);
		CHECK_EQ(vu_front_enqueue(f, 1, b, 3, false, NULL), -EINVAL);
		CHECK_EQ(vu_front_enqueue(f, 0, b, 3, true, NULL), -EINVAL); /* no INDIRECT_DESC */
		vu_front_close(f);
	}
	qsd_stop(&qsd);
}

static void test_memory_regions(void)
{
	uint64_t all_but_slots = ~(BIT(VU_PROTO_F_CONFIGURE_MEM_SLOTS) | VU_FRONT_PROTO_NONE);
	struct vu_front_opts o = { .want_features = ~0ULL, .mem_regions = 3, .mem_size = 3 * MIB };

	if (!qsd_up(true, 64 * MIB, 1))
		return;
	/* first with ADD_MEM_REG (when offered), then with one SET_MEM_TABLE of three regions */
	for (int pass = 0; pass < 2; pass++) {
		struct vu_front *f = connect_opts(&o);
		uint8_t *far = NULL;
		uint64_t gpa = 0;

		if (!f)
			break;
		printf("# pass %d: CONFIGURE_MEM_SLOTS %s\n", pass,
		       vu_front_protocol_features(f) & BIT(VU_PROTO_F_CONFIGURE_MEM_SLOTS) ? "on"
											   : "off");
		while (gpa < 4 * MIB) { /* region 2 starts at gpa 4 MiB */
			far = vu_front_alloc(f, 256 * 1024, 4096, &gpa);
			if (!far)
				break;
		}
		CHECK_MSG(far && gpa >= 4 * MIB, "no buffer in the third region");
		if (far) {
			blk_fill(far, 4096, 9 + pass);
			CHECK_EQ(vu_blk_request(f, 0, VIRTIO_BLK_T_OUT, 256, far, 4096),
				 VIRTIO_BLK_S_OK);
			CHECK(vu_front_gpa_to_ptr(f, gpa) == far);
			/* the hole after region 1 */
			CHECK(vu_front_gpa_to_ptr(f, 3 * MIB) == NULL);
			/* bounce buffers land in region 0 or 1 */
			blk_check_write_read(f, 0, 256, false, 9 + pass, image());
		}
		vu_front_close(f);
		o.want_protocol_features = all_but_slots;
	}
	qsd_stop(&qsd);
}

static void test_resize_config_change(void)
{
	struct virtio_blk_config cfg;
	struct vu_front *f;
	uint8_t payload[VU_WIRE_CONFIG_HDR + VU_CONFIG_MAX];
	uint32_t req = 0;
	int qmp;

	if (!qsd_up(true, 64 * MIB, 1))
		return;
	f = connect_default();
	qmp = qsd_qmp_open(&qsd);
	CHECK_MSG(qmp >= 0, "QMP: %s", strerror(-qmp));
	if (f && qmp >= 0) {
		REQUIRE(vu_front_backend_fd(f) >= 0);
		CHECK_EQ(qsd_qmp_send(qmp, "{\"execute\":\"block_resize\",\"arguments\":"
					   "{\"node-name\":\"n\",\"size\":134217728}}"), 0);
		/* A qsd that reports resizes waits for our ack before it answers QMP: read the
		 * back-end channel first. */
		int got = vu_front_backend_recv(f, &req, payload, sizeof(payload), 2000);

		CHECK_EQ(qsd_qmp_reply(qmp), 0);
		CHECK_EQ(vu_front_get_config(f, &cfg, 60), 0);
		if (got == -ETIMEDOUT && cfg.capacity == 64 * MIB / 512) {
			printf("# SKIP config change: this qemu-storage-daemon does not tell the "
			       "front-end about resizes\n");
		} else {
			CHECK_MSG(got >= 0, "back-end channel: %s", strerror(-got));
			CHECK_EQ(req, VU_BACKEND_CONFIG_CHANGE_MSG);
			CHECK_EQ(cfg.capacity, 128 * MIB / 512);
			/* in the new space */
			blk_check_write_read(f, 0, 128 * MIB / 512 - 8, false, 11, image());
		}
	}
	if (qmp >= 0)
		close(qmp);
	vu_front_close(f);
	qsd_stop(&qsd);
}

static void test_error_paths(void)
{
	struct vu_front_opts o = { .path = "/nonexistent/vu.sock", .connect_timeout_ms = 50 };
	uint8_t buf[4096];
	struct vu_front *f;

	CHECK(!vu_front_connect(&o, NULL) && errno == ENOENT);
	CHECK(!vu_front_connect(NULL, NULL) && errno == EINVAL);
	if (!qsd_up(false, GIB, 1))
		return;
	o = (struct vu_front_opts){ .path = qsd.sock, .queue_size = 100 };
	CHECK(!vu_front_connect(&o, NULL) && errno == EINVAL); /* split size not a power of 2 */
	f = connect_default();
	if (f) {
		CHECK_EQ(vu_blk_request(f, 0, VIRTIO_BLK_T_IN, GIB / 512, buf, 512),
			 VIRTIO_BLK_S_IOERR);
		CHECK_EQ(vu_blk_request(f, 0, 0x77, 0, buf, 512), VIRTIO_BLK_S_UNSUPP);
		CHECK_EQ(vu_blk_request(f, 1, VIRTIO_BLK_T_IN, 0, buf, 512), -EINVAL);
		CHECK_EQ(vu_blk_request(f, -1, VIRTIO_BLK_T_IN, 0, buf, 512), -EINVAL);
		CHECK_EQ(vu_front_poll(f, 5, NULL, NULL), -EINVAL);
		/* the back-end still serves after the failures */
		CHECK_EQ(vu_blk_request(f, 0, VIRTIO_BLK_T_IN, 0, buf, 512), VIRTIO_BLK_S_OK);
		vu_front_close(f);
	}
	qsd_stop(&qsd);
}

static void test_no_protocol_features(void)
{
	struct vu_front_opts o = { .want_features = ~0ULL,
				   .want_protocol_features = VU_FRONT_PROTO_NONE };
	uint8_t cfg[60];
	struct vu_front *f;

	if (!qsd_up(true, 64 * MIB, 1))
		return;
	f = connect_opts(&o);
	if (f) {
		CHECK_EQ(vu_front_protocol_features(f), 0);
		CHECK_EQ(vu_front_get_config(f, cfg, sizeof(cfg)), -EOPNOTSUPP);
		CHECK_EQ(vu_front_backend_fd(f), -1);
		blk_check_write_read(f, 0, 64, false, 12, image());
		vu_front_close(f);
	}
	qsd_stop(&qsd);
}

static void test_raw_split_chain(void)
{
	struct vu_front *f;

	if (!qsd_up(false, GIB, 1))
		return;
	f = connect_default();
	if (f) {
		struct vring_desc *d = vu_front_split_desc(f, 0);
		struct blk_io *io = blk_io_new(f, 512);
		void *cookie = (void *)1;
		uint32_t len = 0;

		REQUIRE(d && io);
		io->hdr = (struct virtio_blk_outhdr){ .type = VIRTIO_BLK_T_IN };
		io->status = 0xff;
		d[5] = (struct vring_desc){ .addr = io->gpa, .len = 16, .flags = VRING_DESC_F_NEXT,
					    .next = 9 };
		d[9] = (struct vring_desc){ .addr = io->data_gpa, .len = 512, .next = 2,
					    .flags = VRING_DESC_F_WRITE | VRING_DESC_F_NEXT };
		d[2] = (struct vring_desc){ .addr = io->gpa + offsetof(struct blk_io, status),
					    .len = 1, .flags = VRING_DESC_F_WRITE };
		vu_front_split_publish(f, 0, 5);
		CHECK_EQ(vu_front_wait(f, 0, BLK_IO_TIMEOUT_MS, &cookie, &len), 1);
		CHECK(cookie == NULL);
		CHECK_EQ(len, 513);
		CHECK_EQ(io->status, VIRTIO_BLK_S_OK);
		/* the library's own requests still work after a raw one */
		CHECK_EQ(vu_blk_request(f, 0, VIRTIO_BLK_T_IN, 0, io->data, 512), VIRTIO_BLK_S_OK);
		vu_front_close(f);
	}
	qsd_stop(&qsd);
}

int main(int argc, char **argv)
{
	static const struct tap_test tests[] = {
		TAP_TEST(test_qsd_present),
		TAP_TEST(test_handshake),
		TAP_TEST(test_get_config_capacity),
		TAP_TEST(test_split_write_read),
		TAP_TEST(test_split_indirect_write_read),
		TAP_TEST(test_no_event_idx_no_indirect),
		TAP_TEST(test_packed_write_read),
		TAP_TEST(test_multiqueue),
		TAP_TEST(test_flush),
		TAP_TEST(test_ring_wraparound),
		TAP_TEST(test_queue_full),
		TAP_TEST(test_memory_regions),
		TAP_TEST(test_resize_config_change),
		TAP_TEST(test_error_paths),
		TAP_TEST(test_no_protocol_features),
		TAP_TEST(test_raw_split_chain),
	};

	int rc = tap_run(tests, TAP_COUNT(tests), argc, argv);

	qsd_stop(&qsd);
	return rc;
}

/*
 * Commands through the virtio-scsi transport against a real vhostd: INQUIRY, READ CAPACITY,
 * READ/WRITE with data checked, sense and residuals in the response, BAD_TARGET and bad LUN
 * addresses, 256 targets answering on several queues, TMFs (LUN RESET, unknown, bad target) and
 * AN requests, garbage requests.
 */
#include "scsi_test.h"
#include "tap.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void fill(uint8_t *buf, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(i * 7 + seed);
}

/* A controller with n targets, connected with nio I/O queues; the first command on each target
 * gets the POWER ON unit attention, which this consumes. */
static struct vu_front *setup(struct test_daemon *d, int ntargets, int nio)
{
	struct vu_front *f;
	struct sf_result res;

	if (!st_setup(d, "sc", "M", ntargets))
		return NULL;
	f = st_connect(d, "sc", nio);
	for (int q = 0; f && q < nio; q++)
		for (int t = 0; t < ntargets; t++)
			st_test_unit_ready(f, SF_IOQ + q, t, &res);
	return f;
}

static void test_inquiry_capacity_rw(void)
{
	struct test_daemon *d = test_daemon_start("-m 0x3 --poll adaptive");
	struct vu_front *f;
	struct sf_result res;
	uint8_t inq[96], w[8192], r[8192];
	uint64_t blocks;
	uint32_t bs;

	REQUIRE(d);
	f = setup(d, 2, 2);
	REQUIRE(f);
	CHECK_EQ(st_test_unit_ready(f, SF_IOQ, 0, &res), 0);
	CHECK_EQ(res.response, VIRTIO_SCSI_S_OK);
	CHECK_EQ(res.status, 0);
	CHECK_EQ(res.sense_len, 0);
	memset(inq, 0, sizeof(inq));
	CHECK_EQ(st_inquiry(f, SF_IOQ, 1, inq, sizeof(inq), &res), 0);
	CHECK_EQ(res.response, VIRTIO_SCSI_S_OK);
	CHECK_EQ(res.status, 0);
	CHECK_EQ(inq[0] & 0x1f, 0); /* direct-access block device */
	CHECK_EQ(inq[0] >> 5, 0);   /* connected */
	CHECK(res.used_len > sizeof(struct virtio_scsi_cmd_resp));
	CHECK_EQ(res.resid, sizeof(inq) - (res.used_len - sizeof(struct virtio_scsi_cmd_resp)));
	CHECK_EQ(st_read_capacity(f, SF_IOQ + 1, 0, &blocks, &bs, &res), 0);
	CHECK_EQ(res.status, 0);
	CHECK_EQ(blocks, 16384);
	CHECK_EQ(bs, 512);
	/* Written on one queue, read on the other: the copies share the bdev. */
	fill(w, sizeof(w), 3);
	CHECK_EQ(st_rw(f, SF_IOQ, 1, true, 100, w, sizeof(w), &res), 0);
	CHECK_EQ(res.response, VIRTIO_SCSI_S_OK);
	CHECK_EQ(res.status, 0);
	CHECK_EQ(res.resid, 0);
	memset(r, 0, sizeof(r));
	CHECK_EQ(st_rw(f, SF_IOQ + 1, 1, false, 100, r, sizeof(r), &res), 0);
	CHECK_EQ(res.status, 0);
	CHECK_EQ(res.used_len, sizeof(struct virtio_scsi_cmd_resp) + sizeof(r));
	CHECK(memcmp(w, r, sizeof(w)) == 0);
	/* Target 0 did not get target 1's data. */
	CHECK_EQ(st_rw(f, SF_IOQ, 0, false, 100, r, sizeof(r), &res), 0);
	CHECK(memcmp(w, r, sizeof(w)) != 0);
	/* Out of range: CHECK CONDITION, ILLEGAL REQUEST, LBA OUT OF RANGE, sense in the resp. */
	CHECK_EQ(st_rw(f, SF_IOQ, 0, false, 16384, r, 512, &res), 0);
	CHECK_EQ(res.response, VIRTIO_SCSI_S_OK);
	CHECK_EQ(res.status, 2);
	CHECK_EQ(st_sense_key(&res), 5);
	CHECK_EQ(st_sense_asc(&res), 0x2100);
	CHECK(res.sense_len >= 14 && res.sense_len <= 96);
	/* Unknown opcode. */
	{
		uint8_t cdb[6] = { 0xff };

		CHECK_EQ(sf_cmd(f, SF_IOQ, 0, cdb, sizeof(cdb), NULL, 0, SF_NONE, &res), 0);
		CHECK_EQ(res.status, 2);
		CHECK_EQ(st_sense_asc(&res), 0x2000);
	}
	vu_front_close(f);
	CHECK(test_daemon_stop(d, NULL) == 0);
}

static void test_bad_target_and_lun(void)
{
	struct test_daemon *d = test_daemon_start("--poll never");
	struct vu_front *f;
	struct sf_result res;
	uint8_t inq[96], lun[8], cdb[6] = { 0x12, 0, 0, 0, 96, 0 };
	uint64_t tag;
	struct sf_cmd *c;

	REQUIRE(d);
	f = setup(d, 1, 1);
	REQUIRE(f);
	CHECK_EQ(st_inquiry(f, SF_IOQ, 9, inq, sizeof(inq), &res), 0);
	CHECK_EQ(res.response, VIRTIO_SCSI_S_BAD_TARGET);
	CHECK_EQ(st_test_unit_ready(f, SF_IOQ, 200, &res), 0);
	CHECK_EQ(res.response, VIRTIO_SCSI_S_BAD_TARGET);
	/* lun[0] other than 1. */
	sf_lun(lun, 0, 0);
	lun[0] = 2;
	c = sf_cmd_submit(f, SF_IOQ, lun, 1, cdb, sizeof(cdb), inq, sizeof(inq), SF_IN);
	REQUIRE(c);
	CHECK_EQ(sf_cmd_wait(f, SF_IOQ, ST_TIMEOUT_MS, &tag, &res), 1);
	CHECK_EQ(res.response, VIRTIO_SCSI_S_BAD_TARGET);
	/* A LUN the target does not have: INQUIRY says "not connected" (qualifier 011b), a read
	 * gets LOGICAL UNIT NOT SUPPORTED. */
	sf_lun(lun, 0, 3);
	memset(inq, 0, sizeof(inq));
	c = sf_cmd_submit(f, SF_IOQ, lun, 2, cdb, sizeof(cdb), inq, sizeof(inq), SF_IN);
	REQUIRE(c);
	CHECK_EQ(sf_cmd_wait(f, SF_IOQ, ST_TIMEOUT_MS, &tag, &res), 1);
	CHECK_EQ(res.response, VIRTIO_SCSI_S_OK);
	CHECK_EQ(inq[0] >> 5, 3);
	{
		uint8_t rd[10] = { 0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0 }, buf[512];

		c = sf_cmd_submit(f, SF_IOQ, lun, 3, rd, sizeof(rd), buf, sizeof(buf), SF_IN);
		REQUIRE(c);
		CHECK_EQ(sf_cmd_wait(f, SF_IOQ, ST_TIMEOUT_MS, &tag, &res), 1);
		CHECK_EQ(res.status, 2);
		CHECK_EQ(st_sense_asc(&res), 0x2500);
	}
	/* A LUN address with bytes 4..7 set is no LUN of ours either. */
	sf_lun(lun, 0, 0);
	lun[5] = 1;
	c = sf_cmd_submit(f, SF_IOQ, lun, 4, cdb, sizeof(cdb), inq, sizeof(inq), SF_IN);
	REQUIRE(c);
	CHECK_EQ(sf_cmd_wait(f, SF_IOQ, ST_TIMEOUT_MS, &tag, &res), 1);
	CHECK_EQ(res.response, VIRTIO_SCSI_S_OK);
	CHECK_EQ(inq[0] >> 5, 3);
	vu_front_close(f);
	CHECK(test_daemon_stop(d, NULL) == 0);
}

/* Chains too short for a header: FAILURE when the response fits, nothing when it does not. */
static void test_garbage_requests(void)
{
	struct test_daemon *d = test_daemon_start("--poll never");
	struct vu_front *f;
	struct sf_result res;
	uint64_t gpa_out, gpa_in;
	struct virtio_scsi_cmd_resp *resp;
	void *cookie;
	uint32_t used;

	REQUIRE(d);
	f = setup(d, 1, 1);
	REQUIRE(f);
	REQUIRE(vu_front_alloc(f, 8, 16, &gpa_out));
	resp = vu_front_alloc(f, sizeof(*resp), 16, &gpa_in);
	REQUIRE(resp);
	memset(resp, 0xee, sizeof(*resp));
	{
		struct vu_buf bufs[2] = { { gpa_out, 8, false }, { gpa_in, sizeof(*resp), true } };

		CHECK(vu_front_submit(f, SF_IOQ, bufs, 2, false, resp) >= 0);
		CHECK_EQ(vu_front_wait(f, SF_IOQ, ST_TIMEOUT_MS, &cookie, &used), 1);
		CHECK_EQ(resp->response, VIRTIO_SCSI_S_FAILURE);
	}
	{
		struct vu_buf bufs[2] = { { gpa_out, 8, false }, { gpa_in, 4, true } };

		CHECK(vu_front_submit(f, SF_IOQ, bufs, 2, false, resp) >= 0);
		CHECK_EQ(vu_front_wait(f, SF_IOQ, ST_TIMEOUT_MS, &cookie, &used), 1);
		CHECK_EQ(used, 0);
	}
	{ /* control queue: unknown type, short TMF */
		uint32_t *type = vu_front_gpa_to_ptr(f, gpa_out);
		struct vu_buf bufs[2] = { { gpa_out, 8, false }, { gpa_in, 8, true } };

		*type = 77;
		CHECK(vu_front_submit(f, SF_CONTROLQ, bufs, 2, false, resp) >= 0);
		CHECK_EQ(vu_front_wait(f, SF_CONTROLQ, ST_TIMEOUT_MS, &cookie, &used), 1);
		CHECK_EQ(used, 0);
		*type = VIRTIO_SCSI_T_TMF;
		memset(resp, 0xee, 8);
		CHECK(vu_front_submit(f, SF_CONTROLQ, bufs, 2, false, resp) >= 0);
		CHECK_EQ(vu_front_wait(f, SF_CONTROLQ, ST_TIMEOUT_MS, &cookie, &used), 1);
		CHECK_EQ(((uint8_t *)resp)[0], VIRTIO_SCSI_S_FAILURE);
	}
	/* Still serving. */
	CHECK_EQ(st_test_unit_ready(f, SF_IOQ, 0, &res), 0);
	CHECK_EQ(res.status, 0);
	vu_front_close(f);
	CHECK(test_daemon_stop(d, NULL) == 0);
}

/* One WRITE(10) or READ(10) of 1 KiB at LBA 8 whose header, response and data are cut into
 * descriptors as given: out = header (+ data for a write), in = response (+ data for a read),
 * each side cut after the byte counts in its cuts list (0-terminated). Returns used_len. */
static uint32_t odd_rw(struct vu_front *f, bool write, uint8_t *data, const uint32_t *out_cuts,
		       const uint32_t *in_cuts, struct virtio_scsi_cmd_resp **resp_out)
{
	enum { LEN = 1024 };
	uint32_t out_len = sizeof(struct virtio_scsi_cmd_req) + (write ? LEN : 0);
	uint32_t in_len = sizeof(struct virtio_scsi_cmd_resp) + (write ? 0 : LEN);
	uint64_t out_gpa, in_gpa;
	uint8_t *out = vu_front_alloc(f, out_len, 16, &out_gpa);
	uint8_t *in = vu_front_alloc(f, in_len, 16, &in_gpa);
	struct virtio_scsi_cmd_req *req = (struct virtio_scsi_cmd_req *)out;
	struct vu_buf bufs[8];
	uint32_t at = 0, used = 0;
	void *cookie;
	int n = 0;

	if (!out || !in)
		return 0;
	memset(out, 0, out_len);
	memset(in, 0xee, in_len);
	sf_lun(req->lun, 0, 0);
	req->cdb[0] = write ? 0x2a : 0x28;
	req->cdb[5] = 8;
	req->cdb[8] = LEN / 512;
	if (write)
		memcpy(out + sizeof(*req), data, LEN);
	for (const uint32_t *c = out_cuts; *c; c++, at += c[-1])
		bufs[n++] = (struct vu_buf){ out_gpa + at, *c, false };
	bufs[n++] = (struct vu_buf){ out_gpa + at, out_len - at, false };
	at = 0;
	for (const uint32_t *c = in_cuts; *c; c++, at += c[-1])
		bufs[n++] = (struct vu_buf){ in_gpa + at, *c, true };
	bufs[n++] = (struct vu_buf){ in_gpa + at, in_len - at, true };
	if (vu_front_submit(f, SF_IOQ, bufs, n, false, in) < 0 ||
	    vu_front_wait(f, SF_IOQ, ST_TIMEOUT_MS, &cookie, &used) != 1)
		return 0;
	if (!write)
		memcpy(data, in + sizeof(struct virtio_scsi_cmd_resp), LEN);
	*resp_out = (struct virtio_scsi_cmd_resp *)in;
	return used;
}

/* Drivers other than Linux's lay buffers out otherwise: a header split over descriptors, data
 * sharing a descriptor with the header or the response, a response split. Same results. */
static void test_any_buffer_layout(void)
{
	static const uint32_t none[] = { 0 }, hdr_split[] = { 20, 0 },
			      hdr_then_data_split[] = { 51, 100, 0 }, resp_split[] = { 5, 0 },
			      resp_then_data[] = { 108, 0 }, resp_into_data[] = { 200, 0 };
	struct test_daemon *d = test_daemon_start("--poll never");
	struct virtio_scsi_cmd_resp *resp = NULL;
	uint8_t w[1024], r[1024];
	struct vu_front *f;

	REQUIRE(d);
	f = setup(d, 1, 1);
	REQUIRE(f);
	fill(w, sizeof(w), 11);
	/* Header and data in one descriptor; then the header cut in two. */
	CHECK_EQ(odd_rw(f, true, w, none, none, &resp), sizeof(*resp));
	CHECK(resp && resp->response == VIRTIO_SCSI_S_OK && resp->status == 0 && resp->resid == 0);
	CHECK_EQ(odd_rw(f, true, w, hdr_split, none, &resp), sizeof(*resp));
	CHECK(resp && resp->response == VIRTIO_SCSI_S_OK && resp->status == 0);
	CHECK_EQ(odd_rw(f, true, w, hdr_then_data_split, resp_split, &resp), sizeof(*resp));
	CHECK(resp && resp->response == VIRTIO_SCSI_S_OK && resp->status == 0);
	/* Response and data in one descriptor, cut elsewhere, or at the boundary. */
	memset(r, 0, sizeof(r));
	CHECK_EQ(odd_rw(f, false, r, none, none, &resp), sizeof(*resp) + sizeof(r));
	CHECK(resp && resp->response == VIRTIO_SCSI_S_OK && resp->status == 0 && resp->resid == 0);
	CHECK(memcmp(r, w, sizeof(r)) == 0);
	memset(r, 0, sizeof(r));
	CHECK_EQ(odd_rw(f, false, r, hdr_split, resp_into_data, &resp), sizeof(*resp) + sizeof(r));
	CHECK(memcmp(r, w, sizeof(r)) == 0);
	memset(r, 0, sizeof(r));
	CHECK_EQ(odd_rw(f, false, r, none, resp_then_data, &resp), sizeof(*resp) + sizeof(r));
	CHECK(resp && resp->response == VIRTIO_SCSI_S_OK && resp->status == 0);
	CHECK(memcmp(r, w, sizeof(r)) == 0);
	vu_front_close(f);
	CHECK(test_daemon_stop(d, NULL) == 0);
}

/* 256 targets, each answering INQUIRY and READ CAPACITY on two queues. */
static void test_256_targets_io(void)
{
	struct test_daemon *d = test_daemon_start("-m 0x3 --poll adaptive");
	struct vu_front *f;
	struct sf_result res;
	uint8_t inq[36];
	uint64_t blocks;
	uint32_t bs;
	int bad = 0;

	REQUIRE(d);
	REQUIRE(it_malloc(d, "M", 4096, 512));
	REQUIRE(it_ok(d, "vhost_create_scsi_controller", json_pack("{s:s}", "ctrlr", "sc")));
	for (int i = 0; i < 256; i++)
		json_decref(st_add_target(d, "sc", i, "M"));
	f = it_connect(d, "sc", &(struct vu_front_opts){ .num_queues = SF_IOQ + 2,
						       .mem_size = 128 << 20 });
	REQUIRE(f);
	for (int t = 0; t < 256; t++) {
		for (int q = 0; q < 2; q++) {
			st_test_unit_ready(f, SF_IOQ + q, t, &res); /* POWER ON */
			if (st_inquiry(f, SF_IOQ + q, t, inq, sizeof(inq), &res) ||
			    res.response != VIRTIO_SCSI_S_OK || res.status || (inq[0] >> 5) != 0 ||
			    st_read_capacity(f, SF_IOQ + q, t, &blocks, &bs, &res) || res.status ||
			    blocks != 4096)
				bad++;
		}
	}
	CHECK_EQ(bad, 0);
	vu_front_close(f);
	CHECK(test_daemon_stop(d, NULL) == 0);
}

static int lun_reset(struct vu_front *f, const uint8_t lun[8], uint8_t *response)
{
	return sf_tmf(f, VIRTIO_SCSI_T_TMF_LOGICAL_UNIT_RESET, lun, 0, response, ST_TIMEOUT_MS);
}

static void test_tmf_and_an(void)
{
	struct test_daemon *d = test_daemon_start("-m 0x3 --poll adaptive");
	struct vu_front *f;
	struct sf_result res;
	uint8_t lun[8], response = 0xee;
	uint32_t actual = 0xeeee;

	REQUIRE(d);
	f = setup(d, 2, 2);
	REQUIRE(f);
	sf_lun(lun, 1, 0);
	CHECK_EQ(lun_reset(f, lun, &response), 0);
	CHECK_EQ(response, VIRTIO_SCSI_S_OK);
	/* Every copy was reset, and the one initiator hears of it once, on whichever queue. */
	CHECK_EQ(st_test_unit_ready(f, SF_IOQ + 1, 1, &res), 0);
	CHECK_EQ(res.status, 2);
	CHECK_EQ(st_sense_key(&res), 6);
	CHECK_EQ(st_sense_asc(&res) >> 8, 0x29);
	for (int q = 0; q < 2; q++) {
		CHECK_EQ(st_test_unit_ready(f, SF_IOQ + q, 1, &res), 0);
		CHECK_EQ(res.status, 0);
	}
	/* Target 0 was not reset. */
	CHECK_EQ(st_test_unit_ready(f, SF_IOQ, 0, &res), 0);
	CHECK_EQ(res.status, 0);
	CHECK_EQ(sf_tmf(f, VIRTIO_SCSI_T_TMF_ABORT_TASK, lun, 12345, &response, ST_TIMEOUT_MS), 0);
	CHECK_EQ(response, VIRTIO_SCSI_S_OK);
	CHECK_EQ(sf_tmf(f, VIRTIO_SCSI_T_TMF_QUERY_TASK, lun, 12345, &response, ST_TIMEOUT_MS), 0);
	CHECK_EQ(response, VIRTIO_SCSI_S_OK); /* no such task: function complete */
	CHECK_EQ(sf_tmf(f, VIRTIO_SCSI_T_TMF_CLEAR_ACA, lun, 0, &response, ST_TIMEOUT_MS), 0);
	CHECK_EQ(response, VIRTIO_SCSI_S_FUNCTION_REJECTED);
	CHECK_EQ(sf_tmf(f, 99, lun, 0, &response, ST_TIMEOUT_MS), 0);
	CHECK_EQ(response, VIRTIO_SCSI_S_FUNCTION_REJECTED);
	sf_lun(lun, 5, 0);
	CHECK_EQ(lun_reset(f, lun, &response), 0);
	CHECK_EQ(response, VIRTIO_SCSI_S_BAD_TARGET);
	sf_lun(lun, 1, 4);
	CHECK_EQ(lun_reset(f, lun, &response), 0);
	CHECK_EQ(response, VIRTIO_SCSI_S_INCORRECT_LUN);
	sf_lun(lun, 0, 0);
	CHECK_EQ(sf_an(f, false, lun, 0xff, &actual, &response, ST_TIMEOUT_MS), 0);
	CHECK_EQ(response, VIRTIO_SCSI_S_OK);
	CHECK_EQ(actual, 0);
	CHECK_EQ(sf_an(f, true, lun, 0xff, &actual, &response, ST_TIMEOUT_MS), 0);
	CHECK_EQ(response, VIRTIO_SCSI_S_OK);
	CHECK_EQ(actual, 0);
	vu_front_close(f);
	CHECK(test_daemon_stop(d, NULL) == 0);
}

int main(int argc, char **argv)
{
	static const struct tap_test tests[] = {
		TAP_TEST(test_inquiry_capacity_rw),
		TAP_TEST(test_bad_target_and_lun),
		TAP_TEST(test_garbage_requests),
		TAP_TEST(test_any_buffer_layout),
		TAP_TEST(test_256_targets_io),
		TAP_TEST(test_tmf_and_an),
	};

	return tap_run(tests, TAP_COUNT(tests), argc, argv);
}

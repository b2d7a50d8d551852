#include "scsi_test.h"
#include "tap.h"

#include <stdio.h>
#include <string.h>

bool st_setup_at(const char *file, int line, struct test_daemon *d, const char *ctrlr,
		 const char *prefix, int n)
{
	char name[64];

	if (!it_ok_at(file, line, d, "vhost_create_scsi_controller",
		      json_pack("{s:s}", "ctrlr", ctrlr)))
		return false;
	for (int i = 0; i < n; i++) {
		json_t *r;

		snprintf(name, sizeof(name), "%s%d", prefix, i);
		if (!it_ok_at(file, line, d, "bdev_malloc_create",
			      json_pack("{s:s, s:i, s:i}", "name", name, "num_blocks", 16384,
					"block_size", 512)))
			return false;
		r = it_call_at(file, line, d, "vhost_scsi_controller_add_target",
			       json_pack("{s:s, s:i, s:s}", "ctrlr", ctrlr, "scsi_target_num", i,
					 "bdev_name", name));
		if (!r)
			return false;
		if (json_integer_value(r) != i)
			tap_fail(file, line, "target %d added as %lld", i,
				 (long long)json_integer_value(r));
		json_decref(r);
	}
	return true;
}

int st_inquiry(struct vu_front *f, int q, int target, uint8_t *buf, uint16_t len,
	       struct sf_result *res)
{
	uint8_t cdb[6] = { 0x12, 0, 0, (uint8_t)(len >> 8), (uint8_t)len, 0 };

	return sf_cmd(f, q, target, cdb, sizeof(cdb), buf, len, SF_IN, res);
}

int st_test_unit_ready(struct vu_front *f, int q, int target, struct sf_result *res)
{
	uint8_t cdb[6] = { 0 };

	return sf_cmd(f, q, target, cdb, sizeof(cdb), NULL, 0, SF_NONE, res);
}

static uint64_t be64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static void put_be(uint8_t *p, uint64_t v, int bytes)
{
	for (int i = bytes - 1; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

int st_read_capacity(struct vu_front *f, int q, int target, uint64_t *blocks, uint32_t *bs,
		     struct sf_result *res)
{
	uint8_t cdb[16] = { 0x9e, 0x10 }, data[32] = { 0 };
	int rc;

	put_be(&cdb[10], sizeof(data), 4);
	rc = sf_cmd(f, q, target, cdb, sizeof(cdb), data, sizeof(data), SF_IN, res);
	*blocks = be64(data) + 1;
	*bs = (uint32_t)(be64(&data[8]) >> 32);
	return rc;
}

int st_rw(struct vu_front *f, int q, int target, bool write, uint64_t lba, void *buf, uint32_t len,
	  struct sf_result *res)
{
	uint8_t cdb[16] = { write ? 0x8a : 0x88 };

	put_be(&cdb[2], lba, 8);
	put_be(&cdb[10], len / 512, 4);
	return sf_cmd(f, q, target, cdb, sizeof(cdb), buf, len, write ? SF_OUT : SF_IN, res);
}

int st_sense_key(const struct sf_result *res)
{
	if (res->sense_len < 14 || (res->sense[0] & 0x7f) != 0x70)
		return -1;
	return res->sense[2] & 0xf;
}

int st_sense_asc(const struct sf_result *res)
{
	if (res->sense_len < 14 || (res->sense[0] & 0x7f) != 0x70)
		return -1;
	return res->sense[12] << 8 | res->sense[13];
}

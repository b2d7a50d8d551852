/* vscsi_lun_decode: the 8-byte virtio-scsi LUN address to a target and a LUN number. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>

#include "virtio_scsi/vscsi_internal.h"

struct decoded {
	int rc;
	int target;
	uint32_t lun_id;
};

static struct decoded decode(uint8_t b0, uint8_t b1, uint8_t b2, uint8_t b3, uint8_t b4, uint8_t b5,
			     uint8_t b6, uint8_t b7)
{
	const uint8_t lun[8] = { b0, b1, b2, b3, b4, b5, b6, b7 };
	struct decoded d = { .target = -1, .lun_id = 0xdeadbeef };

	d.rc = vscsi_lun_decode(lun, &d.target, &d.lun_id);
	return d;
}

static void expect(struct decoded d, int target, uint32_t lun_id)
{
	assert_int_equal(d.rc, 0);
	assert_int_equal(d.target, target);
	assert_int_equal(d.lun_id, lun_id);
}

/* Byte 2 = 00b<<6 | bus 0, byte 3 = the LUN. */
static void peripheral_addressing_on_bus_0(void **state)
{
	(void)state;
	expect(decode(1, 0, 0, 0, 0, 0, 0, 0), 0, 0);
	expect(decode(1, 5, 0, 7, 0, 0, 0, 0), 5, 7);
	expect(decode(1, 255, 0, 255, 0, 0, 0, 0), 255, 255);
}

/* A bus other than 0 addresses nothing we have. */
static void peripheral_addressing_on_another_bus_is_no_lun(void **state)
{
	(void)state;
	expect(decode(1, 2, 0x01, 0, 0, 0, 0, 0), 2, SCSI_DEV_MAX_LUNS);
	expect(decode(1, 2, 0x3f, 3, 0, 0, 0, 0), 2, SCSI_DEV_MAX_LUNS);
}

/* Byte 2 = 01b<<6 | LUN bits 13..8, byte 3 = LUN bits 7..0 (what Linux and QEMU send). */
static void flat_space_addressing(void **state)
{
	(void)state;
	expect(decode(1, 0, 0x40, 0, 0, 0, 0, 0), 0, 0);
	expect(decode(1, 3, 0x40, 1, 0, 0, 0, 0), 3, 1);
	expect(decode(1, 9, 0x40, 255, 0, 0, 0, 0), 9, 255);
}

/* A flat-space LUN past 255 decodes to its number, which is >= SCSI_DEV_MAX_LUNS: no such LUN. */
static void flat_space_lun_256_and_up_is_past_the_luns(void **state)
{
	struct decoded d256 = decode(1, 4, 0x41, 0, 0, 0, 0, 0);

	(void)state;
	expect(d256, 4, 256);
	assert_true(d256.lun_id >= SCSI_DEV_MAX_LUNS);
	expect(decode(1, 4, 0x7f, 0xff, 0, 0, 0, 0), 4, 0x3fff);
}

/* Logical unit (10b) and extended (11b) addressing are not forms we address. */
static void other_addressing_methods_are_no_lun(void **state)
{
	(void)state;
	expect(decode(1, 1, 0x80, 0, 0, 0, 0, 0), 1, SCSI_DEV_MAX_LUNS);
	expect(decode(1, 1, 0x80, 1, 0, 0, 0, 0), 1, SCSI_DEV_MAX_LUNS);
	expect(decode(1, 1, 0xc0, 0, 0, 0, 0, 0), 1, SCSI_DEV_MAX_LUNS);
	expect(decode(1, 1, 0xff, 0xff, 0, 0, 0, 0), 1, SCSI_DEV_MAX_LUNS);
}

/* A second level (bytes 4-7) is a LUN below the first one: none of ours, target still decoded. */
static void nonzero_bytes_4_to_7_are_no_lun(void **state)
{
	(void)state;
	for (int i = 4; i < 8; i++) {
		uint8_t lun[8] = { 1, 6, 0x40, 0 };
		int target = -1;
		uint32_t lun_id = 0;

		lun[i] = 0x01;
		assert_int_equal(vscsi_lun_decode(lun, &target, &lun_id), 0);
		assert_int_equal(target, 6);
		assert_int_equal(lun_id, SCSI_DEV_MAX_LUNS);
		lun[i] = 0x80;
		assert_int_equal(vscsi_lun_decode(lun, &target, &lun_id), 0);
		assert_int_equal(lun_id, SCSI_DEV_MAX_LUNS);
	}
	expect(decode(1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff), 0, SCSI_DEV_MAX_LUNS);
}

/* Byte 0 must be 1 (the virtio-scsi single-target format). */
static void bad_first_byte_is_einval(void **state)
{
	static const uint8_t bad[] = { 0, 2, 0x41, 0x80, 0xc1, 0xff };

	(void)state;
	for (size_t i = 0; i < sizeof(bad); i++)
		assert_int_equal(decode(bad[i], 0, 0x40, 0, 0, 0, 0, 0).rc, -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(peripheral_addressing_on_bus_0),
		cmocka_unit_test(peripheral_addressing_on_another_bus_is_no_lun),
		cmocka_unit_test(flat_space_addressing),
		cmocka_unit_test(flat_space_lun_256_and_up_is_past_the_luns),
		cmocka_unit_test(other_addressing_methods_are_no_lun),
		cmocka_unit_test(nonzero_bytes_4_to_7_are_no_lun),
		cmocka_unit_test(bad_first_byte_is_einval),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

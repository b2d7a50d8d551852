/*
 * Vital product data pages (SPC-4 7.8, SBC-3 6.5). Identification comes from the bdev's UUID
 * only, so one bdev looks the same through every LUN, target and controller that exposes it
 * (multipath, and several scsi_dev copies of one target).
 */
#include "scsi/scsi_internal.h"

#define VPD_MAX 256
#define OPTIMAL_TRANSFER_BYTES (128u << 10)

/* Each filler writes the page from byte 4 on and returns its PAGE LENGTH. */
struct vpd_page {
	uint8_t code;
	uint16_t (*fill)(const struct scsi_lun *lun, uint8_t *p);
};

static uint16_t vpd_supported(const struct scsi_lun *lun, uint8_t *p);

/* The UUID as 32 hex digits. */
static uint16_t vpd_serial(const struct scsi_lun *lun, uint8_t *p)
{
	static const char hex[] = "0123456789abcdef";

	for (int i = 0; i < 16; i++) {
		p[4 + 2 * i] = (uint8_t)hex[lun->bdev->uuid[i] >> 4];
		p[5 + 2 * i] = (uint8_t)hex[lun->bdev->uuid[i] & 0x0f];
	}
	return 32;
}

/* NAA 6 (IEEE Registered Extended): NAA, 24-bit company id, 100 vendor-specific bits. The 128-bit
 * UUID is folded into those 100 bits so that all of it counts. */
static void vpd_naa6(const struct bdev *bdev, uint8_t out[16])
{
	unsigned __int128 u = 0, naa;

	for (int i = 0; i < 16; i++)
		u = u << 8 | bdev->uuid[i];
	naa = (u >> 28) ^ (u & 0xfffffff);
	naa |= (unsigned __int128)6 << 124 | (unsigned __int128)SCSI_NAA_COMPANY_ID << 100;
	for (int i = 15; i >= 0; i--, naa >>= 8)
		out[i] = (uint8_t)naa;
}

static uint16_t vpd_device_id(const struct scsi_lun *lun, uint8_t *p)
{
	uint8_t *d = p + 4;
	char uuid[37];

	/* Binary code set, associated with the logical unit, designator type 3 (NAA). */
	d[0] = 0x01;
	d[1] = 0x03;
	d[3] = 16;
	vpd_naa6(lun->bdev, &d[4]);
	d += 4 + 16;
	/* ASCII code set, logical unit, type 1 (T10 vendor id): vendor then the UUID. */
	bdev_uuid_format(lun->bdev, uuid);
	d[0] = 0x02;
	d[1] = 0x01;
	d[3] = 8 + 36;
	scsi_pad_copy(&d[4], SCSI_VENDOR, 8);
	scsi_pad_copy(&d[12], uuid, 36);
	d += 4 + 8 + 36;
	return (uint16_t)(d - (p + 4));
}

static uint16_t vpd_block_limits(const struct scsi_lun *lun, uint8_t *p)
{
	const struct bdev *bdev = lun->bdev;
	uint32_t opt = OPTIMAL_TRANSFER_BYTES / bdev->block_size;

	p[4] = 0x01; /* WSNZ: WRITE SAME with 0 blocks is refused */
	scsi_put_be32(&p[8], sbc_max_transfer_blocks(lun));
	scsi_put_be32(&p[12], opt ? opt : 1);
	if (bdev_io_type_supported(lun->bdev, BDEV_IO_UNMAP)) {
		scsi_put_be32(&p[20], bdev->max_unmap_blocks ? bdev->max_unmap_blocks : UINT32_MAX);
		scsi_put_be32(&p[24], SCSI_UNMAP_MAX_DESCRIPTORS);
	}
	/* WRITE SAME runs in chunks: any length the CDB can hold. */
	scsi_put_be64(&p[36], UINT32_MAX);
	return 0x3c;
}

static uint16_t vpd_characteristics(const struct scsi_lun *lun, uint8_t *p)
{
	(void)lun;
	scsi_put_be16(&p[4], 0x0001); /* MEDIUM ROTATION RATE: non-rotating */
	return 0x3c;
}

static uint16_t vpd_provisioning(const struct scsi_lun *lun, uint8_t *p)
{
	if (bdev_io_type_supported(lun->bdev, BDEV_IO_UNMAP)) {
		/* LBPU, LBPWS, LBPWS10, and LBPRZ when unmapped blocks read back as zeroes. */
		p[5] = 0x80 | 0x40 | 0x20 | (lun->bdev->unmap_reads_zero ? 0x04 : 0);
		p[6] = 0x02; /* thin provisioned */
	}
	return 4;
}

static const struct vpd_page vpd_pages[] = {
	{ 0x00, vpd_supported },    { 0x80, vpd_serial },          { 0x83, vpd_device_id },
	{ 0xb0, vpd_block_limits }, { 0xb1, vpd_characteristics }, { 0xb2, vpd_provisioning },
};

#define VPD_COUNT (sizeof(vpd_pages) / sizeof(vpd_pages[0]))

static uint16_t vpd_supported(const struct scsi_lun *lun, uint8_t *p)
{
	(void)lun;
	for (size_t i = 0; i < VPD_COUNT; i++)
		p[4 + i] = vpd_pages[i].code;
	return VPD_COUNT;
}

enum scsi_exec spc_vpd(struct scsi_task *task, uint8_t page, size_t alloc)
{
	uint8_t p[VPD_MAX] = { 0 };
	size_t len;

	for (size_t i = 0; i < VPD_COUNT; i++) {
		if (vpd_pages[i].code != page)
			continue;
		p[0] = SCSI_TYPE_DISK;
		p[1] = page;
		len = vpd_pages[i].fill(task->priv.lun, p);
		scsi_put_be16(&p[2], (uint16_t)len);
		len += 4;
		scsi_task_data_in(task, p, len < alloc ? len : alloc);
		return SCSI_EXEC_DONE;
	}
	scsi_task_fail_field(task, true, 2, -1);
	return SCSI_EXEC_DONE;
}

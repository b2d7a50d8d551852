/* Inside the SCSI layer: the objects, the command table and the helpers the command files share. */
#ifndef VHOSTD_SCSI_INTERNAL_H
#define VHOSTD_SCSI_INTERNAL_H

#include "scsi/scsi.h"

#define SCSI_VENDOR "VHOSTD"
#define SCSI_REVISION "0001"
#define SCSI_TYPE_DISK 0x00
/* The company id of our NAA 6 designators. vhostd has no IEEE OUI, so this is a value from the
 * locally administered (AAI) quadrant of IEEE 802 SLAP: 02h, then "VH". */
#define SCSI_NAA_COMPANY_ID 0x025648

/* --- objects --- */

/* Unit attention conditions, in the order they are reported (SPC-4 5.14). */
enum scsi_ua {
	SCSI_UA_POWER_ON,
	SCSI_UA_LUN_RESET,
	SCSI_UA_NEXUS_LOSS,
	SCSI_UA_MODE_CHANGED,
	SCSI_UA_CAPACITY_CHANGED,
	SCSI_UA_LUNS_CHANGED,
	SCSI_UA_COUNT,
};

/* One I_T nexus as the LUN knows it. */
struct scsi_nexus {
	uint64_t initiator;
	_Atomic uint32_t pending; /* bit (1 << enum scsi_ua); unused with a shared word */
};

struct scsi_lun {
	struct scsi_dev *dev;
	uint32_t id;
	enum scsi_lun_state state;
	struct bdev *bdev;
	struct bdev_channel *ch;
	bool readonly;
	struct scsi_lun_shared *shared; /* see scsi_lun_opts */
	bool d_sense;         /* control mode page: descriptor-format sense */
	uint64_t num_blocks;  /* the size last reported (capacity UA) */
	uint32_t max_transfer_blocks; /* per command, from SCSI_MAX_TRANSFER_BYTES */
	struct scsi_nexus *nexus;
	unsigned nnexus, nexus_cap;
	struct scsi_task *head, *tail; /* in flight, oldest first */
	unsigned inflight;
	uint64_t seq;
	struct scsi_tmf *tmfs; /* waiting for aborted tasks */
	unsigned busy;        /* nesting depth of calls into the LUN: it is freed only at 0 */
	void (*removed)(void *ctx);
	void *removed_ctx;
};

struct scsi_dev {
	char *name;
	int id;
	struct scsi_lun *luns[SCSI_DEV_MAX_LUNS];
	unsigned nluns;
	unsigned busy;
	bool destroying;
	void (*destroyed)(void *arg);
	void *destroyed_arg;
};

/* --- the command table (cmds.c) --- */

enum scsi_exec { SCSI_EXEC_DONE, SCSI_EXEC_PENDING };

enum scsi_cmd_flags {
	SCSI_CMD_ANY_LUN = 1 << 0, /* answered without an active LUN */
	SCSI_CMD_NO_UA = 1 << 1,   /* not blocked by a unit attention (SPC-4 5.14) */
	SCSI_CMD_WRITES = 1 << 2,  /* refused on a read-only LUN */
	SCSI_CMD_HAS_SA = 1 << 3,  /* byte 1 bits 4-0 hold a service action */
};

struct scsi_cmd {
	uint8_t opcode;
	uint8_t sa;
	uint8_t cdb_len;
	uint8_t flags;
	enum scsi_dir dir;
	/* The CDB usage map of REPORT SUPPORTED OPERATION CODES: byte 0 the opcode, the service
	 * action in its field, else the bits the command uses. Other bits set: INVALID FIELD. */
	uint8_t usage[16];
	/* Runs the command; DONE: the dispatcher finishes the task, PENDING: I/O will. */
	enum scsi_exec (*exec)(struct scsi_task *task);
};

extern const struct scsi_cmd scsi_cmds[];
extern const size_t scsi_cmd_count;

/* The command for cdb; NULL with *sa_mismatch when the opcode exists with other service actions. */
const struct scsi_cmd *scsi_cmd_find(const uint8_t *cdb, bool *sa_mismatch);
/* Checks the CDB against the usage map; on a stray bit fails the task (INVALID FIELD IN CDB with
 * its byte and bit) and returns false. */
bool scsi_cmd_check_cdb(struct scsi_task *task, const struct scsi_cmd *cmd);

/* --- task.c --- */
void scsi_task_start(struct scsi_task *task, struct scsi_dev *dev, const struct scsi_cmd *cmd);
/* Fills results (residual, aborted status), takes the task off its LUN and calls done. */
void scsi_task_finish(struct scsi_task *task);
/* Sends up to len bytes of response (the command's data after allocation-length clipping). */
void scsi_task_data_in(struct scsi_task *task, const void *buf, size_t len);
/* Reads the command's len bytes of data-out into buf. Short buffer: fails the task (INVALID
 * FIELD IN COMMAND IU, overflow residual) and returns false. */
bool scsi_task_data_out(struct scsi_task *task, void *buf, size_t len);
/* Makes iov describe its first len bytes (<= buf_len); returns the element count to use. */
int scsi_task_iov_trim(struct scsi_task *task, size_t len);
void scsi_task_iov_restore(struct scsi_task *task);
/* First byte where iov at off differs from buf[0..len), or -1. */
int64_t scsi_iov_compare(const struct iovec *iov, int iovcnt, uint64_t off, const uint8_t *buf,
			 size_t len);

/* --- sense.c --- */
void scsi_task_fail(struct scsi_task *task, uint8_t key, uint16_t asc);
/* INVALID FIELD IN CDB (in_cdb) or IN PARAMETER LIST, pointing at byte/bit (bit -1: none). */
void scsi_task_fail_field(struct scsi_task *task, bool in_cdb, uint16_t byte, int bit);
void scsi_task_fail_sense(struct scsi_task *task, const struct scsi_sense *s);

/* --- ua.c --- */
/* The nexus of initiator, created with POWER ON pending on first sight (NULL without memory:
 * that initiator is then not tracked). */
struct scsi_nexus *scsi_ua_nexus(struct scsi_lun *lun, uint64_t initiator);
/* Raises ua for every known nexus except skip (NULL: none). */
void scsi_ua_raise_all(struct scsi_lun *lun, enum scsi_ua ua, const struct scsi_nexus *skip);
/* One condition for one nexus (NULL: nothing), raised or cleared. */
void scsi_ua_raise(struct scsi_lun *lun, struct scsi_nexus *nexus, enum scsi_ua ua);
void scsi_ua_clear(struct scsi_lun *lun, struct scsi_nexus *nexus, enum scsi_ua ua);
/* The highest-priority pending condition as sense, cleared; false when none is pending. */
bool scsi_ua_take(struct scsi_lun *lun, struct scsi_nexus *nexus, struct scsi_sense *s);
void scsi_ua_free(struct scsi_lun *lun);

/* --- lun.c --- */
struct scsi_lun *scsi_lun_create(struct scsi_dev *dev, uint32_t id, struct bdev_desc *desc,
				 struct bdev_channel *ch, const struct scsi_lun_opts *opts);
void scsi_lun_remove(struct scsi_lun *lun);
/* Runs a started task on an ACTIVE LUN; cmd NULL: unknown opcode (sa_mismatch: known opcode with
 * an unknown service action). */
void scsi_lun_execute(struct scsi_lun *lun, struct scsi_task *task, bool sa_mismatch);
/* Brackets every entry into a LUN (execute, bdev completion): leaving the outermost one finishes
 * TMFs and a removal that became possible. */
void scsi_lun_enter(struct scsi_lun *lun);
void scsi_lun_leave(struct scsi_lun *lun);
void scsi_lun_task_unlink(struct scsi_lun *lun, struct scsi_task *task);

/* --- dev.c --- */
/* The LUN is gone from the table (freed): lets a destroying dev finish. */
void scsi_dev_lun_freed(struct scsi_dev *dev, uint32_t id);

/* --- tmf.c --- */
/* Finishes the TMFs no aborted task holds back any more; returns how many. */
unsigned scsi_tmf_progress(struct scsi_lun *lun);

/* --- mode.c --- */
void scsi_mode_reset(struct scsi_lun *lun);

/* --- spc.c --- */
/* Copies src into n bytes padded with spaces (INQUIRY strings). */
void scsi_pad_copy(uint8_t *dst, const char *src, size_t n);

/* --- sbc.c --- */
/* LBA and block count of a block command's CDB (6, 10, 12 or 16 bytes) and the offset of its
 * length field. */
void sbc_decode(const struct scsi_task *task, uint64_t *lba, uint32_t *blocks, uint16_t *len_at);
/* LBA OUT OF RANGE unless [lba, lba + blocks) is inside the LUN; false: task failed. */
bool sbc_check_range(struct scsi_task *task, uint64_t lba, uint64_t blocks);
uint32_t sbc_max_transfer_blocks(const struct scsi_lun *lun);

/* --- sbc_io.c --- */
/* Starts the step loop set up in task->priv (op, lba, left, chunk, ranges, bounce). */
enum scsi_exec sbc_io_run(struct scsi_task *task);
/* A bounce buffer of n blocks for the task (freed when it finishes); NULL without memory. */
uint8_t *sbc_io_bounce(struct scsi_task *task, uint64_t blocks);
/* Fails the task for a bdev error (-ENOMEM: BUSY). */
void sbc_io_fail(struct scsi_task *task, enum bdev_io_type op, int rc);

/* --- command handlers --- */
enum scsi_exec spc_test_unit_ready(struct scsi_task *task);
enum scsi_exec spc_request_sense(struct scsi_task *task);
enum scsi_exec spc_inquiry(struct scsi_task *task);
enum scsi_exec spc_report_luns(struct scsi_task *task);
enum scsi_exec spc_report_opcodes(struct scsi_task *task);
enum scsi_exec spc_vpd(struct scsi_task *task, uint8_t page, size_t alloc);
enum scsi_exec mode_sense(struct scsi_task *task);
enum scsi_exec mode_select(struct scsi_task *task);
enum scsi_exec sbc_read_capacity10(struct scsi_task *task);
enum scsi_exec sbc_read_capacity16(struct scsi_task *task);
enum scsi_exec sbc_read_write(struct scsi_task *task);
enum scsi_exec sbc_sync_cache(struct scsi_task *task);
enum scsi_exec sbc_start_stop(struct scsi_task *task);
enum scsi_exec sbc_verify(struct scsi_task *task);
enum scsi_exec sbc_write_same(struct scsi_task *task);
enum scsi_exec sbc_unmap(struct scsi_task *task);

/* --- big-endian fields --- */
static inline uint16_t scsi_get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t scsi_get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t scsi_get_be64(const uint8_t *p)
{
	return (uint64_t)scsi_get_be32(p) << 32 | scsi_get_be32(p + 4);
}

static inline void scsi_put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void scsi_put_be32(uint8_t *p, uint32_t v)
{
	scsi_put_be16(p, (uint16_t)(v >> 16));
	scsi_put_be16(p + 2, (uint16_t)v);
}

static inline void scsi_put_be64(uint8_t *p, uint64_t v)
{
	scsi_put_be32(p, (uint32_t)(v >> 32));
	scsi_put_be32(p + 4, (uint32_t)v);
}

/* Blocks the LUN's bdev has now (resizes happen on the control thread). */
static inline uint64_t scsi_lun_blocks(const struct scsi_lun *lun)
{
	return bdev_num_blocks(lun->bdev);
}

#endif

/*
 * The SCSI target layer, independent of any transport: targets (scsi_dev) holding logical units
 * (scsi_lun) over bdevs, and tasks (scsi_task) that each carry one command (SPC-4 / SBC-3 subset:
 * INQUIRY with VPD pages, REPORT LUNS, TEST UNIT READY, REQUEST SENSE, READ CAPACITY, READ/WRITE,
 * WRITE SAME, UNMAP, VERIFY, SYNCHRONIZE CACHE, MODE SENSE/SELECT, START STOP UNIT, REPORT
 * SUPPORTED OPERATION CODES). The transport (virtio_scsi) maps its wire format onto tasks.
 *
 * Threads. A dev, its LUNs and their tasks belong to one thread, the dev's owner: every call below
 * on them is made on that thread, and the layer takes no lock. A LUN gets the owner's bdev channel
 * when it is added, so block I/O is submitted and completed on the owner. The layer never opens
 * or closes bdevs and never sees bdev events: the transport owns the desc and channel, forwards
 * RESIZE/REMOVE from the control reactor to the owner and calls scsi_lun_notify_resize() /
 * scsi_dev_remove_lun() there; it frees the channel and desc in the LUN's removed callback.
 * (A transport spreading one target over several threads gives each its own scsi_dev over the
 * same bdev: identification is derived from the bdev, so every copy reports the same LUN.)
 *
 * LUN states: ACTIVE -> REMOVING (scsi_dev_remove_lun(): new tasks get CHECK CONDITION, LOGICAL
 * UNIT NOT SUPPORTED, in-flight ones run to their end and multi-step ones stop at the next step, so
 * no new bdev I/O is issued) -> REMOVED (the last task finished: the removed callback runs, then
 * the LUN is freed and its number is free again).
 *
 * Callbacks (task done, TMF done, LUN removed, dev destroyed) may run inside the call that caused
 * them when nothing is left to wait for, or later from a bdev completion on the owner thread.
 */
#ifndef VHOSTD_SCSI_H
#define VHOSTD_SCSI_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "bdev/bdev.h"

#define SCSI_CDB_MAX 32
#define SCSI_SENSE_MAX 32          /* the longest sense data this layer builds */
#define SCSI_DEV_MAX_LUNS 256      /* LUN numbers 0..255 (peripheral device addressing) */
#define SCSI_MAX_TRANSFER_BYTES (4u << 20) /* READ/WRITE longer than this: INVALID FIELD IN CDB */
#define SCSI_UNMAP_MAX_DESCRIPTORS 256

enum scsi_status {
	SCSI_STATUS_GOOD = 0x00,
	SCSI_STATUS_CHECK_CONDITION = 0x02,
	SCSI_STATUS_BUSY = 0x08,
	SCSI_STATUS_TASK_ABORTED = 0x40,
};

enum scsi_sense_key {
	SCSI_SK_NO_SENSE = 0x0,
	SCSI_SK_NOT_READY = 0x2,
	SCSI_SK_MEDIUM_ERROR = 0x3,
	SCSI_SK_HARDWARE_ERROR = 0x4,
	SCSI_SK_ILLEGAL_REQUEST = 0x5,
	SCSI_SK_UNIT_ATTENTION = 0x6,
	SCSI_SK_DATA_PROTECT = 0x7,
	SCSI_SK_ABORTED_COMMAND = 0xb,
	SCSI_SK_MISCOMPARE = 0xe,
};

/* Additional sense code and qualifier as one number: ASC << 8 | ASCQ. */
enum scsi_asc {
	SCSI_ASC_NONE = 0x0000,
	SCSI_ASC_WRITE_ERROR = 0x0c00,
	SCSI_ASC_INVALID_FIELD_IN_IU = 0x0e03, /* the data buffer does not fit the command */
	SCSI_ASC_UNRECOVERED_READ_ERROR = 0x1100,
	SCSI_ASC_PARAMETER_LIST_LENGTH = 0x1a00,
	SCSI_ASC_MISCOMPARE_VERIFY = 0x1d00,
	SCSI_ASC_INVALID_OPCODE = 0x2000,
	SCSI_ASC_LBA_OUT_OF_RANGE = 0x2100,
	SCSI_ASC_INVALID_FIELD_IN_CDB = 0x2400,
	SCSI_ASC_LUN_NOT_SUPPORTED = 0x2500,
	SCSI_ASC_INVALID_FIELD_IN_PARAM = 0x2600,
	SCSI_ASC_WRITE_PROTECTED = 0x2700,
	SCSI_ASC_POWER_ON_RESET = 0x2900,
	SCSI_ASC_LUN_RESET_OCCURRED = 0x2903, /* BUS DEVICE RESET FUNCTION OCCURRED */
	SCSI_ASC_NEXUS_LOSS = 0x2907,
	SCSI_ASC_MODE_PARAMETERS_CHANGED = 0x2a01,
	SCSI_ASC_CAPACITY_CHANGED = 0x2a09,
	SCSI_ASC_SAVING_NOT_SUPPORTED = 0x3900,
	SCSI_ASC_REPORTED_LUNS_CHANGED = 0x3f0e,
	SCSI_ASC_INTERNAL_TARGET_FAILURE = 0x4400,
};

/* Which way the task's data buffer goes. */
enum scsi_dir {
	SCSI_DIR_NONE,
	SCSI_DIR_FROM_DEV, /* data-in: the layer writes the buffer (READ, INQUIRY, ...) */
	SCSI_DIR_TO_DEV,   /* data-out: the layer reads the buffer (WRITE, MODE SELECT, ...) */
};

/* SAM residuals: UNDERFLOW = buffer bytes not transferred; OVERFLOW = bytes the command needed
 * beyond the buffer (never read or written). */
enum scsi_residual { SCSI_RESIDUAL_NONE, SCSI_RESIDUAL_UNDERFLOW, SCSI_RESIDUAL_OVERFLOW };

enum scsi_lun_state { SCSI_LUN_ACTIVE, SCSI_LUN_REMOVING, SCSI_LUN_REMOVED };

struct scsi_dev;
struct scsi_lun;
struct scsi_cmd;
struct scsi_task;

typedef void (*scsi_task_done_fn)(struct scsi_task *task);

/* The layer's per-task state; the transport leaves it alone. */
struct scsi_task_priv {
	/* Cleared when a task starts (scsi_task_start), and kept small for it. */
	struct scsi_lun *lun;        /* NULL: answered without an active LUN */
	bool aborted;
	uint8_t bytchk;              /* VERIFY */
	bool flush_after;            /* FUA on a volatile cache: FLUSH once the write is done */
	uint64_t buf_len;            /* bytes in iov, 0 when dir does not match the command */
	uint64_t want;               /* bytes the command asked to move */
	uint64_t left;               /* blocks left in the current range */
	uint8_t *ranges;             /* UNMAP: the copied descriptors, or NULL */
	uint32_t nranges, next_range;
	uint8_t *bounce;             /* WRITE SAME pattern / VERIFY read buffer */
	uint64_t compared;           /* VERIFY: data-out bytes compared so far */
	/* Set when a task starts, or before their first use. */
	struct scsi_dev *dev;
	const struct scsi_cmd *cmd;
	int trim_idx;                /* an iovec shortened for a partial transfer, or -1 */
	size_t trim_len;
	struct scsi_task *prev, *next; /* the LUN's in-flight list, oldest first */
	uint64_t seq;                /* start order on the LUN (TMF barriers) */
	/* Block commands run as steps of bdev I/O (sbc_io.c). */
	enum bdev_io_type op;
	uint64_t lba;                /* where the current range starts */
	uint32_t chunk;              /* most blocks per bdev I/O */
	int iovcnt;                  /* READ/WRITE: the iovecs in use (after trimming) */
	struct iovec bounce_iov;
	struct bdev_io io;           /* each step fills what a submitter owns */
};

/* One command. The transport fills the "in" part and calls scsi_dev_execute(); done(task) runs
 * exactly once with the results; afterwards the task is the transport's again. The layer may
 * shorten one element of iov while the task runs and restores it before done. */
struct scsi_task {
	/* in */
	uint8_t cdb[SCSI_CDB_MAX];
	uint32_t lun_id;       /* LUN number; >= SCSI_DEV_MAX_LUNS: no such LUN */
	uint64_t initiator;    /* the I_T nexus: an id the transport picks per initiator port */
	uint64_t tag;          /* for ABORT TASK / QUERY TASK */
	enum scsi_dir dir;
	struct iovec *iov;
	int iovcnt;
	scsi_task_done_fn done;
	void *done_arg;
	/* out */
	uint8_t status;        /* enum scsi_status */
	uint8_t sense_len;
	uint64_t transferred;  /* bytes of the buffer read or written */
	enum scsi_residual residual_kind;
	uint64_t residual;
	struct scsi_task_priv priv;
	uint8_t sense[SCSI_SENSE_MAX]; /* last: only a failed command touches it */
};

/* --- targets --- */
/* A target named name (copied) with number id, without LUNs. -EINVAL, -ENOMEM. */
int scsi_dev_create(const char *name, int id, struct scsi_dev **out);
/* Starts removing every LUN (REMOVING, see above), frees the dev once the last one is gone and
 * then calls done(arg) (optional). Call it once; meanwhile tasks get LOGICAL UNIT NOT SUPPORTED
 * and LUNs cannot be added (-ENODEV). */
void scsi_dev_destroy(struct scsi_dev *dev, void (*done)(void *arg), void *arg);
const char *scsi_dev_name(const struct scsi_dev *dev);
int scsi_dev_id(const struct scsi_dev *dev);

/* What the copies of one LUN share (scsi_lun_opts.shared). */
struct scsi_lun_shared {
	_Atomic uint32_t ua;     /* unit attentions pending for the transport's one initiator */
	_Atomic uint64_t blocks; /* the size last reported: one capacity change, one attention */
};
/* Sets one up for a LUN of num_blocks with POWER ON pending; again for a new initiator. */
void scsi_lun_shared_init(struct scsi_lun_shared *s, uint64_t num_blocks);

struct scsi_lun_opts {
	bool readonly;                 /* writes get DATA PROTECT, WRITE PROTECTED */
	/* A transport with one initiator that spreads a LUN over threads as copies passes all the
	 * copies one scsi_lun_shared: a unit attention is then reported once, by whichever copy
	 * the initiator's next command reaches, not once per copy. NULL: the LUN keeps its own
	 * state per initiator. */
	struct scsi_lun_shared *shared;
	void (*removed)(void *ctx);    /* REMOVED: the LUN is done with its desc and channel */
	void *removed_ctx;
};

/* Adds LUN lun_id over an open desc, doing I/O through ch (the owner thread's channel for that
 * desc). Both stay the caller's and must live until the removed callback. Every initiator sees
 * POWER ON OCCURRED on its first command to the new LUN; the dev's other LUNs raise REPORTED LUNS
 * DATA HAS CHANGED. -EINVAL (bad number, NULL desc/ch), -EEXIST (number taken, also while an
 * older LUN there is REMOVING), -ENODEV (dev being destroyed), -ENOMEM. */
int scsi_dev_add_lun(struct scsi_dev *dev, uint32_t lun_id, struct bdev_desc *desc,
		     struct bdev_channel *ch, const struct scsi_lun_opts *opts);
/* Starts removing LUN lun_id (see LUN states above) and raises REPORTED LUNS DATA HAS CHANGED on
 * the other LUNs. -ENODEV: no LUN there; -EALREADY: not ACTIVE any more. */
int scsi_dev_remove_lun(struct scsi_dev *dev, uint32_t lun_id);
/* The LUN at lun_id in any state (NULL if none). Only ACTIVE LUNs take tasks. */
struct scsi_lun *scsi_dev_get_lun(const struct scsi_dev *dev, uint32_t lun_id);

/* Runs one command. A LUN that is missing or not ACTIVE still answers INQUIRY (peripheral
 * qualifier 011b), REPORT LUNS and REQUEST SENSE; anything else gets LOGICAL UNIT NOT SUPPORTED. */
void scsi_dev_execute(struct scsi_dev *dev, struct scsi_task *task);

/* --- logical units --- */
enum scsi_lun_state scsi_lun_state(const struct scsi_lun *lun);
uint32_t scsi_lun_id(const struct scsi_lun *lun);
struct bdev *scsi_lun_bdev(const struct scsi_lun *lun);
/* Tasks started on the LUN and not yet done. */
unsigned scsi_lun_inflight(const struct scsi_lun *lun);
/* Compares the bdev's size with the one last seen and, when it changed, raises CAPACITY DATA HAS
 * CHANGED for every initiator. Returns true on a change. Every command does the same check, so a
 * resize is never missed; the transport calls this on RESIZE to decide on its own event. */
bool scsi_lun_notify_resize(struct scsi_lun *lun);

/* --- task management (SAM-5 7) --- */
enum scsi_tmf_type {
	SCSI_TMF_ABORT_TASK,      /* the initiator's task with tag */
	SCSI_TMF_ABORT_TASK_SET,  /* every task of the initiator */
	SCSI_TMF_CLEAR_TASK_SET,  /* every task of every initiator */
	SCSI_TMF_LUN_RESET,       /* every task; mode pages back to defaults; UA for everyone */
	SCSI_TMF_I_T_NEXUS_RESET, /* every task of the initiator; I_T NEXUS LOSS UA for it */
	SCSI_TMF_QUERY_TASK,      /* is the initiator's task with tag still in the task set? */
};

enum scsi_tmf_response {
	SCSI_TMF_COMPLETE,  /* done (QUERY TASK: no such task) */
	SCSI_TMF_SUCCEEDED, /* QUERY TASK: the task exists */
	SCSI_TMF_REJECTED,  /* unknown function */
};

struct scsi_tmf {
	enum scsi_tmf_type type;
	uint64_t initiator;
	uint64_t tag;
	void (*done)(struct scsi_tmf *tmf);
	void *done_arg;
	enum scsi_tmf_response response;
	/* private */
	uint64_t barrier;
	struct scsi_tmf *next;
};

/* Runs a TMF on lun. Tasks it aborts cannot be taken back from the bdev: they are marked, finish
 * (done() with status TASK ABORTED, no sense) when their current bdev I/O completes, and issue no
 * further I/O. tmf->done runs once every aborted task has finished; at once when there is none. */
void scsi_lun_tmf(struct scsi_lun *lun, struct scsi_tmf *tmf);

/* --- sense data --- */
struct scsi_sense {
	uint8_t key;         /* enum scsi_sense_key */
	uint16_t asc;        /* enum scsi_asc */
	bool info_valid;
	uint64_t info;       /* INFORMATION (e.g. the miscompare offset) */
	bool sks_valid;
	uint8_t sks[3];      /* sense-key specific bytes, SKSV bit included */
};

/* Sense-key specific field pointer (SPC-4 4.5.2.4.2): byte (and bit, or -1) of the CDB
 * (in_cdb) or of the parameter list. */
void scsi_sense_set_field(struct scsi_sense *s, bool in_cdb, uint16_t byte, int bit);
/* Writes fixed (0x70) or descriptor (0x72) format sense data into buf (SCSI_SENSE_MAX bytes);
 * returns its length. */
size_t scsi_sense_build(uint8_t *buf, bool descriptor, const struct scsi_sense *s);
/* Reads sense data of either format (current or deferred). -EINVAL when it is neither or too
 * short to hold the key and ASC. */
int scsi_sense_parse(const uint8_t *buf, size_t len, struct scsi_sense *out);
/* Ends a task the transport cannot run (fixed format): CHECK CONDITION with key and asc. */
void scsi_task_set_sense(struct scsi_task *task, uint8_t key, uint16_t asc);

#endif

/*
 * vhost-user wire format as the front-end sees it (QEMU docs/interop/vhost-user.rst): request
 * numbers, header flags, protocol feature bits and payload layouts. Prefixed VU_ so a test can
 * include it next to the back-end's own definitions. Written from the spec apart from
 * src/vhost/user_proto.h on purpose: a layout mistake shared by both sides would make tests pass
 * against a back-end QEMU cannot talk to (it happened once: the inflight payload's tail padding).
 */
#ifndef VHOSTD_FRONTEND_VU_WIRE_H
#define VHOSTD_FRONTEND_VU_WIRE_H

#include <stdint.h>

/* Front-end -> back-end requests. */
enum {
	VU_REQ_GET_FEATURES = 1,
	VU_REQ_SET_FEATURES = 2,
	VU_REQ_SET_OWNER = 3,
	VU_REQ_RESET_OWNER = 4,
	VU_REQ_SET_MEM_TABLE = 5,
	VU_REQ_SET_LOG_BASE = 6,
	VU_REQ_SET_LOG_FD = 7,
	VU_REQ_SET_VRING_NUM = 8,
	VU_REQ_SET_VRING_ADDR = 9,
	VU_REQ_SET_VRING_BASE = 10,
	VU_REQ_GET_VRING_BASE = 11,
	VU_REQ_SET_VRING_KICK = 12,
	VU_REQ_SET_VRING_CALL = 13,
	VU_REQ_SET_VRING_ERR = 14,
	VU_REQ_GET_PROTOCOL_FEATURES = 15,
	VU_REQ_SET_PROTOCOL_FEATURES = 16,
	VU_REQ_GET_QUEUE_NUM = 17,
	VU_REQ_SET_VRING_ENABLE = 18,
	VU_REQ_SET_BACKEND_REQ_FD = 21,
	VU_REQ_GET_CONFIG = 24,
	VU_REQ_SET_CONFIG = 25,
	VU_REQ_GET_INFLIGHT_FD = 31,
	VU_REQ_SET_INFLIGHT_FD = 32,
	VU_REQ_RESET_DEVICE = 34,
	VU_REQ_GET_MAX_MEM_SLOTS = 36,
	VU_REQ_ADD_MEM_REG = 37,
	VU_REQ_REM_MEM_REG = 38,
	VU_REQ_SET_STATUS = 39,
	VU_REQ_GET_STATUS = 40,
};

/* Back-end -> front-end requests on the BACKEND_REQ channel. */
enum {
	VU_BACKEND_IOTLB_MSG = 1,
	VU_BACKEND_CONFIG_CHANGE_MSG = 2,
	VU_BACKEND_VRING_HOST_NOTIFIER_MSG = 3,
};

/* Header flags. */
#define VU_FLAG_VERSION 0x1u
#define VU_FLAG_VERSION_MASK 0x3u
#define VU_FLAG_REPLY 0x4u
#define VU_FLAG_NEED_REPLY 0x8u

/* Virtio feature bit 30 is reserved by vhost-user for "protocol features are supported". */
#define VU_F_PROTOCOL_FEATURES 30

/* Protocol feature bits. */
enum {
	VU_PROTO_F_MQ = 0,
	VU_PROTO_F_LOG_SHMFD = 1,
	VU_PROTO_F_RARP = 2,
	VU_PROTO_F_REPLY_ACK = 3,
	VU_PROTO_F_NET_MTU = 4,
	VU_PROTO_F_BACKEND_REQ = 5,
	VU_PROTO_F_CROSS_ENDIAN = 6,
	VU_PROTO_F_CRYPTO_SESSION = 7,
	VU_PROTO_F_PAGEFAULT = 8,
	VU_PROTO_F_CONFIG = 9,
	VU_PROTO_F_BACKEND_SEND_FD = 10,
	VU_PROTO_F_HOST_NOTIFIER = 11,
	VU_PROTO_F_INFLIGHT_SHMFD = 12,
	VU_PROTO_F_RESET_DEVICE = 13,
	VU_PROTO_F_INBAND_NOTIFICATIONS = 14,
	VU_PROTO_F_CONFIGURE_MEM_SLOTS = 15,
	VU_PROTO_F_STATUS = 16,
};

#define VU_MAX_FDS 8
#define VU_MEM_TABLE_MAX_REGIONS 8
#define VU_CONFIG_MAX 256
/* SET_VRING_KICK/CALL/ERR u64: queue index in bits 0-7, bit 8 set when no fd is passed. */
#define VU_VRING_IDX_MASK 0xffu
#define VU_VRING_NOFD (1u << 8)

struct vu_msg_hdr {
	uint32_t request;
	uint32_t flags;
	uint32_t size; /* payload bytes following the header */
} __attribute__((packed));

struct vu_wire_vring_state {
	uint32_t index;
	uint32_t num;
};

struct vu_wire_vring_addr {
	uint32_t index;
	uint32_t flags;
	uint64_t desc_uaddr;  /* front-end virtual addresses, translated via the memory table */
	uint64_t used_uaddr;  /* packed: device event suppression area */
	uint64_t avail_uaddr; /* packed: driver event suppression area */
	uint64_t log_gpa;
};

struct vu_wire_mem_region {
	uint64_t gpa;
	uint64_t size;
	uint64_t uaddr;
	uint64_t mmap_offset;
};

struct vu_wire_mem_table {
	uint32_t nregions;
	uint32_t padding;
	struct vu_wire_mem_region regions[VU_MEM_TABLE_MAX_REGIONS];
};

/* ADD_MEM_REG / REM_MEM_REG. */
struct vu_wire_mem_single {
	uint64_t padding;
	struct vu_wire_mem_region region;
};

struct vu_wire_config {
	uint32_t offset;
	uint32_t size;
	uint32_t flags;
	uint8_t payload[VU_CONFIG_MAX];
};
#define VU_WIRE_CONFIG_HDR 12u

struct vu_wire_inflight {
	uint64_t mmap_size;
	uint64_t mmap_offset;
	uint16_t num_queues;
	uint16_t queue_size;
};

#endif

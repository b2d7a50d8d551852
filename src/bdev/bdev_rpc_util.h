/* Small pieces every backend's RPC handlers share (SPDK's reply conventions). */
#ifndef VHOSTD_BDEV_RPC_UTIL_H
#define VHOSTD_BDEV_RPC_UTIL_H

#include "bdev/bdev_module.h"
#include "rpc/rpc.h"

/* Replies with SPDK's error for -errno rc: code rc, message strerror. */
void bdev_rpc_reply_errno(struct rpc_request *req, int rc);
/* Replies true for rc 0, else as bdev_rpc_reply_errno. */
void bdev_rpc_reply_done(struct rpc_request *req, int rc);
/* Parses an optional "uuid" param: *out is NULL when absent, else points at uuid. Replies
 * -32602 and returns -EINVAL when malformed. */
int bdev_rpc_uuid(struct rpc_request *req, const char *s, uint8_t uuid[16], const uint8_t **out);
/* The whole of a "<backend>_delete" handler: decodes {"name"}, calls del, replies true. */
void bdev_rpc_delete(struct rpc_request *req, json_t *params,
		     int (*del)(const char *name, bdev_delete_done_fn done, void *arg));
/* The whole of a create handler for memory-like backends: {name, num_blocks, block_size, uuid};
 * replies the new bdev's name. */
typedef int (*bdev_blocks_create_fn)(const char *name, uint64_t num_blocks, uint32_t block_size,
				     const uint8_t *uuid, struct bdev **out);
void bdev_rpc_create_blocks(struct rpc_request *req, json_t *params, bool name_optional,
			    bdev_blocks_create_fn create);
/* Likewise for file backends: {filename, name, block_size?, uuid?}. */
typedef int (*bdev_file_create_fn)(const char *filename, const char *name, uint32_t block_size,
				   const uint8_t *uuid, struct bdev **out);
void bdev_rpc_create_file(struct rpc_request *req, json_t *params, bdev_file_create_fn create);
/* The whole of a "<backend>_rescan" handler taking only {"name"}; replies true. */
void bdev_rpc_by_name(struct rpc_request *req, json_t *params, int (*fn)(const char *name));

/* Appends {method, {name, num_blocks, block_size, uuid}} to a save_config array. */
void bdev_config_add_blocks(json_t *config, const char *method, struct bdev *bdev);

#endif

#include "blk_test.h"
#include "tap.h"

#include <string.h>

bool bt_config_at(const char *file, int line, struct vu_front *f, struct virtio_blk_config *cfg)
{
	int rc;

	memset(cfg, 0, sizeof(*cfg));
	rc = vu_front_get_config(f, cfg, sizeof(*cfg));
	if (rc != 0)
		tap_fail(file, line, "GET_CONFIG: %d", rc);
	return rc == 0;
}

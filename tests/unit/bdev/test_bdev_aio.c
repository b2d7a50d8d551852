/* aio bdev: the shared file-backend cases (file_cases.c) through Linux AIO. */
#include "file_cases.h"

int main(void)
{
	static const struct file_backend aio = {
		.driver = "aio",
		.create = bdev_aio_create,
		.del = bdev_aio_delete,
		.rescan = bdev_aio_rescan,
	};

	return file_cases_run(&aio) | blockdev_cases_run(&aio);
}

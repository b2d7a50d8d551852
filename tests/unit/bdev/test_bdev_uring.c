/* uring bdev: the shared file-backend cases (file_cases.c) through io_uring. */
#include "file_cases.h"

int main(void)
{
	static const struct file_backend uring = {
		.driver = "uring",
		.create = bdev_uring_create,
		.del = bdev_uring_delete,
		.rescan = bdev_uring_rescan,
	};

	return file_cases_run(&uring) | blockdev_cases_run(&uring);
}

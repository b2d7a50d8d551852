/* Generic layer, control side: registry, open/close, RESIZE/REMOVE events, unregister, claims. */
#include "bdev_test.h"

#include "core/reactor.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int destructed;

static void fake_submit(struct bdev *bdev, void *chctx, struct bdev_io *io)
{
	(void)bdev;
	(void)chctx;
	bdev_io_complete(io, 0);
}

static bool fake_supported(struct bdev *bdev, enum bdev_io_type type)
{
	(void)bdev;
	return type == BDEV_IO_READ;
}

static void fake_destruct(struct bdev *bdev)
{
	destructed++;
	free(bdev);
}

static const struct bdev_ops fake_ops = {
	.submit = fake_submit,
	.io_type_supported = fake_supported,
	.destruct = fake_destruct,
};

static struct bdev *fake_new(const char *name, uint64_t num_blocks)
{
	struct bdev *b = calloc(1, sizeof(*b));

	b->name = strdup(name);
	b->product_name = "Fake";
	b->block_size = 512;
	b->num_blocks = num_blocks;
	b->ops = &fake_ops;
	return b;
}

static void fake_free(struct bdev *b)
{
	free(b->name);
	free(b);
}

static void test_register_names_are_unique(void **state)
{
	struct bdev *a = fake_new("A", 8), *dup = fake_new("A", 8);

	(void)state;
	assert_int_equal(bdev_register(a), 0);
	assert_ptr_equal(bdev_get_by_name("A"), a);
	assert_int_equal(bdev_register(dup), -EEXIST);
	fake_free(dup);
	assert_null(bdev_get_by_name("B"));
	test_unregister(a);
	assert_null(bdev_get_by_name("A"));
}

static void test_register_rejects_bad_bdevs(void **state)
{
	struct bdev *zero = fake_new("Z", 0), *noname = fake_new("", 8);

	(void)state;
	assert_int_equal(bdev_register(zero), -EINVAL);
	assert_int_equal(bdev_register(noname), -EINVAL);
	zero->num_blocks = 8;
	zero->block_size = 0;
	assert_int_equal(bdev_register(zero), -EINVAL);
	fake_free(zero);
	fake_free(noname);
}

static void test_uuid_generated_when_zero_and_kept_otherwise(void **state)
{
	struct bdev *a = fake_new("A", 8), *b = fake_new("B", 8);
	static const uint8_t zero[16];
	uint8_t parsed[16];
	char text[37];

	(void)state;
	assert_int_equal(bdev_uuid_parse("0123ABCD-4567-89ab-cdef-0123456789AB", b->uuid), 0);
	assert_int_equal(bdev_register(a), 0);
	assert_int_equal(bdev_register(b), 0);
	assert_memory_not_equal(a->uuid, zero, 16);
	assert_int_equal(a->uuid[6] >> 4, 4); /* version 4 */
	bdev_uuid_format(b, text);
	assert_string_equal(text, "0123abcd-4567-89ab-cdef-0123456789ab");
	bdev_uuid_format(a, text);
	assert_int_equal(bdev_uuid_parse(text, parsed), 0);
	assert_memory_equal(parsed, a->uuid, 16);
	assert_int_equal(bdev_uuid_parse("0123abcd-4567-89ab-cdef-0123456789a", parsed), -EINVAL);
	assert_int_equal(bdev_uuid_parse("0123abcd+4567-89ab-cdef-0123456789ab", parsed), -EINVAL);
	assert_int_equal(bdev_uuid_parse("0123abcd-4567-89ab-cdef-0123456789ag", parsed), -EINVAL);
	test_unregister(a);
	test_unregister(b);
}

static void test_open_unknown_is_enodev(void **state)
{
	struct test_events ev = { 0 };

	(void)state;
	assert_int_equal(test_open("nope", &ev), -ENODEV);
}

static void test_resize_event_is_delivered_later_on_control(void **state)
{
	struct bdev *a = fake_new("A", 8);
	struct test_events ev1 = { 0 }, ev2 = { 0 };

	(void)state;
	assert_int_equal(bdev_register(a), 0);
	assert_int_equal(test_open("A", &ev1), 0);
	assert_int_equal(test_open("A", &ev2), 0);
	assert_int_equal(bdev_notify_resize(a, 16), 0);
	assert_int_equal(bdev_num_blocks(a), 16);
	assert_int_equal(ev1.resize, 0); /* not inside the notifier's stack */
	test_reactor_run_for(5);
	assert_int_equal(ev1.resize, 1);
	assert_int_equal(ev2.resize, 1);
	/* Same size: nothing to say. Shrinking an open bdev: refused, as SPDK. */
	assert_int_equal(bdev_notify_resize(a, 16), 0);
	assert_int_equal(bdev_notify_resize(a, 4), -EBUSY);
	assert_int_equal(bdev_notify_resize(a, 0), -EINVAL);
	test_reactor_run_for(5);
	assert_int_equal(ev1.resize, 1);
	bdev_close(ev1.desc);
	bdev_close(ev2.desc);
	assert_int_equal(bdev_notify_resize(a, 4), 0); /* closed: may shrink */
	test_unregister(a);
}

static void test_close_before_event_delivery_is_safe(void **state)
{
	struct bdev *a = fake_new("A", 8);
	struct test_events ev = { 0 };

	(void)state;
	assert_int_equal(bdev_register(a), 0);
	assert_int_equal(test_open("A", &ev), 0);
	assert_int_equal(bdev_notify_resize(a, 32), 0);
	bdev_close(ev.desc); /* the queued event must neither fire nor touch freed memory */
	test_reactor_run_for(5);
	assert_int_equal(ev.resize, 0);
	test_unregister(a);
}

static void unregistered(void *arg)
{
	(*(int *)arg)++;
}

static void test_unregister_waits_for_last_close(void **state)
{
	struct bdev *a = fake_new("A", 8);
	struct test_events ev1 = { 0 }, ev2 = { 0 };
	int done = 0;

	(void)state;
	destructed = 0;
	assert_int_equal(bdev_register(a), 0);
	assert_int_equal(test_open("A", &ev1), 0);
	assert_int_equal(test_open("A", &ev2), 0);
	bdev_unregister(a, unregistered, &done);
	assert_null(bdev_get_by_name("A")); /* the name goes at once */
	assert_int_equal(test_open("A", &ev1), -ENODEV);
	test_reactor_run_for(5);
	assert_int_equal(ev1.remove, 1);
	assert_int_equal(ev2.remove, 1);
	assert_int_equal(done, 0);
	bdev_close(ev1.desc);
	test_reactor_run_for(5);
	assert_int_equal(done, 0);
	assert_int_equal(destructed, 0);
	bdev_close(ev2.desc);
	test_reactor_run_for(5);
	assert_int_equal(done, 1);
	assert_int_equal(destructed, 1);
}

static void test_close_inside_remove_callback(void **state)
{
	struct bdev *a = fake_new("A", 8);
	struct test_events ev = { .close_on_remove = true };
	int done = 0;

	(void)state;
	assert_int_equal(bdev_register(a), 0);
	assert_int_equal(test_open("A", &ev), 0);
	bdev_unregister(a, unregistered, &done);
	test_reactor_run_for(5);
	assert_int_equal(ev.remove, 1);
	assert_null(ev.desc);
	assert_int_equal(done, 1);
}

static void test_io_after_remove_is_enodev(void **state)
{
	struct bdev *a = fake_new("A", 8);
	struct test_events ev = { 0 };
	struct bdev_channel *ch;
	uint8_t buf[512];
	int done = 0;

	(void)state;
	assert_int_equal(bdev_register(a), 0);
	assert_int_equal(test_open("A", &ev), 0);
	ch = bdev_channel_get(ev.desc);
	assert_non_null(ch);
	assert_int_equal(test_io_run(ch, BDEV_IO_READ, 0, 1, buf, sizeof(buf)), 0);
	bdev_unregister(a, unregistered, &done);
	test_reactor_run_for(5);
	assert_int_equal(ev.remove, 1);
	assert_int_equal(test_io_run(ch, BDEV_IO_READ, 0, 1, buf, sizeof(buf)), -ENODEV);
	assert_null(bdev_channel_get(ev.desc)); /* no new channel on a dying bdev */
	bdev_channel_put(ch);
	bdev_close(ev.desc);
	test_reactor_run_for(5);
	assert_int_equal(done, 1);
}

static void flag_set(void *arg)
{
	*(bool *)arg = true;
}

static void count_bdev(struct bdev *bdev, void *arg)
{
	(void)bdev;
	(*(int *)arg)++;
}

static void test_unregister_all_takes_everything(void **state)
{
	struct test_events ev = { .close_on_remove = true };
	bool done = false;
	int left = 0;

	(void)state;
	destructed = 0;
	assert_int_equal(bdev_register(fake_new("A", 8)), 0);
	assert_int_equal(bdev_register(fake_new("B", 8)), 0);
	assert_int_equal(test_open("B", &ev), 0);
	bdev_unregister_all(flag_set, &done);
	assert_true(test_reactor_run_until(&done));
	assert_int_equal(ev.remove, 1);
	assert_int_equal(destructed, 2);
	bdev_foreach(count_bdev, &left);
	assert_int_equal(left, 0);
	done = false;
	bdev_unregister_all(flag_set, &done); /* nothing left: still completes */
	assert_true(test_reactor_run_until(&done));
}

static void test_claim_blocks_writers(void **state)
{
	struct bdev *a = fake_new("A", 8);
	struct bdev_desc *ro;
	struct test_events ev = { 0 };

	(void)state;
	assert_int_equal(bdev_register(a), 0);
	assert_int_equal(bdev_claim(a), 0);
	assert_int_equal(bdev_claim(a), -EBUSY);
	assert_int_equal(test_open("A", &ev), -EPERM);
	assert_int_equal(bdev_open("A", false, test_event_cb, &ev, &ro), 0);
	bdev_close(ro);
	bdev_release(a);
	assert_int_equal(test_open("A", &ev), 0);
	bdev_close(ev.desc);
	test_unregister(a);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, bdev_test_setup, bdev_test_teardown)
	const struct CMUnitTest tests[] = {
		T(test_register_names_are_unique),
		T(test_register_rejects_bad_bdevs),
		T(test_uuid_generated_when_zero_and_kept_otherwise),
		T(test_open_unknown_is_enodev),
		T(test_resize_event_is_delivered_later_on_control),
		T(test_close_before_event_delivery_is_safe),
		T(test_unregister_waits_for_last_close),
		T(test_close_inside_remove_callback),
		T(test_io_after_remove_is_enodev),
		T(test_unregister_all_takes_everything),
		T(test_claim_blocks_writers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

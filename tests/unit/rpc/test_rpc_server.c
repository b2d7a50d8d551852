/*
 * The real server on this thread's control reactor, driven by real client sockets: framing
 * (halves, several requests per write, large requests), errors, notifications, batches, async
 * answers to clients that left, many clients, socket file handling, and the blocking client.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/reactor.h"
#include "rpc/rpc_internal.h"
#include "rpc_util.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define WAIT_MS 2000

static char dir[] = "/tmp/vhostd-rpc-test.XXXXXX";
static char sock_path[128];
static int echo_calls;
static struct rpc_request *parked[8];
static int parked_count;

static void echo_method(struct rpc_request *req, json_t *params)
{
	echo_calls++;
	rpc_reply(req, params ? json_incref(params) : json_string("no params"));
}
RPC_REGISTER("test_echo", echo_method)

static void park_method(struct rpc_request *req, json_t *params)
{
	(void)params;
	assert_true(parked_count < 8);
	parked[parked_count++] = req;
}
RPC_REGISTER("test_park", park_method)

static void pump(void)
{
	reactor_run_once(1000);
}

static int group_setup(void **state)
{
	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(sock_path, sizeof(sock_path), "%s/rpc.sock", dir);
	assert_int_equal(reactors_init(NULL), 0);
	raw_client_set_pump(pump);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	reactors_fini();
	unlink(sock_path); /* left behind only when a test failed half-way */
	rmdir(dir);
	return 0;
}

static int setup(void **state)
{
	(void)state;
	echo_calls = 0;
	parked_count = 0;
	assert_int_equal(rpc_server_start(sock_path, 0600), 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	rpc_server_stop();
	for (int i = 0; i < 20; i++)
		pump();
	assert_int_equal(access(sock_path, F_OK), -1);
	return 0;
}

static struct raw_client *connect_ok(void)
{
	struct raw_client *c = raw_client_connect(sock_path);

	assert_non_null(c);
	return c;
}

static void expect_result(struct raw_client *c, const char *id_json, const char *result_json)
{
	json_t *resp = raw_client_recv(c, WAIT_MS), *result;
	const char *problem;
	char *got;

	if (!resp)
		fail_msg("no response for id %s", id_json);
	problem = rpc_result_mismatch(resp, id_json, &result);
	if (problem)
		fail_msg("%s", problem);
	got = json_dumps(result, JSON_COMPACT | JSON_ENCODE_ANY);
	if (result_json && strcmp(got, result_json) != 0)
		fail_msg("result %s, expected %s", got, result_json);
	free(got);
	json_decref(resp);
}

static void expect_error(struct raw_client *c, const char *id_json, int code, const char *message)
{
	json_t *resp = raw_client_recv(c, WAIT_MS);
	const char *problem;

	if (!resp)
		fail_msg("no error response for id %s", id_json);
	problem = rpc_error_mismatch(resp, id_json, code, message);
	if (problem)
		fail_msg("%s", problem);
	json_decref(resp);
}

#define ECHO(id, x) "{\"jsonrpc\":\"2.0\",\"id\":" id ",\"method\":\"test_echo\",\"params\":" x "}"
#define PARK(id) "{\"jsonrpc\":\"2.0\",\"id\":" id ",\"method\":\"test_park\"}"
#define NOTIFY(method) "{\"jsonrpc\":\"2.0\",\"method\":\"" method "\"}"

static void send_ok(struct raw_client *c, const char *text)
{
	assert_int_equal(raw_client_send_str(c, text), 0);
}

static void test_simple_request(void **state)
{
	struct raw_client *c = connect_ok();

	(void)state;
	send_ok(c, ECHO("1", "{\"a\":1}"));
	expect_result(c, "1", "{\"a\":1}");
	raw_client_close(c);
}

static void test_socket_mode_0600(void **state)
{
	struct stat st;

	(void)state;
	assert_int_equal(stat(sock_path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);
}

static void test_partial_writes(void **state)
{
	struct raw_client *c = connect_ok();
	const char *req = ECHO("2", "{\"s\":\"}{\"}");

	(void)state;
	for (size_t i = 0; req[i]; i++) {
		assert_int_equal(raw_client_send(c, req + i, 1), 0);
		pump();
		if (req[i + 1])
			assert_int_equal(echo_calls, 0);
	}
	expect_result(c, "2", "{\"s\":\"}{\"}");
	raw_client_close(c);
}

static void test_two_requests_in_one_write(void **state)
{
	struct raw_client *c = connect_ok();

	(void)state;
	send_ok(c, ECHO("1", "{\"n\":1}") "\n" ECHO("2", "{\"n\":2}"));
	expect_result(c, "1", "{\"n\":1}");
	expect_result(c, "2", "{\"n\":2}");
	raw_client_close(c);
}

static void test_request_split_across_writes_with_next(void **state)
{
	struct raw_client *c = connect_ok();

	(void)state;
	/* The end of one request and the start of the next arrive together. */
	send_ok(c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"meth");
	pump();
	send_ok(c, "od\":\"test_echo\"}{\"jsonrpc\":\"2.0\",");
	expect_result(c, "1", "\"no params\"");
	send_ok(c, "\"id\":2,\"method\":\"test_echo\"}");
	expect_result(c, "2", "\"no params\"");
	raw_client_close(c);
}

static void test_large_request(void **state)
{
	const char *head =
		"{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"test_echo\",\"params\":{\"x\":\"";
	size_t n = 300000;
	char *big = malloc(strlen(head) + n + 4);
	struct raw_client *c = connect_ok();
	json_t *resp, *result;

	(void)state;
	assert_non_null(big);
	memcpy(big, head, strlen(head));
	memset(big + strlen(head), 'z', n);
	strcpy(big + strlen(head) + n, "\"}}");
	send_ok(c, big);
	resp = raw_client_recv(c, WAIT_MS);
	assert_non_null(resp);
	assert_null(rpc_result_mismatch(resp, "9", &result));
	assert_int_equal(strlen(json_string_value(json_object_get(result, "x"))), n);
	json_decref(resp);
	free(big);
	raw_client_close(c);
}

static void test_invalid_json_parse_error_then_close(void **state)
{
	struct raw_client *c = connect_ok();

	(void)state;
	send_ok(c, "{\"jsonrpc\":\"2.0\",,\"id\":1}" ECHO("2", "{}"));
	expect_error(c, "null", -32700, "Parse error");
	/* No resync after a parse error: the request behind it is not run, the stream ends. */
	assert_true(raw_client_wait_eof(c, WAIT_MS));
	assert_int_equal(echo_calls, 0);
	raw_client_close(c);
}

static void test_garbage_parse_error(void **state)
{
	struct raw_client *c = connect_ok();

	(void)state;
	send_ok(c, "}hello");
	expect_error(c, "null", -32700, "Parse error");
	assert_true(raw_client_wait_eof(c, WAIT_MS));
	raw_client_close(c);
}

static void test_unknown_method(void **state)
{
	struct raw_client *c = connect_ok();

	(void)state;
	send_ok(c, "{\"jsonrpc\":\"2.0\",\"id\":\"x\",\"method\":\"nope\"}");
	expect_error(c, "\"x\"", -32601, "Method not found");
	/* The connection stays usable after an error reply. */
	send_ok(c, ECHO("3", "{}"));
	expect_result(c, "3", "{}");
	raw_client_close(c);
}

static void test_invalid_request(void **state)
{
	struct raw_client *c = connect_ok();

	(void)state;
	send_ok(c, "{\"id\":4,\"method\":\"test_echo\"}");
	expect_error(c, "4", -32600, "Invalid request");
	send_ok(c, "17 ");
	expect_error(c, "null", -32600, "Invalid request");
	raw_client_close(c);
}

static void test_notification_gets_no_reply(void **state)
{
	struct raw_client *c = connect_ok();

	(void)state;
	send_ok(c, NOTIFY("test_echo") NOTIFY("nope") ECHO("5", "{}"));
	/* The first thing back is the answer to id 5: nothing for the two notifications. */
	expect_result(c, "5", "{}");
	assert_int_equal(echo_calls, 2);
	assert_true(raw_client_quiet(c, 100));
	raw_client_close(c);
}

static void test_batch(void **state)
{
	struct raw_client *c = connect_ok();
	json_t *resp;

	(void)state;
	send_ok(c, "[" ECHO("1", "{\"n\":1}") "," NOTIFY("test_echo") ","
		   "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"nope\"},5]");
	resp = raw_client_recv(c, WAIT_MS);
	assert_true(json_is_array(resp));
	assert_int_equal(json_array_size(resp), 3);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(resp, 0), "id")), 1);
	assert_null(rpc_error_mismatch(json_array_get(resp, 1), "3", -32601, "Method not found"));
	assert_null(rpc_error_mismatch(json_array_get(resp, 2), "null", -32600, "Invalid request"));
	json_decref(resp);
	raw_client_close(c);
}

static void test_batch_edge_cases(void **state)
{
	struct raw_client *c = connect_ok();

	(void)state;
	send_ok(c, "[]");
	expect_error(c, "null", -32600, "Invalid request");
	/* Notifications only: no answer at all, so the next thing back is for id 6. */
	send_ok(c, "[" NOTIFY("test_echo") "]" ECHO("6", "{}"));
	expect_result(c, "6", "{}");
	raw_client_close(c);
}

static void test_batch_waits_for_async_member(void **state)
{
	struct raw_client *c = connect_ok();
	json_t *resp;

	(void)state;
	send_ok(c, "[" ECHO("1", "{}") "," PARK("2") "]");
	while (parked_count == 0)
		pump();
	assert_true(raw_client_quiet(c, 50));
	rpc_reply_bool(parked[0], false);
	resp = raw_client_recv(c, WAIT_MS);
	assert_int_equal(json_array_size(resp), 2);
	assert_true(json_is_false(json_object_get(json_array_get(resp, 1), "result")));
	json_decref(resp);
	raw_client_close(c);
}

static void test_async_answers_out_of_order(void **state)
{
	struct raw_client *c = connect_ok();

	(void)state;
	send_ok(c, PARK("1") ECHO("2", "{}"));
	expect_result(c, "2", "{}");
	assert_int_equal(parked_count, 1);
	rpc_reply(parked[0], json_string("late"));
	expect_result(c, "1", "\"late\"");
	raw_client_close(c);
}

static void test_disconnect_before_reply(void **state)
{
	struct raw_client *c = connect_ok(), *d;

	(void)state;
	send_ok(c, PARK("1") PARK("2"));
	while (parked_count < 2)
		pump();
	raw_client_close(c);
	for (int i = 0; i < 20; i++)
		pump();
	/* The client is gone: answering must drop the replies, not touch freed memory. */
	rpc_reply_errno(parked[0], ENODEV, "late error");
	for (int i = 0; i < 5; i++)
		pump();
	rpc_reply(parked[1], NULL);
	d = connect_ok();
	send_ok(d, ECHO("3", "{}"));
	expect_result(d, "3", "{}");
	raw_client_close(d);
}

static void test_reply_after_server_stop(void **state)
{
	struct raw_client *c = connect_ok();

	(void)state;
	send_ok(c, PARK("1"));
	while (parked_count < 1)
		pump();
	rpc_server_stop();
	assert_true(raw_client_wait_eof(c, WAIT_MS));
	rpc_reply(parked[0], NULL);
	raw_client_close(c);
	/* teardown stops again: must be harmless */
}

static void test_half_close_still_answered(void **state)
{
	struct raw_client *c = connect_ok();

	(void)state;
	send_ok(c, ECHO("1", "{}") PARK("2"));
	shutdown(raw_client_fd(c), SHUT_WR);
	expect_result(c, "1", "{}");
	while (parked_count < 1)
		pump();
	rpc_reply(parked[0], json_string("after eof"));
	expect_result(c, "2", "\"after eof\"");
	assert_true(raw_client_wait_eof(c, WAIT_MS));
	raw_client_close(c);
}

static void test_many_clients_interleaved(void **state)
{
	enum { N = 40 };
	struct raw_client *c[N];
	char id[16], req[128], expected[32];

	(void)state;
	for (int i = 0; i < N; i++)
		c[i] = connect_ok();
	/* Everyone sends the first half, then everyone the second half. */
	for (int i = 0; i < N; i++)
		send_ok(c[i], "{\"jsonrpc\":\"2.0\",\"method\":\"test_e");
	pump();
	for (int i = N - 1; i >= 0; i--) {
		snprintf(req, sizeof(req), "cho\",\"id\":%d,\"params\":{\"i\":%d}}", i, i);
		send_ok(c[i], req);
	}
	for (int i = 0; i < N; i++) {
		snprintf(id, sizeof(id), "%d", i);
		snprintf(expected, sizeof(expected), "{\"i\":%d}", i);
		expect_result(c[i], id, expected);
		raw_client_close(c[i]);
	}
}

static void test_pipelined_many(void **state)
{
	enum { N = 2000 };
	struct raw_client *c = connect_ok();
	char req[128];

	(void)state;
	/* Requests sent without reading answers: the server must keep all of them. */
	for (int i = 0; i < N; i++) {
		snprintf(req, sizeof(req), ECHO("%d", "[%d]"), i, i);
		send_ok(c, req);
	}
	for (int i = 0; i < N; i++) {
		json_t *resp = raw_client_recv(c, WAIT_MS);

		assert_non_null(resp);
		assert_int_equal(json_integer_value(json_object_get(resp, "id")), i);
		json_decref(resp);
	}
	raw_client_close(c);
}

/* --- the socket file --- */

static void test_second_start_refused(void **state)
{
	(void)state;
	assert_int_equal(rpc_server_start(sock_path, 0600), -EBUSY);
}

static int listener_on(const char *path, bool listening)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
	assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	if (listening)
		assert_int_equal(listen(fd, 4), 0);
	return fd;
}

static void test_socket_file_handling(void **state)
{
	char other[160];
	struct stat st;
	int fd;

	(void)state;
	rpc_server_stop();
	snprintf(other, sizeof(other), "%s/other.sock", dir);

	/* A stale socket (nobody listens) is replaced. */
	fd = listener_on(other, false);
	close(fd);
	assert_int_equal(rpc_server_start(other, 0660), 0);
	assert_int_equal(stat(other, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0660);
	rpc_server_stop();
	assert_int_equal(access(other, F_OK), -1);

	/* A live one (another process listening) is refused and left alone. */
	fd = listener_on(other, true);
	assert_int_equal(rpc_server_start(other, 0600), -EADDRINUSE);
	assert_int_equal(access(other, F_OK), 0);
	close(fd);
	unlink(other);

	/* A regular file is not a socket to replace. */
	close(open(other, O_CREAT | O_WRONLY, 0600));
	assert_int_equal(rpc_server_start(other, 0600), -EEXIST);
	assert_int_equal(stat(other, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	unlink(other);

	memset(other, 'x', sizeof(other) - 1);
	other[sizeof(other) - 1] = '\0';
	assert_int_equal(rpc_server_start(other, 0600), -ENAMETOOLONG);

	assert_int_equal(rpc_server_start(sock_path, 0600), 0);
}

/* --- the blocking client (in a thread: the server needs this one) --- */

struct client_job {
	const char *method;
	json_t *params;
	int timeout_ms;
	int rc;
	json_t *result, *error;
	bool finished;
};

static void *client_thread(void *arg)
{
	struct client_job *job = arg;
	struct rpc_client *client = rpc_client_connect(sock_path, job->timeout_ms);

	if (!client) {
		job->rc = -errno;
		json_decref(job->params);
	} else {
		job->rc = rpc_client_call(client, job->method, job->params, &job->result,
					  &job->error);
		rpc_client_close(client);
	}
	__atomic_store_n(&job->finished, true, __ATOMIC_RELEASE);
	return NULL;
}

static void client_run(struct client_job *job)
{
	pthread_t t;

	assert_int_equal(pthread_create(&t, NULL, client_thread, job), 0);
	while (!__atomic_load_n(&job->finished, __ATOMIC_ACQUIRE))
		pump();
	pthread_join(t, NULL);
}

static void test_client_result_and_error(void **state)
{
	struct client_job ok = { .method = "test_echo", .params = json_pack("{s:i}", "k", 5),
				 .timeout_ms = 5000 };
	struct client_job bad = { .method = "nope", .timeout_ms = 5000 };

	(void)state;
	client_run(&ok);
	assert_int_equal(ok.rc, 0);
	assert_null(ok.error);
	assert_int_equal(json_integer_value(json_object_get(ok.result, "k")), 5);
	json_decref(ok.result);
	client_run(&bad);
	assert_int_equal(bad.rc, 1);
	assert_null(bad.result);
	assert_int_equal(json_integer_value(json_object_get(bad.error, "code")), -32601);
	json_decref(bad.error);
}

static void test_client_timeout(void **state)
{
	struct client_job slow = { .method = "test_park", .timeout_ms = 200 };

	(void)state;
	client_run(&slow);
	assert_int_equal(slow.rc, -ETIMEDOUT);
	assert_int_equal(parked_count, 1);
	rpc_reply(parked[0], NULL); /* its client left long ago */
}

static void test_client_no_server(void **state)
{
	char missing[160];

	(void)state;
	snprintf(missing, sizeof(missing), "%s/missing.sock", dir);
	assert_null(rpc_client_connect(missing, 100));
	assert_int_equal(errno, ENOENT);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_simple_request),
		T(test_socket_mode_0600),
		T(test_partial_writes),
		T(test_two_requests_in_one_write),
		T(test_request_split_across_writes_with_next),
		T(test_large_request),
		T(test_invalid_json_parse_error_then_close),
		T(test_garbage_parse_error),
		T(test_unknown_method),
		T(test_invalid_request),
		T(test_notification_gets_no_reply),
		T(test_batch),
		T(test_batch_edge_cases),
		T(test_batch_waits_for_async_member),
		T(test_async_answers_out_of_order),
		T(test_disconnect_before_reply),
		T(test_reply_after_server_stop),
		T(test_half_close_still_answered),
		T(test_many_clients_interleaved),
		T(test_pipelined_many),
		T(test_second_start_refused),
		T(test_socket_file_handling),
		T(test_client_result_and_error),
		T(test_client_timeout),
		T(test_client_no_server),
	};
#undef T

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

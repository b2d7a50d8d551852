/* Time for tests: a monotonic millisecond clock and a plain sleep. */
#ifndef VHOSTD_TESTS_TEST_CLOCK_H
#define VHOSTD_TESTS_TEST_CLOCK_H

long long test_now_ms(void);
void test_sleep_ms(int ms);

#endif

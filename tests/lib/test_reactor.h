/* Unit tests drive the reactor on their own thread (reactors_init, then these). */
#ifndef VHOSTD_TESTS_TEST_REACTOR_H
#define VHOSTD_TESTS_TEST_REACTOR_H

#include <stdbool.h>

/* Runs the reactor until *flag is true (2 s at most); returns *flag. */
bool test_reactor_run_until(const bool *flag);
/* Runs the reactor for ms milliseconds. */
void test_reactor_run_for(unsigned ms);

#endif

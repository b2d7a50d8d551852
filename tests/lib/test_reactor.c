#include "test_reactor.h"

#include <stdint.h>

#include "core/reactor.h"

bool test_reactor_run_until(const bool *flag)
{
	uint64_t deadline = reactor_now_us() + 2000000;

	while (!*flag && reactor_now_us() < deadline)
		reactor_run_once(1000);
	return *flag;
}

void test_reactor_run_for(unsigned ms)
{
	uint64_t deadline = reactor_now_us() + (uint64_t)ms * 1000;

	while (reactor_now_us() < deadline)
		reactor_run_once(1000);
}

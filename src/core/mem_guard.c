#include "core/mem_guard.h"

#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define MEM_GUARD_SLOTS 1024

/* Written by the control thread, read by the signal handler on any thread: atomics only. */
static struct {
	_Atomic uintptr_t start;
	_Atomic size_t len;
	atomic_bool tripped;
} slots[MEM_GUARD_SLOTS];

static void on_sigbus(int sig, siginfo_t *info, void *uctx)
{
	uintptr_t addr = (uintptr_t)info->si_addr, page = (uintptr_t)sysconf(_SC_PAGESIZE);

	(void)uctx;
	for (int i = 0; i < MEM_GUARD_SLOTS; i++) {
		uintptr_t start = atomic_load(&slots[i].start);

		if (!start || addr < start || addr - start >= atomic_load(&slots[i].len))
			continue;
		if (mmap((void *)(addr & ~(page - 1)), page, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED)
			break;
		atomic_store(&slots[i].tripped, true);
		return;
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

static void handler_install(void)
{
	struct sigaction sa = { .sa_sigaction = on_sigbus, .sa_flags = SA_SIGINFO | SA_NODEFER };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, NULL);
}

int mem_guard_add(void *addr, size_t len)
{
	/* At every registration, not once: a library (a test framework, say) may have installed a
	 * SIGBUS handler of its own since. */
	handler_install();
	for (int i = 0; i < MEM_GUARD_SLOTS; i++) {
		if (atomic_load(&slots[i].start))
			continue;
		atomic_store(&slots[i].tripped, false);
		atomic_store(&slots[i].len, len);
		atomic_store(&slots[i].start, (uintptr_t)addr);
		return i;
	}
	return -1;
}

void mem_guard_remove(int slot)
{
	if (slot < 0)
		return;
	atomic_store(&slots[slot].start, 0);
	atomic_store(&slots[slot].len, 0);
}

bool mem_guard_tripped(int slot)
{
	return slot >= 0 && atomic_load_explicit(&slots[slot].tripped, memory_order_relaxed);
}

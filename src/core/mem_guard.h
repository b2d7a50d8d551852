/*
 * Surviving a file that shrinks under our mapping of it. Guest memory and inflight areas are files
 * the front-end owns, and a memory-backed disk image is a file anyone with access may truncate;
 * touching a mapped page past the file's new end faults with SIGBUS. Mappings registered here are
 * guarded: such a fault maps a private zero page over the vanished one, so the access completes
 * harmlessly, and the mapping is marked tripped so its owner stops trusting it. A SIGBUS anywhere
 * else still kills the process as usual.
 */
#ifndef VHOSTD_CORE_MEM_GUARD_H
#define VHOSTD_CORE_MEM_GUARD_H

#include <stdbool.h>
#include <stddef.h>

/* Control thread. Returns a slot for the mapping, or -1 when all slots are taken (unguarded). */
int mem_guard_add(void *addr, size_t len);
/* Before the mapping goes away. */
void mem_guard_remove(int slot);
/* Any thread: did an access to this mapping fault? */
bool mem_guard_tripped(int slot);

#endif

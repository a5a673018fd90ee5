/* The one clock of the native code: CLOCK_MONOTONIC in nanoseconds. */
#ifndef PAGEMARK_CLOCK_H
#define PAGEMARK_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Async-signal-safe (clock_gettime is, by POSIX), and a vDSO call without a syscall here. */
static inline int64_t monotonic_ns(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000000000L + now.tv_nsec;
}

#endif

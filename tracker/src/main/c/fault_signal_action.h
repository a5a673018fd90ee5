/*
 * The sigaction our fault-signal handlers are installed with (signal_ranges.c), shared with the C
 * reference program (jmh/src/main/c/reference.c) so that both time the same signal delivery.
 */
#ifndef PAGEMARK_FAULT_SIGNAL_ACTION_H
#define PAGEMARK_FAULT_SIGNAL_ACTION_H

#include <signal.h>
#include <string.h>

static inline void pm_fault_signal_action(struct sigaction *action, void (*handler)(int, siginfo_t *, void *)) {
    memset(action, 0, sizeof *action);
    action->sa_sigaction = handler;
    /* As HotSpot installs its own: every signal blocked while we run, except the synchronous error signals. */
    sigfillset(&action->sa_mask);
    sigdelset(&action->sa_mask, SIGSEGV);
    sigdelset(&action->sa_mask, SIGBUS);
    sigdelset(&action->sa_mask, SIGILL);
    sigdelset(&action->sa_mask, SIGFPE);
    sigdelset(&action->sa_mask, SIGTRAP);
    action->sa_flags = SA_SIGINFO | SA_RESTART;
}

#endif

/*
 * The SIGSEGV and SIGBUS handlers, chained in front of the JVM's, and the signal ranges they handle:
 * the ranges of the trackers whose write faults arrive as signals (struct backend's fault_signal:
 * mprotect, uffd-sigbus). A write fault inside a live range goes to its backend's on_fault on the
 * faulting thread; every other signal goes on to the handler that was installed before ours.
 */
#define _GNU_SOURCE
#include "atomics.h"
#include "fault_signal_action.h"
#include "pagemark.h"
#include "tracker.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <ucontext.h>

/* x86 page-fault error code bit: the access was a write (arch/x86/include/asm/trap_pf.h). */
#define X86_PF_WRITE 0x2

/*
 * A slot goes FREE -> SETUP (owner fills it) -> LIVE (faults handled) -> STOPPED (faults only
 * retried: close() is making the range writable) -> FREE (memory unmapped). Handlers read it without
 * locks; see handle_write_fault for the ordering.
 */
enum { SLOT_FREE, SLOT_SETUP, SLOT_LIVE, SLOT_STOPPED };

struct signal_range {
    _Atomic int state;
    _Atomic int users; /* handlers inside the fault path of this range's tracker */
    _Atomic int signal;
    _Atomic uintptr_t start, end;
    struct tracker *_Atomic tracker;
};

static struct signal_range ranges[PM_MAX_SIGNAL_RANGES];
static _Atomic int range_count;
static struct sigaction previous_segv, previous_bus;
static pthread_once_t handlers_installed = PTHREAD_ONCE_INIT;
static int install_error;

/*
 * 1 if the fault is a write to a signal range (handled, or to be retried because the range is
 * stopping), 0 if it belongs to someone else (the JVM: null checks, safepoint polls, stack banging).
 */
static int handle_write_fault(int sig, siginfo_t *info, ucontext_t *context) {
    if (load_acquire(&range_count) == 0) return 0;
    if (sig == SIGSEGV ? info->si_code != SEGV_ACCERR : info->si_code != BUS_ADRERR) return 0;
    if ((context->uc_mcontext.gregs[REG_ERR] & X86_PF_WRITE) == 0) return 0;
    const uintptr_t addr = (uintptr_t)info->si_addr;
    int stopping = 0;
rescan:
    for (int i = 0; i < PM_MAX_SIGNAL_RANGES; i++) {
        struct signal_range *range = &ranges[i];
        /* Acquire: the owner stored signal, start and end before publishing LIVE with release. */
        int state = load_acquire(&range->state);
        if (state != SLOT_LIVE && state != SLOT_STOPPED) continue;
        if (load_relaxed(&range->signal) != sig
            || addr < load_relaxed(&range->start)
            || addr >= load_relaxed(&range->end)) continue;
        if (state == SLOT_STOPPED) {
            stopping = 1; /* unless a live range holds it too (its memory was mapped again), retry the store */
            continue;
        }
        /*
         * Enter, then re-check that the range is still live, both sequentially consistent; close()
         * stores STOPPED, then reads users, both sequentially consistent. So either close() sees us
         * inside and waits, or we see STOPPED and never touch the tracker (Dekker).
         */
        add_seq_cst(&range->users, 1);
        if (load_seq_cst(&range->state) != SLOT_LIVE
            || addr < load_relaxed(&range->start)
            || addr >= load_relaxed(&range->end)) {
            sub_release(&range->users, 1);
            goto rescan; /* it changed under us: look again (it is stopping, or now another range) */
        }
        struct tracker *t = load_relaxed(&range->tracker);
        t->backend->on_fault(t, addr);
        /* Release: our last use of the tracker happens before close() sees users drop (acquire). */
        sub_release(&range->users, 1);
        return 1;
    }
    return stopping; /* a stopping range: pm_signal_range_stop is making it writable, so the retried store succeeds */
}

static void forward(int sig, siginfo_t *info, void *context, const struct sigaction *previous) {
    if (previous->sa_flags & SA_SIGINFO) {
        previous->sa_sigaction(sig, info, context);
    } else if (previous->sa_handler == SIG_DFL) {
        /* Nobody else wanted it: restore the default action; the fault repeats on return and takes it. */
        signal(sig, SIG_DFL);
    } else if (previous->sa_handler != SIG_IGN) {
        previous->sa_handler(sig);
    }
}

static void on_fault_signal(int sig, siginfo_t *info, void *context) {
    int saved_errno = errno; /* the interrupted code may be between a call and its errno check */
    int ours = handle_write_fault(sig, info, context);
    errno = saved_errno;
    if (!ours) forward(sig, info, context, sig == SIGSEGV ? &previous_segv : &previous_bus);
}

static void install_handlers(void) {
    struct sigaction action;
    pm_fault_signal_action(&action, on_fault_signal);
    /*
     * Read the previous handlers first, install ours second: with one sigaction call doing both,
     * glibc copies the old action out only after the kernel installed the new one, and a JVM fault
     * on another thread in between would be forwarded to a zeroed (default) action and kill the
     * process. The JVM installs its handlers at startup and does not replace them later.
     */
    if (sigaction(SIGSEGV, NULL, &previous_segv) != 0 || sigaction(SIGBUS, NULL, &previous_bus) != 0
        || sigaction(SIGSEGV, &action, NULL) != 0 || sigaction(SIGBUS, &action, NULL) != 0) {
        install_error = errno;
    }
}

int pm_signal_range_add(struct tracker *t) {
    if (t->backend->fault_signal == 0) return -EINVAL;
    pthread_once(&handlers_installed, install_handlers);
    if (install_error != 0) return -install_error;
    for (int i = 0; i < PM_MAX_SIGNAL_RANGES; i++) {
        int expected = SLOT_FREE;
        struct signal_range *range = &ranges[i];
        if (!cas_acq_rel(&range->state, &expected, SLOT_SETUP)) continue;
        store_relaxed(&range->signal, t->backend->fault_signal);
        store_relaxed(&range->start, t->start);
        store_relaxed(&range->end, t->start + (t->pages << t->page_shift));
        store_relaxed(&range->tracker, t);
        add_release(&range_count, 1);
        /*
         * Release publishes the fields above. The range is protected only after this returns, and a
         * fault can only follow that protecting syscall, so no fault in the range can miss the slot.
         */
        store_seq_cst(&range->state, SLOT_LIVE);
        return i;
    }
    return -ENOSPC;
}

/* Stops a live range's handling and waits for the handlers inside; its tracker (NULL if it was not live). */
static struct tracker *stop_handling(struct signal_range *range) {
    if (load_acquire(&range->state) != SLOT_LIVE) return NULL;
    store_seq_cst(&range->state, SLOT_STOPPED); /* Dekker with handle_write_fault, see there */
    /* Acquire pairs with the handlers' release decrement: their last use of the tracker is over. */
    while (load_seq_cst(&range->users) != 0) sched_yield();
    struct tracker *t = load_relaxed(&range->tracker); /* relaxed: the acquire of LIVE above made add's store visible */
    store_relaxed(&range->tracker, NULL);
    return t;
}

void pm_signal_range_stop(int slot) {
    if (slot < 0 || slot >= PM_MAX_SIGNAL_RANGES) return;
    struct tracker *t = stop_handling(&ranges[slot]);
    if (t == NULL) return;
    /*
     * The range is made writable here, before returning to Java: from STOPPED on, a store to it is
     * retried in a loop that never reaches a safepoint poll, so a closing thread that returned to Java
     * first could block in a safepoint that waits for that writer, which waits for the unprotect (a
     * deadlock LiveSnapshotTest hit). In native, the closer is at a safepoint already and goes on.
     * A failure leaves the retried stores to the caller's stopTracking, as before.
     */
    t->backend->unprotect(t, 0, t->pages);
}

int pm_signal_range_idle(int slot) {
    if (slot < 0 || slot >= PM_MAX_SIGNAL_RANGES) return 1;
    /*
     * Acquire pairs with the handlers' release decrement: every handler that entered before this
     * load saw 0 has left, its unprotect and its ring commit visible to the caller's drain after this.
     */
    return load_acquire(&ranges[slot].users) == 0;
}

void pm_signal_range_remove(int slot) {
    if (slot < 0 || slot >= PM_MAX_SIGNAL_RANGES) return;
    struct signal_range *range = &ranges[slot];
    /* The region is unmapped by now and its tracker may be freed: a range still live is stopped without an unprotect. */
    stop_handling(range);
    if (load_acquire(&range->state) != SLOT_STOPPED) return;
    sub_release(&range_count, 1);
    store_release(&range->state, SLOT_FREE);
}

int pm_signal_ranges(void) {
    return load_acquire(&range_count);
}

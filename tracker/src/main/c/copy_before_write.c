/*
 * Copy-before-write (copy_before_write.h): the part every fault path runs (copy_enter, copy_block,
 * copy_leave), and switching it on and off (pm_copy_before_write_start/stop). The Java side of the
 * page states is io.pagemark.CopyBeforeWrite.
 */
#define _GNU_SOURCE
#include "copy_before_write.h"

#include "atomics.h"
#include "pagemark.h"
#include "rearm.h"
#include "tracker.h"

#include <errno.h>
#include <sched.h>
#include <string.h>

/*
 * Every fault path runs between copy_enter and copy_leave from before it decides what to do until
 * after its unprotect. copy_enter returns the phase it saw, OFF or LIVE, never PAUSED: while
 * PAUSED it steps out and waits. The increment and the phase load are both sequentially
 * consistent, as are pause's phase store and its loads of in_fault: so either pause sees this
 * fault path inside (and waits for it to unprotect and leave), or this fault path sees PAUSED
 * (Dekker). Hence once pause returns, no fault path is between a decision taken in the old phase
 * and its unprotect, and none starts one until the phase changes.
 */
int copy_enter(struct tracker *t) {
    return copy_enter_serving(t, NULL, NULL);
}

int copy_enter_serving(struct tracker *t, void (*serve)(void *arg), void *arg) {
    for (;;) {
        add_seq_cst(&t->copy.in_fault, 1);
        int phase = load_seq_cst(&t->copy.phase);
        if (phase != COPY_PAUSED) return phase;
        sub_release(&t->copy.in_fault, 1);
        /* Acquire: a LIVE seen here was stored after the states and the image (see pm_copy_before_write_start). */
        while (load_acquire(&t->copy.phase) == COPY_PAUSED) {
            if (serve != NULL) serve(arg);
            sched_yield();
        }
    }
}

void copy_leave(struct tracker *t) {
    /* Release: our uses of the states and the image happen before pause sees the count drop. */
    sub_release(&t->copy.in_fault, 1);
}

/*
 * Phase LIVE: every page of [first, first + count) leaves UNCOPIED before the caller unprotects it.
 * An UNCOPIED page has been protected and unchanged since copying started, so the bytes copied are
 * those of that moment. A page another fault path is copying is waited for: one page copy, by
 * native code that waits for nothing (never for Java: a Java thread stopped at a safepoint while
 * this Java thread is stopped in a fault would deadlock the JVM, see docs/design.md).
 */
void copy_block(struct tracker *t, uint64_t first, uint64_t count) {
    _Atomic int32_t *states = load_relaxed(&t->copy.states); /* ordered by copy_enter's load of LIVE */
    const size_t page_size = (size_t)1 << t->page_shift;
    for (uint64_t page = first; page < first + count; page++) {
        int32_t state = PM_PAGE_UNCOPIED;
        /*
         * Acquire-release on success: the copy below cannot start before this fault path takes the
         * page. Acquire on failure: when the Java caller's CAS (volatile, so release) took the page,
         * its reads of the page happened before ours, hence before our unprotect and the writes that
         * follow it.
         */
        if (cas_acq_rel(&states[page], &state, PM_PAGE_COPYING)) {
            memcpy(t->copy.image + page * page_size, tracker_page(t, page), page_size);
            add_relaxed(&t->copy.pages_copied, 1);
            /* Release: the image bytes are visible to whoever loads COPIED_BY_FAULT with acquire (CopyBeforeWrite.awaitCopy). */
            store_release(&states[page], PM_PAGE_COPIED_BY_FAULT);
            continue;
        }
        /* Another fault path is copying it: unprotecting now would let a write in before that copy ends. */
        while (state == PM_PAGE_COPYING) {
            sched_yield();
            state = load_acquire(&states[page]);
        }
    }
}

/* Stops new fault paths and waits for those in flight to unprotect and leave (see copy_enter). */
static void copy_pause(struct tracker *t) {
    store_seq_cst(&t->copy.phase, COPY_PAUSED); /* again after start's CAS or pm_rearm's store: harmless */
    /* Fault paths arriving now step out and wait, so the count only drops: bounded by the slowest one in flight. */
    while (load_seq_cst(&t->copy.in_fault) != 0) sched_yield();
}

int pm_copy_before_write_start(struct tracker *t, int32_t *states, uint8_t *image, uint64_t *delta) {
    int expected = COPY_OFF;
    /* Only the Java owner switches (under the arena's lock); the CAS just refuses a second start. */
    if (!cas_seq_cst(&t->copy.phase, &expected, COPY_PAUSED)) return -EBUSY;
    copy_pause(t);
    store_relaxed(&t->copy.states, (_Atomic int32_t *)states);
    t->copy.image = image;
    /*
     * No fault path is between a decision and its unprotect, and none starts one: once the re-arm
     * below returns, every page is protected (rearm.h: the unmarked ones already were) and none can be
     * unprotected without first leaving UNCOPIED. That moment is the snapshot's (or the cut's). The
     * protect runs here, while the fault paths are paused, not from Java: Java code there could stop
     * at a safepoint that waits for the paused writers.
     */
    int result = rearm_paused(t, NULL, delta, delta != NULL ? states : NULL);
    /* Sequentially consistent (so release): a fault path that sees LIVE sees the states and the image. */
    store_seq_cst(&t->copy.phase, result >= 0 ? COPY_LIVE : COPY_OFF);
    return result;
}

int pm_rearm(struct tracker *t, uint64_t *also) {
    /* The Java owner calls this under the arena's lock, as it does start and stop: the phase cannot change meanwhile. */
    int phase = load_acquire(&t->copy.phase);
    store_seq_cst(&t->copy.phase, COPY_PAUSED);
    copy_pause(t);
    int result = rearm_paused(t, also, NULL, NULL);
    /* Sequentially consistent: the fault paths waiting in copy_enter resume in the phase they would have seen. */
    store_seq_cst(&t->copy.phase, phase);
    return result;
}

void pm_copy_before_write_stop(struct tracker *t) {
    int phase = load_acquire(&t->copy.phase);
    if (phase == COPY_OFF) return;
    copy_pause(t);
    store_relaxed(&t->copy.states, NULL);
    t->copy.image = NULL;
    store_seq_cst(&t->copy.phase, COPY_OFF);
}

/*
 * Incremental re-arm (rearm.h): protecting only the pages unprotected since they were last
 * protected, adjacent runs merged into one call, or the whole range in one call where that costs
 * less (each backend says what a call costs, in pages: struct backend's protect_call_pages, or that
 * a whole-range call costs only what is unprotected: protect_all_skips_protected; the figures they
 * come from are in docs/cuts.md, "Re-arm").
 */
#define _GNU_SOURCE
#include "rearm.h"

#include "atomics.h"
#include "pagemark.h"
#include "tracker.h"

#include <errno.h>
#include <stdlib.h>

int rearm_init(struct tracker *t) {
    t->rearm.words = (t->pages + 63) / 64;
    t->rearm.unprotected = calloc(t->rearm.words, sizeof(uint64_t));
    t->rearm.since_cut = calloc(t->rearm.words, sizeof(uint64_t));
    t->rearm.scratch = calloc(t->rearm.words, sizeof(uint64_t));
    if (t->rearm.unprotected == NULL || t->rearm.since_cut == NULL || t->rearm.scratch == NULL) {
        rearm_release(t);
        return -ENOMEM;
    }
    rearm_unprotected(t, 0, t->pages); /* a new range is writable everywhere */
    return 0;
}

void rearm_release(struct tracker *t) {
    free(t->rearm.unprotected);
    free(t->rearm.since_cut);
    free(t->rearm.scratch);
    t->rearm.unprotected = t->rearm.since_cut = NULL;
    t->rearm.scratch = NULL;
}

/*
 * Relaxed: the marks are read only by rearm_paused, after copy_pause saw this fault path leave
 * (copy_leave's release, the pause's sequentially consistent load), or on the thread that called
 * pm_unprotect (the Java side calls both under the arena's lock).
 */
void rearm_unprotected(struct tracker *t, uint64_t first, uint64_t count) {
    uint64_t end = first + count;
    for (uint64_t page = first; page < end;) {
        uint64_t stop = (page | 63) + 1 < end ? (page | 63) + 1 : end;
        uint64_t bits = (stop - page == 64 ? ~0ULL : ((1ULL << (stop - page)) - 1)) << (page & 63);
        or_relaxed(&t->rearm.unprotected[page >> 6], bits);
        page = stop;
    }
}

/*
 * Walks the set bits of words[from, to) as runs, merging runs whose gap is at most `gap` pages; calls
 * emit(first, count) for each merged run unless emit is NULL. Returns the number of merged runs and
 * adds their pages (gaps included) to *covered.
 */
static uint64_t merged_runs(const uint64_t *words, uint64_t nwords, uint64_t pages, uint64_t gap, uint64_t *covered,
                            int (*emit)(struct tracker *, uint64_t, uint64_t), struct tracker *t, int *error) {
    uint64_t runs = 0, start = 0, end = 0;
    int open = 0;
    for (uint64_t w = 0; w < nwords; w++) {
        uint64_t bits = words[w];
        while (bits != 0) {
            int bit = __builtin_ctzll(bits);
            uint64_t first = w * 64 + (uint64_t)bit;
            uint64_t rest = ~(bits >> bit);
            int ones = rest == 0 ? 64 - bit : __builtin_ctzll(rest);
            bits = bit + ones >= 64 ? 0 : bits & (~0ULL << (bit + ones));
            uint64_t last = first + (uint64_t)ones < pages ? first + (uint64_t)ones : pages;
            if (open && first <= end + gap) {
                end = last;
                continue;
            }
            if (open) {
                runs++;
                *covered += end - start;
                if (emit != NULL && *error >= 0) {
                    int r = emit(t, start, end - start);
                    *error = r < 0 ? r : *error + r;
                }
            }
            start = first;
            end = last;
            open = 1;
        }
    }
    if (open) {
        runs++;
        *covered += end - start;
        if (emit != NULL && *error >= 0) {
            int r = emit(t, start, end - start);
            *error = r < 0 ? r : *error + r;
        }
    }
    return runs;
}

void pm_test_rearm_skips_one_page(struct tracker *t, int skip) {
    store_relaxed(&t->rearm.skips_one_page, skip);
}

/*
 * Protects the pages set in words: run by run (merged across gaps shorter than a call costs), or the
 * whole range when the runs would cost more. Returns the whole-range fallbacks taken or -errno. words
 * is as it was on return.
 */
static int rearm_protect(struct tracker *t, uint64_t *words) {
    const uint64_t call = t->backend->protect_call_pages;
    const int skip = load_relaxed(&t->rearm.skips_one_page);
    uint64_t skipped_word = 0, skipped_bit = 0;
    if (skip) {
        /* A test's deliberately broken re-arm: the first page to protect stays writable. */
        for (uint64_t w = 0; w < t->rearm.words; w++) {
            if (words[w] != 0) {
                skipped_word = w;
                skipped_bit = words[w] & -words[w];
                words[w] &= ~skipped_bit;
                break;
            }
        }
    }
    uint64_t covered = 0;
    int error = 0;
    uint64_t runs = merged_runs(words, t->rearm.words, t->pages, call, &covered, NULL, t, &error);
    if (runs > 0 && !skip && (t->backend->protect_all_skips_protected || runs * call + covered >= t->pages + call)) {
        error = t->backend->protect(t, 0, t->pages);
    } else if (runs > 0) {
        covered = 0;
        merged_runs(words, t->rearm.words, t->pages, call, &covered, t->backend->protect, t, &error);
    }
    words[skipped_word] |= skipped_bit;
    return error;
}

int pm_protect_pages(struct tracker *t, uint64_t *words) {
    return rearm_protect(t, words);
}

int rearm_paused(struct tracker *t, uint64_t *also, uint64_t *delta, int32_t *states) {
    /* Paused: no fault path sets a mark now (rearm.h); a discard's may (uffd_sync.c) and is kept below. */
    uint64_t *marked = t->rearm.scratch;
    for (uint64_t w = 0; w < t->rearm.words; w++) {
        marked[w] = load_relaxed(&t->rearm.unprotected[w]) | (also != NULL ? also[w] : 0);
    }
    int result = rearm_protect(t, marked);
    if (result < 0) return result;
    for (uint64_t w = 0; w < t->rearm.words; w++) {
        uint64_t bits = marked[w];
        /* Only what was protected (with the teeth on, one page was not: its mark goes too); a mark set meanwhile stays. */
        and_relaxed(&t->rearm.unprotected[w], ~bits);
        if (delta == NULL) {
            or_relaxed(&t->rearm.since_cut[w], bits);
            continue;
        }
        bits |= load_relaxed(&t->rearm.since_cut[w]);
        store_relaxed(&t->rearm.since_cut[w], 0);
        delta[w] = bits;
        if (states == NULL) continue;
        /* Relaxed: published to the fault paths by the LIVE store that ends the pause (copy_before_write.c). */
        for (uint64_t b = bits; b != 0; b &= b - 1) {
            store_relaxed((_Atomic int32_t *)&states[w * 64 + (uint64_t)__builtin_ctzll(b)], PM_PAGE_UNCOPIED);
        }
    }
    return result;
}

/*
 * mprotect's VMA count (vma_count.h), kept exact without a lock.
 *
 * The count is a function of the page bits: bit p of `writable` is set while page p is writable
 * (vma_count_mark sets it after the unprotect succeeded and clears it before the re-protect). Split by
 * bitmap word, the boundaries are
 *   the differing neighbour pairs inside each word   (changed by one read-modify-write of that word,
 *                                                     whose old value gives that word's exact change)
 *   + the differing pairs across word edges          (edge k: the last page of word k-1 and the first
 *                                                     of word k; bit k of `edges` holds it as accounted)
 * An edge's two words change in separate read-modify-writes, possibly on two threads at once, so each
 * caller that changed a word next to an edge reconciles it afterwards (reconcile_edge): it stores what
 * the words say now and counts the difference, until the words agree with what is stored.
 *
 * Every access to `writable` and `edges` here is sequentially consistent, which reconcile_edge's
 * argument needs: in the single order of them all, the last change to either word of an edge is
 * followed by its own caller's loads of both words and of the edge bit, so that caller sees the final
 * words; if the edge bit disagrees it exchanges it, and whoever exchanges the edge bit last loads the
 * words again after its exchange, so the loop ends with the edge bit equal to the final words. Every
 * change to the edge bit was counted as (new - old), so the count, summed, is exact once every caller
 * has returned. On x86-64 the loads are plain MOVs and the read-modify-writes LOCK-prefixed, as they
 * would be anyway.
 */
#define _GNU_SOURCE
#include "vma_count.h"

#include "atomics.h"
#include "tracker.h"

#include <errno.h>
#include <stdlib.h>

/* Process wide: every mprotect tracker draws on the same vm.max_map_count. Statistics and a budget: relaxed. */
static _Atomic int64_t vma_budget = 1L << 30; /* boundaries the trackers may make (pm_set_vma_budget) */
static _Atomic int64_t vma_boundaries;        /* the boundaries of every mprotect tracker now */

static uint64_t words_of(const struct tracker *t) {
    return (t->pages + 63) / 64;
}

/* The bits of word k that are pages of the range. */
static uint64_t valid_bits(const struct tracker *t, uint64_t k) {
    uint64_t tail = t->pages - 64 * k;
    return tail >= 64 ? ~0ULL : (1ULL << tail) - 1;
}

/* The bits of word k that are pages of [first, end). */
static uint64_t run_bits(uint64_t first, uint64_t end, uint64_t k) {
    uint64_t from = first > 64 * k ? first - 64 * k : 0, to = end < 64 * (k + 1) ? end - 64 * k : 64;
    if (from >= to) return 0;
    uint64_t upto = to == 64 ? ~0ULL : (1ULL << to) - 1;
    return upto & ~((1ULL << from) - 1);
}

/* The neighbour pairs inside word k (pages 64k + i - 1 and 64k + i, 1 <= i < 64) that differ. */
static int64_t inside(const struct tracker *t, uint64_t k, uint64_t word) {
    return __builtin_popcountll((word ^ (word << 1)) & valid_bits(t, k) & ~1ULL);
}

static int edge_of(uint64_t before, uint64_t word) {
    return (int)((before >> 63) ^ (word & 1));
}

/* Edge k as the words say now. */
static int edge_now(struct tracker *t, uint64_t k) {
    return edge_of(load_seq_cst(&t->mprotect.writable[k - 1]), load_seq_cst(&t->mprotect.writable[k]));
}

static int edge_accounted(struct tracker *t, uint64_t k) {
    return (int)((load_seq_cst(&t->mprotect.edges[k >> 6]) >> (k & 63)) & 1);
}

/* Stores `now` as edge k's accounted state and returns the one before. */
static int exchange_edge(struct tracker *t, uint64_t k, int now) {
    uint64_t bit = 1ULL << (k & 63);
    uint64_t before = now ? or_seq_cst(&t->mprotect.edges[k >> 6], bit) : and_seq_cst(&t->mprotect.edges[k >> 6], ~bit);
    return (before & bit) != 0;
}

/* Brings edge k's accounted state to what its words say (see the top of this file); returns the change. */
static int64_t reconcile_edge(struct tracker *t, uint64_t k) {
    int64_t change = 0;
    int now;
    while ((now = edge_now(t, k)) != edge_accounted(t, k)) change += now - exchange_edge(t, k, now);
    return change;
}

/* The edges whose pages lie in [first, end): k with page 64k - 1 or 64k in it. */
static void edges_touching(const struct tracker *t, uint64_t first, uint64_t end, uint64_t *from, uint64_t *to) {
    *from = (first + 63) / 64 > 0 ? (first + 63) / 64 : 1;
    *to = end / 64 < words_of(t) - 1 ? end / 64 : words_of(t) - 1;
}

int vma_count_init(struct tracker *t) {
    t->mprotect.writable = calloc(words_of(t), sizeof(uint64_t));
    t->mprotect.edges = calloc((words_of(t) + 63) / 64, sizeof(uint64_t));
    if (t->mprotect.writable != NULL && t->mprotect.edges != NULL) return 0;
    free(t->mprotect.writable);
    free(t->mprotect.edges);
    return -ENOMEM;
}

void vma_count_release(struct tracker *t) {
    /* Its VMAs merge back when the range is made writable as a whole: give back what it held. */
    sub_relaxed(&vma_boundaries, load_relaxed(&t->mprotect.boundaries));
    free(t->mprotect.writable);
    free(t->mprotect.edges);
}

void vma_count_mark(struct tracker *t, uint64_t first, uint64_t end, int writable) {
    if (first >= end) return;
    int64_t change = 0;
    for (uint64_t k = first / 64; k <= (end - 1) / 64; k++) {
        uint64_t bits = run_bits(first, end, k);
        /* A word with nothing to change is left alone: whoever changes it later counts that change. */
        if (((load_seq_cst(&t->mprotect.writable[k]) & bits) == (writable ? bits : 0))) continue;
        uint64_t before = writable ? or_seq_cst(&t->mprotect.writable[k], bits) : and_seq_cst(&t->mprotect.writable[k], ~bits);
        change += inside(t, k, writable ? before | bits : before & ~bits) - inside(t, k, before);
    }
    uint64_t from, to;
    edges_touching(t, first, end, &from, &to);
    for (uint64_t k = from; k <= to; k++) change += reconcile_edge(t, k);
    if (change == 0) return;
    add_relaxed(&t->mprotect.boundaries, change);
    add_relaxed(&vma_boundaries, change);
}

/* Relaxed loads: a prediction, which a concurrent change may make wrong by a few boundaries (the budget's headroom). */
int64_t vma_count_change_if_writable(struct tracker *t, uint64_t first, uint64_t end) {
    int64_t change = 0;
    for (uint64_t k = first / 64; k <= (end - 1) / 64; k++) {
        uint64_t word = load_relaxed(&t->mprotect.writable[k]);
        change += inside(t, k, word | run_bits(first, end, k)) - inside(t, k, word);
    }
    uint64_t from, to;
    edges_touching(t, first, end, &from, &to);
    for (uint64_t k = from; k <= to; k++) {
        uint64_t before = load_relaxed(&t->mprotect.writable[k - 1]), word = load_relaxed(&t->mprotect.writable[k]);
        change += edge_of(before | run_bits(first, end, k - 1), word | run_bits(first, end, k)) - edge_of(before, word);
    }
    return change;
}

int64_t vma_count_room(void) {
    return load_relaxed(&vma_budget) - load_relaxed(&vma_boundaries);
}

int64_t vma_count_of(struct tracker *t) {
    return load_relaxed(&t->mprotect.boundaries);
}

/* Relaxed loads, here and in the searches below: what they find is checked by vma_count_change_if_writable's prediction only. */
uint64_t vma_count_writable_before(struct tracker *t, uint64_t page, uint64_t words) {
    if (page == 0) return t->pages;
    uint64_t k = (page - 1) / 64;
    uint64_t word = load_relaxed(&t->mprotect.writable[k]) & run_bits(0, page, k);
    for (uint64_t looked = 0; word == 0; looked++) {
        if (k == 0 || looked == words) return t->pages;
        word = load_relaxed(&t->mprotect.writable[--k]);
    }
    return 64 * k + 63 - (uint64_t)__builtin_clzll(word);
}

uint64_t vma_count_writable_from(struct tracker *t, uint64_t page, uint64_t words) {
    if (page >= t->pages) return t->pages;
    uint64_t k = page / 64;
    uint64_t word = load_relaxed(&t->mprotect.writable[k]) & run_bits(page, t->pages, k);
    for (uint64_t looked = 0; word == 0; looked++) {
        if (k + 1 == words_of(t) || looked == words) return t->pages;
        word = load_relaxed(&t->mprotect.writable[++k]);
    }
    return 64 * k + (uint64_t)__builtin_ctzll(word);
}

uint64_t vma_count_find_hole(struct tracker *t, uint64_t words) {
    const uint64_t n = words_of(t);
    /* Relaxed: the cursor only spreads the searches over the range; any value is a valid start. */
    uint64_t k = load_relaxed(&t->mprotect.hole_cursor) % n;
    for (uint64_t looked = 0; looked < words && looked < n; looked++, k = (k + 1) % n) {
        uint64_t word = load_relaxed(&t->mprotect.writable[k]);
        uint64_t before = k > 0 ? load_relaxed(&t->mprotect.writable[k - 1]) : 0;
        uint64_t after = k + 1 < n ? load_relaxed(&t->mprotect.writable[k + 1]) : 0;
        /* Read-only pages whose left and right neighbours are writable (none past the range: its bits are 0). */
        uint64_t holes = ~word & ((word << 1) | (before >> 63)) & ((word >> 1) | (after << 63)) & valid_bits(t, k);
        if (holes != 0) {
            store_relaxed(&t->mprotect.hole_cursor, k);
            return 64 * k + (uint64_t)__builtin_ctzll(holes);
        }
    }
    store_relaxed(&t->mprotect.hole_cursor, k);
    return t->pages;
}

void pm_set_vma_budget(int64_t vmas) {
    store_relaxed(&vma_budget, vmas);
}

/*
 * pagemark-reference: the kernel calls pagemark's backends make, driven from a small C program and
 * timed, so that ./pagemark bench sets each Java-driven cost beside the C cost of the same calls on the
 * same sizes, on the same machine, in the same run (io.pagemark.bench.CReference; the report's
 * Java-vs-C table). Each measurement mirrors a benchmark: the same mapping (anonymous, MAP_NORESERVE,
 * MADV_NOHUGEPAGE unless --thp), every page present before the first sample, the same userfaultfd
 * features, the same dirty pages (io.pagemark.bench.PageOrder's choice, reproduced below), and nothing
 * of pagemark's own bookkeeping.
 *
 *   pagemark-reference MEASUREMENT [--size BYTES] [--dirty-percent P] [--backend NAME] [--thp] [--timed]
 *                      [--samples N] [--max-seconds S] [--sibling|--busy-sibling]
 *
 * MEASUREMENT, one sample each:
 *   first-write   arm (untimed), then one 8-byte store to each page, in order; the value is per page
 *                 (--timed: every store timed alone with two clock reads, the value is their median).
 *                 --backend uffd-async (the kernel resolves it), uffd-sync (a handler thread reads the
 *                 userfaultfd and unprotects with wake), uffd-sigbus (SIGBUS on the writer, unprotected
 *                 in the handler), mprotect (PROT_READ, SIGSEGV, mprotect RW in the handler)
 *   pagemap-scan  one store to each dirty page (untimed), then the PAGEMAP_SCAN loop (PM_SCAN_WP_MATCHING
 *                 | PM_SCAN_CHECK_WPASYNC, PAGE_IS_WRITTEN, 512 regions a call, resumed at walk_end)
 *                 that reports and re-protects them, its regions copied out: uffd-async's collect
 *   writeprotect  UFFDIO_WRITEPROTECT of the whole range (registered in WP mode), after an untimed
 *                 unprotect of it: a full arm (--thp: with its huge PMDs intact)
 *   memcpy        copying the dirty pages into another populated mapping at the same offsets, adjacent
 *                 pages in one memcpy: a stop-the-world copy of what changed (100%: of everything)
 *   reprotect     the synchronous backends' collect (uffd-sync, uffd-sigbus, mprotect: --backend): the dirty
 *                 pages written, each store taking the backend's one-page fault path (untimed: uffd-sync's
 *                 handler thread, the SIGBUS or SIGSEGV handler, as first-write's), then re-protected
 *                 with the calls rearm.c makes for them: UFFDIO_WRITEPROTECT per run, runs closer than 8
 *                 pages merged (UFFD_PROTECT_CALL_PAGES), the whole range where that costs less; mprotect
 *                 one PROT_READ call over the whole range (it passes over the VMAs already read-only); also
 *                 a cut's or snapshot's start, which re-protects the pages written since the previous one
 *                 (--thp: the dirty pages' huge pages split by their unprotect, the others intact)
 *   fork          fork() in the parent, up to its return there, with the range populated; the child
 *                 exits at once and is reaped untimed: the pause a fork-based snapshot costs
 *   pagemap-read  pread of the range's /proc/self/pagemap entries and the test of bit 55 of each
 *   card-mark     4096 8-byte stores walking --size bytes, each followed by a release store of its card's
 *                 byte (512-byte cards); the value is per store
 *
 * --sibling: the process gets a second thread, on another CPU than the measuring one (both pinned), which
 * wakes every SIBLING_PERIOD_MS for a moment and sleeps otherwise, as a JVM's service threads do. A
 * single-threaded process's memory is active on one CPU, so the kernel's TLB flush after a protect stays
 * local; once a second CPU has run the process, each flush also considers that CPU (and interrupts it if
 * it runs the process then). pagemark always runs in a process like that. Exit 3 if there is no second CPU.
 * --busy-sibling: as --sibling, but the second thread never sleeps (it spins in user mode), as the writers of
 * a cut taken while they run do: then every flush interrupts that CPU.
 *
 * Output (stdout), one line of JSON: {"measurement": ..., "params": {...}, "unit": "ns", "samples": N,
 * "values": V, "median": ..., "min": ..., "max": ..., "pageDigest": ...}, the times per operation (a page
 * of first-write untimed, a store of card-mark, else the sample); pageDigest is the FNV-1a hash of the dirty
 * page numbers chosen, for the Java side to check that they are its own. A feature this kernel lacks:
 * exit 3 with the reason on stderr; bad arguments: exit 2, with what is accepted.
 */
#define _GNU_SOURCE
#include "fault_signal_action.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

/* Absent from the 6.1 headers this is built with (tracker/src/main/java/io/pagemark/linux/Uffd.java, PagemapScan.java). */
#define FEATURE_WP_UNPOPULATED (1ULL << 13)
#define FEATURE_WP_ASYNC (1ULL << 15)
#define PM_SCAN_WP_MATCHING (1ULL << 0)
#define PM_SCAN_CHECK_WPASYNC (1ULL << 1)
#define PAGE_IS_WRITTEN (1ULL << 1)
#define SCAN_VECTOR_LENGTH 512 /* PagemapScan.DEFAULT_VECTOR_LENGTH */
#define SOFT_DIRTY_BIT (1ULL << 55)
#define CARD_SHIFT 9
#define STORES_PER_BATCH 4096 /* StoreCostBenchmark.STORES */
#define X86_PF_WRITE 0x2

struct pm_scan_arg {
    uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages, category_inverted, category_mask,
        category_anyof_mask, return_mask;
};
struct page_region {
    uint64_t start, end, categories;
};
#define PAGEMAP_SCAN _IOWR('f', 16, struct pm_scan_arg)

static const char *measurement;
static long page_size;
static size_t size = 256UL << 20;
static double dirty_percent = 1;
static const char *backend = "uffd-async";
static int thp, timed, sibling, busy_sibling;
static long max_samples = 100;
static double max_seconds = 3;

static char *range;
static size_t pages;
static int uffd = -1;

static int64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t); /* System.nanoTime's clock */
    return (int64_t)t.tv_sec * 1000000000L + t.tv_nsec;
}

static void fail(int status, const char *format, ...) {
    va_list args;
    va_start(args, format);
    fprintf(stderr, "pagemark-reference %s: ", measurement != NULL ? measurement : "");
    vfprintf(stderr, format, args);
    fputc('\n', stderr);
    va_end(args);
    exit(status);
}

#define CHECK(call) do { if ((call) < 0) fail(1, "%s: %s", #call, strerror(errno)); } while (0)

/* ---- the dirty pages: PageOrder.sample, i.e. java.util.SplittableRandom(SEED) shuffling 0..n-1 ---- */

#define GOLDEN_GAMMA 0x9e3779b97f4a7c15ULL
#define PAGE_ORDER_SEED 0x9E3779B97F4A7C15ULL

static uint64_t random_seed;

static int32_t next_int(void) {
    uint64_t z = (random_seed += GOLDEN_GAMMA);
    z = (z ^ (z >> 33)) * 0x62a9d9ed799705f5ULL;
    return (int32_t)(((z ^ (z >> 28)) * 0xcb24d0a5c88c35b3ULL) >> 32);
}

/* RandomSupport.boundedNextInt for bound > 0. */
static int32_t next_int_below(int32_t bound) {
    int32_t r = next_int();
    int32_t m = bound - 1;
    if ((bound & m) == 0) return r & m;
    for (uint32_t u = (uint32_t)r >> 1; (int32_t)(u + (uint32_t)m - (uint32_t)(r = (int32_t)(u % (uint32_t)bound))) < 0;
         u = (uint32_t)next_int() >> 1) {
    }
    return r;
}

static int compare_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static uint32_t *dirty;
static size_t dirty_count;
static uint64_t page_digest = 0xcbf29ce484222325ULL;

static void choose_dirty_pages(void) {
    double wanted = (double)pages * dirty_percent / 100;
    long rounded = (long)(wanted + 0.5); /* Math.round of a positive value */
    dirty_count = rounded < 1 ? 1 : (size_t)rounded;
    uint32_t *all = malloc(pages * sizeof *all);
    if (all == NULL) fail(1, "out of memory");
    for (size_t i = 0; i < pages; i++) all[i] = (uint32_t)i;
    random_seed = PAGE_ORDER_SEED;
    for (size_t i = pages - 1; i > 0; i--) {
        size_t j = (size_t)next_int_below((int32_t)(i + 1));
        uint32_t t = all[i];
        all[i] = all[j];
        all[j] = t;
    }
    qsort(all, dirty_count, sizeof *all, compare_u32);
    dirty = all;
    for (size_t i = 0; i < dirty_count; i++) {
        for (int b = 0; b < 4; b++) page_digest = (page_digest ^ ((dirty[i] >> (8 * b)) & 0xff)) * 0x100000001b3ULL;
    }
}

static void dirty_the_pages(void) {
    for (size_t i = 0; i < dirty_count; i++) *(volatile uint64_t *)(range + (size_t)dirty[i] * page_size) = i;
}

/* ---- the mapping and the userfaultfd ---- */

static char *map_populated(void) {
    /* 2 MiB aligned, so that --thp can back every part of it with huge pages. */
    size_t huge = 2UL << 20;
    char *raw = mmap(NULL, size + huge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (raw == MAP_FAILED) fail(1, "mmap of %zu bytes: %s", size, strerror(errno));
    char *aligned = (char *)(((uintptr_t)raw + huge - 1) & ~(huge - 1));
    if (aligned > raw) munmap(raw, (size_t)(aligned - raw));
    munmap(aligned + size, (size_t)(raw + huge - aligned));
    CHECK(madvise(aligned, size, thp ? MADV_HUGEPAGE : MADV_NOHUGEPAGE));
    for (size_t off = 0; off < size; off += (size_t)page_size) *(volatile uint64_t *)(aligned + off) = off;
    return aligned;
}

static void check_huge_pages(void) {
    if (!thp) return;
    /* The range is one VMA: its AnonHugePages in smaps says whether the kernel gave it huge pages. */
    FILE *smaps = fopen("/proc/self/smaps", "r");
    if (smaps == NULL) fail(1, "/proc/self/smaps: %s", strerror(errno));
    char line[256];
    int inside = 0;
    long huge_kib = -1;
    while (fgets(line, sizeof line, smaps) != NULL) {
        unsigned long start, end;
        if (sscanf(line, "%lx-%lx ", &start, &end) == 2) inside = start <= (uintptr_t)range && (uintptr_t)range < end;
        else if (inside && sscanf(line, "AnonHugePages: %ld kB", &huge_kib) == 1) break;
    }
    fclose(smaps);
    if (huge_kib * 1024 < (long)size / 2) {
        fail(3, "--thp: only %ld KiB of the %zu MiB are huge pages (transparent_hugepage disabled, or no huge pages free)",
             huge_kib, size >> 20);
    }
}

static uint64_t uffd_features(void) {
    int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) fail(3, "userfaultfd: %s", strerror(errno));
    struct uffdio_api api = {.api = UFFD_API};
    if (ioctl(fd, UFFDIO_API, &api) != 0) fail(3, "UFFDIO_API: %s", strerror(errno));
    close(fd);
    return api.features;
}

/* As UffdRegistration: the backend's feature, plus WP_UNPOPULATED when offered; WP mode. */
static void register_range(uint64_t feature) {
    uint64_t offered = uffd_features();
    if ((offered & feature) != feature) fail(3, "the kernel's userfaultfd lacks feature 0x%llx", (unsigned long long)feature);
    uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
    if (uffd < 0) fail(3, "userfaultfd: %s", strerror(errno));
    struct uffdio_api api = {.api = UFFD_API, .features = feature | (offered & FEATURE_WP_UNPOPULATED)};
    if (ioctl(uffd, UFFDIO_API, &api) != 0) fail(3, "UFFDIO_API: %s", strerror(errno));
    struct uffdio_register reg = {.range = {.start = (uintptr_t)range, .len = size}, .mode = UFFDIO_REGISTER_MODE_WP};
    if (ioctl(uffd, UFFDIO_REGISTER, &reg) != 0) fail(3, "UFFDIO_REGISTER (WP): %s", strerror(errno));
}

static void write_protect(void *start, size_t length, uint64_t mode) {
    struct uffdio_writeprotect wp = {.range = {.start = (uintptr_t)start, .len = length}, .mode = mode};
    while (ioctl(uffd, UFFDIO_WRITEPROTECT, &wp) != 0) {
        if (errno != EAGAIN && errno != EINTR) fail(1, "UFFDIO_WRITEPROTECT: %s", strerror(errno));
    }
}

/* ---- the fault resolvers ---- */

static void on_sigsegv(int sig, siginfo_t *info, void *context) {
    (void)sig;
    char *addr = info->si_addr;
    if (info->si_code != SEGV_ACCERR || (((ucontext_t *)context)->uc_mcontext.gregs[REG_ERR] & X86_PF_WRITE) == 0
        || addr < range || addr >= range + size) abort();
    mprotect((void *)((uintptr_t)addr & ~(uintptr_t)(page_size - 1)), (size_t)page_size, PROT_READ | PROT_WRITE);
}

static void on_sigbus(int sig, siginfo_t *info, void *context) {
    (void)sig;
    (void)context;
    char *addr = info->si_addr;
    if (info->si_code != BUS_ADRERR || addr < range || addr >= range + size) abort();
    struct uffdio_writeprotect wp = {
        .range = {.start = (uintptr_t)addr & ~(uintptr_t)(page_size - 1), .len = (uint64_t)page_size},
        .mode = UFFDIO_WRITEPROTECT_MODE_DONTWAKE, /* as uffd_sigbus.c: the only waiter is this thread */
    };
    ioctl(uffd, UFFDIO_WRITEPROTECT, &wp);
}

static void install(int sig, void (*handler)(int, siginfo_t *, void *)) {
    struct sigaction action;
    pm_fault_signal_action(&action, handler);
    CHECK(sigaction(sig, &action, NULL));
}

/* uffd-sync's handler thread, as uffd_sync.c's with its defaults (one thread, no spin): read, else poll. */
static void *sync_handler(void *unused) {
    (void)unused;
    struct uffd_msg msgs[64];
    struct pollfd fd = {.fd = uffd, .events = POLLIN};
    for (;;) {
        ssize_t got = read(uffd, msgs, sizeof msgs);
        if (got > 0) {
            for (ssize_t i = 0; i < got / (ssize_t)sizeof msgs[0]; i++) {
                if (msgs[i].event != UFFD_EVENT_PAGEFAULT) continue;
                uintptr_t page = (uintptr_t)msgs[i].arg.pagefault.address & ~(uintptr_t)(page_size - 1);
                write_protect((void *)page, (size_t)page_size, 0); /* clear WP and wake the writer */
            }
            continue;
        }
        if (got < 0 && errno != EAGAIN && errno != EINTR) return NULL;
        if (poll(&fd, 1, -1) < 0 && errno != EINTR) return NULL;
    }
}

/* ---- the measurements ---- */

static int64_t *values;
static size_t value_count, value_capacity;
static double ops_per_value = 1; /* operations one recorded value times: the output is per operation */

static void record(int64_t v) {
    if (value_count == value_capacity) {
        value_capacity = value_capacity ? 2 * value_capacity : 1024;
        values = realloc(values, value_capacity * sizeof *values);
        if (values == NULL) fail(1, "out of memory");
    }
    values[value_count++] = v;
}

/* Arms the range for first-write's backend. */
static void arm(void) {
    if (strcmp(backend, "mprotect") == 0) CHECK(mprotect(range, size, PROT_READ));
    else write_protect(range, size, UFFDIO_WRITEPROTECT_MODE_WP);
}

static void first_write_setup(void) {
    if (strcmp(backend, "uffd-async") == 0) {
        register_range(FEATURE_WP_ASYNC);
    } else if (strcmp(backend, "uffd-sync") == 0) {
        register_range(0);
        pthread_t handler;
        if (pthread_create(&handler, NULL, sync_handler, NULL) != 0) fail(1, "pthread_create failed");
        pthread_detach(handler);
    } else if (strcmp(backend, "uffd-sigbus") == 0) {
        register_range(UFFD_FEATURE_SIGBUS);
        install(SIGBUS, on_sigbus);
    } else if (strcmp(backend, "mprotect") == 0) {
        install(SIGSEGV, on_sigsegv);
    } else {
        fail(2, "bad --backend '%s': expected uffd-async, uffd-sync, uffd-sigbus or mprotect", backend);
    }
}

static void first_write_sample(void) {
    arm();
    if (timed) {
        for (size_t p = 0; p < pages; p++) {
            int64_t start = now_ns();
            *(volatile uint64_t *)(range + p * (size_t)page_size) = p;
            record(now_ns() - start);
        }
    } else {
        ops_per_value = (double)pages;
        int64_t start = now_ns();
        for (size_t p = 0; p < pages; p++) *(volatile uint64_t *)(range + p * (size_t)page_size) = p;
        record(now_ns() - start);
    }
}

static struct page_region scan_vector[SCAN_VECTOR_LENGTH];
static struct page_region *found; /* the regions a scan reported, copied out as a caller would keep them */
static size_t found_count;

static void pagemap_scan_sample(int pagemap) {
    dirty_the_pages();
    int64_t start = now_ns();
    found_count = 0;
    for (uint64_t from = (uintptr_t)range, end = (uintptr_t)range + size; from < end;) {
        struct pm_scan_arg arg = {
            .size = sizeof arg, .flags = PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC, .start = from, .end = end,
            .vec = (uintptr_t)scan_vector, .vec_len = SCAN_VECTOR_LENGTH,
            .category_mask = PAGE_IS_WRITTEN, .return_mask = PAGE_IS_WRITTEN,
        };
        int regions = ioctl(pagemap, PAGEMAP_SCAN, &arg);
        if (regions < 0) fail(3, "ioctl(PAGEMAP_SCAN): %s", strerror(errno));
        memcpy(found + found_count, scan_vector, (size_t)regions * sizeof scan_vector[0]);
        found_count += (size_t)regions;
        if (arg.walk_end <= from) fail(1, "PAGEMAP_SCAN made no progress at %#lx", (unsigned long)from);
        from = arg.walk_end;
    }
    record(now_ns() - start);
    size_t reported = 0;
    for (size_t i = 0; i < found_count; i++) reported += (found[i].end - found[i].start) / (uint64_t)page_size;
    if (reported < dirty_count) fail(1, "PAGEMAP_SCAN reported %zu of the %zu pages written", reported, dirty_count);
}

/* ---- reprotect: the calls of rearm.c's re-protect, on the dirty pages ---- */

#define UFFD_PROTECT_CALL_PAGES 8 /* tracker/src/main/c/uffd_wp.h */

static int reprotect_mprotect;

static void reprotect_setup(void) {
    if (strcmp(backend, "uffd-sync") != 0 && strcmp(backend, "uffd-sigbus") != 0 && strcmp(backend, "mprotect") != 0) {
        fail(2, "bad --backend '%s' for reprotect: expected uffd-sync, uffd-sigbus or mprotect", backend);
    }
    reprotect_mprotect = strcmp(backend, "mprotect") == 0;
    first_write_setup(); /* the backend's fault path: its registration and its resolver (uffd-sync: the handler thread) */
    arm();
}

/* The dirty pages as runs merged across gaps of at most `gap` pages; emit(first page, pages) each unless NULL; returns the runs, adds their pages to *covered. */
static size_t merged_runs(size_t gap, size_t *covered, void (*emit)(size_t, size_t)) {
    size_t runs = 0;
    for (size_t i = 0; i < dirty_count;) {
        size_t first = dirty[i], end = first + 1;
        for (i++; i < dirty_count && dirty[i] <= end + gap; i++) end = dirty[i] + 1;
        runs++;
        *covered += end - first;
        if (emit != NULL) emit(first, end - first);
    }
    return runs;
}

static void protect_run(size_t first, size_t count) {
    write_protect(range + first * (size_t)page_size, count * (size_t)page_size, UFFDIO_WRITEPROTECT_MODE_WP);
}

static void reprotect_sample(void) {
    /*
     * Each store faults and its backend's fault path unprotects the page, untimed, as the Java side's
     * writes do: on uffd-sync that is the handler thread on another CPU, which has just run the process
     * when the re-protect starts (so its flushes consider that CPU, as they do in the JVM).
     */
    for (size_t i = 0; i < dirty_count; i++) *(volatile uint64_t *)(range + (size_t)dirty[i] * page_size) = (uint64_t)i;
    int64_t start = now_ns();
    if (reprotect_mprotect) {
        CHECK(mprotect(range, size, PROT_READ));
    } else {
        size_t covered = 0, runs = merged_runs(UFFD_PROTECT_CALL_PAGES, &covered, NULL);
        if (runs * UFFD_PROTECT_CALL_PAGES + covered >= pages + UFFD_PROTECT_CALL_PAGES) protect_run(0, pages);
        else merged_runs(UFFD_PROTECT_CALL_PAGES, &covered, protect_run);
    }
    record(now_ns() - start);
}

static char *copy_target;

static void memcpy_sample(void) {
    int64_t start = now_ns();
    for (size_t i = 0; i < dirty_count;) {
        size_t j = i + 1;
        while (j < dirty_count && dirty[j] == dirty[j - 1] + 1) j++;
        size_t offset = (size_t)dirty[i] * page_size;
        memcpy(copy_target + offset, range + offset, (j - i) * (size_t)page_size);
        i = j;
    }
    record(now_ns() - start);
    __asm__ volatile("" : : "r"(copy_target) : "memory"); /* the copy is used */
}

static void fork_sample(void) {
    int64_t start = now_ns();
    pid_t child = fork();
    if (child == 0) _exit(0);
    int64_t took = now_ns() - start;
    if (child < 0) fail(1, "fork: %s", strerror(errno));
    int status;
    while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
    }
    record(took);
}

static uint64_t *pagemap_entries;

static void pagemap_read_sample(int pagemap) {
    int64_t start = now_ns();
    size_t bytes = pages * sizeof(uint64_t), done = 0;
    off_t position = (off_t)((uintptr_t)range / (uintptr_t)page_size * sizeof(uint64_t));
    while (done < bytes) {
        ssize_t got = pread(pagemap, (char *)pagemap_entries + done, bytes - done, position + (off_t)done);
        if (got <= 0) fail(1, "short read of /proc/self/pagemap");
        done += (size_t)got;
    }
    size_t soft_dirty = 0;
    for (size_t p = 0; p < pages; p++) soft_dirty += (pagemap_entries[p] & SOFT_DIRTY_BIT) != 0;
    record(now_ns() - start);
    __asm__ volatile("" : : "r"(soft_dirty));
}

static unsigned char *cards;
static size_t card_cursor;

static void card_mark_sample(void) {
    size_t mask = size - 1, offset = card_cursor;
    int64_t start = now_ns();
    for (int i = 0; i < STORES_PER_BATCH; i++) {
        *(uint64_t *)(range + offset) = offset;
        /* Release: the store is visible before its card's mark (ArenaCardTable.mark). */
        __atomic_store_n(&cards[offset >> CARD_SHIFT], 1, __ATOMIC_RELEASE);
        offset = (offset + sizeof(uint64_t)) & mask;
    }
    ops_per_value = STORES_PER_BATCH;
    record(now_ns() - start);
    card_cursor = offset;
}

/* ---- --sibling: a second thread that runs now and then on another CPU ---- */

#define SIBLING_PERIOD_MS 50

static _Atomic int sibling_ran;

static void *sibling_main(void *arg) {
    (void)arg;
    for (;;) {
        /* Relaxed: the flag only tells the main thread that this CPU has run the process; nothing is published. */
        __atomic_store_n(&sibling_ran, 1, __ATOMIC_RELAXED);
        /* Spins on a local: no cache line shared with the measuring thread, only the flushes' interrupts. */
        if (busy_sibling) {
            for (volatile uint64_t spins = 0;; spins++) {
            }
        }
        struct timespec period = {.tv_sec = 0, .tv_nsec = SIBLING_PERIOD_MS * 1000000L};
        nanosleep(&period, NULL);
    }
    return NULL;
}

/* Pins this thread to the CPU it runs on and starts the sibling on another one this process may use. */
static void start_sibling(void) {
    cpu_set_t allowed, cpu;
    CHECK(sched_getaffinity(0, sizeof allowed, &allowed));
    int here = sched_getcpu(), other = -1;
    for (int c = 0; c < CPU_SETSIZE && other < 0; c++) if (CPU_ISSET(c, &allowed) && c != here) other = c;
    if (here < 0 || other < 0) fail(3, "--sibling needs a second CPU this process may run on; it may run on %d", CPU_COUNT(&allowed));
    CPU_ZERO(&cpu);
    CPU_SET(here, &cpu);
    CHECK(sched_setaffinity(0, sizeof cpu, &cpu));
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    CPU_ZERO(&cpu);
    CPU_SET(other, &cpu);
    pthread_attr_setaffinity_np(&attr, sizeof cpu, &cpu);
    pthread_t thread;
    if (pthread_create(&thread, &attr, sibling_main, NULL) != 0) fail(1, "pthread_create failed");
    pthread_attr_destroy(&attr);
    while (!__atomic_load_n(&sibling_ran, __ATOMIC_RELAXED)) sched_yield();
}

/* ---- main ---- */

static double number(const char *option, const char *text, double min, double max) {
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (errno != 0 || end == text || *end != '\0' || !(v >= min && v <= max)) {
        fail(2, "bad %s '%s': expected a number from %g to %g", option, text, min, max);
    }
    return v;
}

static int compare_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    static const char *usage = "usage: pagemark-reference first-write|pagemap-scan|writeprotect|memcpy|fork|pagemap-read|card-mark|reprotect"
                               " [--size BYTES] [--dirty-percent P] [--backend NAME] [--thp] [--timed] [--samples N] [--max-seconds S] [--sibling|--busy-sibling]";
    if (argc < 2) fail(2, "no measurement named; %s", usage);
    measurement = argv[1];
    for (int i = 2; i < argc; i++) {
        const char *option = argv[i];
        int has_value = i + 1 < argc;
        if (strcmp(option, "--thp") == 0) thp = 1;
        else if (strcmp(option, "--timed") == 0) timed = 1;
        else if (strcmp(option, "--sibling") == 0) sibling = 1;
        else if (strcmp(option, "--busy-sibling") == 0) sibling = busy_sibling = 1;
        else if (strcmp(option, "--size") == 0 && has_value) size = (size_t)number(option, argv[++i], 1, 1ULL << 40);
        else if (strcmp(option, "--dirty-percent") == 0 && has_value) dirty_percent = number(option, argv[++i], 1e-9, 100);
        else if (strcmp(option, "--backend") == 0 && has_value) backend = argv[++i];
        else if (strcmp(option, "--samples") == 0 && has_value) max_samples = (long)number(option, argv[++i], 1, 1e7);
        else if (strcmp(option, "--max-seconds") == 0 && has_value) max_seconds = number(option, argv[++i], 0.001, 3600);
        else fail(2, "bad option '%s'; %s", option, usage);
    }
    page_size = sysconf(_SC_PAGESIZE);
    if (size % (size_t)page_size != 0) fail(2, "bad --size %zu: expected a multiple of the page size, %ld", size, page_size);
    if (thp && size % (2UL << 20) != 0) fail(2, "bad --size %zu with --thp: expected a multiple of 2 MiB", size);
    pages = size / (size_t)page_size;
    if (pages > INT32_MAX) fail(2, "bad --size %zu: more pages than an int indexes", size);

    int kind;
    static const char *kinds[] = {"first-write", "pagemap-scan", "writeprotect", "memcpy", "fork", "pagemap-read", "card-mark", "reprotect"};
    for (kind = 0; kind < 8 && strcmp(measurement, kinds[kind]) != 0; kind++) {
    }
    if (kind == 8) fail(2, "unknown measurement; %s", usage);
    if (kind == 6 && (size & (size - 1)) != 0) fail(2, "bad --size %zu for card-mark: expected a power of two", size);

    if (sibling) start_sibling();
    range = map_populated();
    check_huge_pages();
    int pagemap = -1;
    if (kind == 1 || kind == 3 || kind == 7) choose_dirty_pages();
    switch (kind) {
    case 0:
        first_write_setup();
        break;
    case 1:
        register_range(FEATURE_WP_ASYNC);
        write_protect(range, size, UFFDIO_WRITEPROTECT_MODE_WP);
        pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
        if (pagemap < 0) fail(3, "/proc/self/pagemap: %s", strerror(errno));
        found = malloc(pages * sizeof *found);
        if (found == NULL) fail(1, "out of memory");
        break;
    case 2:
        register_range(0);
        break;
    case 3: {
        char *source = range;
        range = copy_target = map_populated();
        range = source;
        break;
    }
    case 5:
        pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
        if (pagemap < 0) fail(3, "/proc/self/pagemap: %s", strerror(errno));
        pagemap_entries = malloc(pages * sizeof *pagemap_entries);
        if (pagemap_entries == NULL) fail(1, "out of memory");
        break;
    case 6:
        cards = calloc(size >> CARD_SHIFT, 1);
        if (cards == NULL) fail(1, "out of memory");
        break;
    case 7:
        reprotect_setup();
        break;
    }

    /* One untimed sample warms the path (page tables, caches, the handler thread), then samples until either limit. */
    int64_t deadline = -1;
    long samples = 0;
    for (long n = -1; n < max_samples; n++) {
        if (n == 0) {
            value_count = 0;
            deadline = now_ns() + (int64_t)(max_seconds * 1e9);
        }
        switch (kind) {
        case 0: first_write_sample(); break;
        case 1: pagemap_scan_sample(pagemap); break;
        case 2: {
            write_protect(range, size, 0);
            int64_t start = now_ns();
            write_protect(range, size, UFFDIO_WRITEPROTECT_MODE_WP);
            record(now_ns() - start);
            break;
        }
        case 3: memcpy_sample(); break;
        case 4: fork_sample(); break;
        case 5: pagemap_read_sample(pagemap); break;
        case 6: card_mark_sample(); break;
        case 7: reprotect_sample(); break;
        }
        if (n >= 0) samples++;
        if (n >= 0 && now_ns() > deadline) break;
    }
    /* Still huge after the samples: what was measured is what was asked. Not reprotect's: its unprotect of each dirty page
       splits that page's PMD, as a tracked write does (after the first cut of the cut benchmark's THP arena, the same). */
    if (thp && kind != 0 && kind != 7) check_huge_pages();

    qsort(values, value_count, sizeof *values, compare_i64);
    printf("{\"measurement\": \"%s\", \"params\": {\"size\": \"%zu\", \"dirtyPercent\": \"%g\", \"backend\": \"%s\","
           " \"thp\": \"%s\", \"timed\": \"%s\", \"sibling\": \"%s\"}, \"unit\": \"ns\", \"samples\": %ld, \"values\": %zu,"
           " \"median\": %.3f, \"min\": %.3f, \"max\": %.3f, \"pageDigest\": \"%016llx\"}\n",
           measurement, size, dirty_percent, kind == 0 || kind == 7 ? backend : "", thp ? "true" : "false", timed ? "true" : "false", busy_sibling ? "busy" : sibling ? "true" : "false",
           samples, value_count, values[value_count / 2] / ops_per_value, values[0] / ops_per_value,
           values[value_count - 1] / ops_per_value, (kind == 1 || kind == 3 || kind == 7) ? (unsigned long long)page_digest : 0ULL);
    return 0;
}

package io.pagemark.backend;

import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.MessageHandler;
import org.agrona.concurrent.ringbuffer.ManyToOneRingBuffer;
import org.agrona.concurrent.ringbuffer.RecordDescriptor;
import org.agrona.concurrent.ringbuffer.RingBuffer;
import org.agrona.concurrent.ringbuffer.RingBufferDescriptor;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The C producer (ring.c) against Agrona's own consumer: the layout, wrap-around with padding
 * records, records of every size the producers emit (1 to 64 entries), concurrent producers on C
 * threads, and the full ring (producers wait while the consumer drains, spill when it does not).
 */
class FaultRingInteropTest {
    private static final int MAX_ENTRIES = FaultRing.MAX_ENTRIES_PER_RECORD;

    @Test
    void agronaLayoutIsTheOneTheCProducerHardCodes() {
        // ring.h: RING_TRAILER_LENGTH, RING_TAIL_OFFSET, RING_HEAD_CACHE_OFFSET, RING_HEAD_OFFSET, RING_RECORD_HEADER, RING_PADDING_TYPE.
        assertEquals(768, RingBufferDescriptor.TRAILER_LENGTH);
        assertEquals(128, RingBufferDescriptor.TAIL_POSITION_OFFSET);
        assertEquals(256, RingBufferDescriptor.HEAD_CACHE_POSITION_OFFSET);
        assertEquals(384, RingBufferDescriptor.HEAD_POSITION_OFFSET);
        assertEquals(8, RecordDescriptor.HEADER_LENGTH);
        assertEquals(8, RecordDescriptor.ALIGNMENT);
        assertEquals(-1, RingBuffer.PADDING_MSG_TYPE_ID);
        // The largest record's body must fit Agrona's maxMsgLength in the smallest ring.
        try (FaultRing ring = new FaultRing(1, FaultRing.MIN_CAPACITY)) {
            assertEquals(MAX_ENTRIES * Long.BYTES, ring.ring().maxMsgLength());
        }
    }

    /** Records of 1..64 entries, one at a time on this thread, drained after each: the tail wraps many times through padding. */
    @Test
    void everyRecordSizeSurvivesWrapAroundWithPadding() {
        int rounds = 20;
        long pages = rounds * TestNatives.pagesPerProducer(MAX_ENTRIES, MAX_ENTRIES);
        try (FaultRing ring = new FaultRing(pages, FaultRing.MIN_CAPACITY)) {
            RecordChecker checker = new RecordChecker(pages, 1, pages);
            long next = 0;
            for (int round = 0; round < rounds; round++) {
                for (int n = 1; n <= MAX_ENTRIES; n++) {
                    long[] entries = new long[n];
                    for (int i = 0; i < n; i++) entries[i] = (next++) << FaultRing.ENTRY_LOG2_BITS;
                    assertEquals(0, TestNatives.record(ring, pages, entries), "a ring drained after every record never spills");
                    assertEquals(1, ring.ring().read(checker) + ring.ring().read(checker), "one record per append");
                }
            }
            checker.assertEveryPageOnce(new BitSet());
            for (int n = 1; n <= MAX_ENTRIES; n++) assertTrue(checker.sizesSeen.get(n), "a record of " + n + " entries was read");
            long padding = ring.ring().consumerPosition() - checker.recordBytes;
            assertTrue(ring.ring().consumerPosition() > 20L * ring.capacity(), "the ring wrapped many times");
            assertTrue(padding > 0, "padding records were written at the wraps and skipped by Agrona's read");
        }
    }

    @Test
    void concurrentProducersOnCThreads() throws InterruptedException {
        int threads = 4, records = 3000;
        long perProducer = TestNatives.pagesPerProducer(records, MAX_ENTRIES);
        long pages = threads * perProducer;
        try (FaultRing ring = new FaultRing(pages, 64 * 1024)) {
            RecordChecker checker = new RecordChecker(pages, threads, perProducer);
            MemorySegment producers = TestNatives.startProducers(ring, threads, records, MAX_ENTRIES);
            TestNatives.ProducerCounters counters = consumeUntilJoined(ring.ring(), producers, checker);
            BitSet spilled = spilledPages(ring);
            assertEquals(counters.spilledEntries() > 0, !spilled.isEmpty());
            checker.assertEveryPageOnce(spilled);
        }
    }

    /** No consumer at all while producers run: they may not wait for ever, so they spill; nothing is lost. */
    @Test
    void fullRingWithoutConsumerSpillsAndLosesNothing() {
        int threads = 2, records = 400, maxEntries = 8;
        long pages = threads * TestNatives.pagesPerProducer(records, maxEntries);
        try (FaultRing ring = new FaultRing(pages, FaultRing.MIN_CAPACITY)) {
            TestNatives.ProducerCounters counters = TestNatives.joinProducers(TestNatives.startProducers(ring, threads, records, maxEntries));
            assertTrue(counters.fullRingWaits() > 0, "producers found the ring full");
            assertTrue(counters.spilledEntries() > 0, "with no consumer progress they spilled");
            PageSet drained = new PageSet(0, 4096, pages);
            long entries = ring.drainInto(drained, counters.spilledEntries());
            assertEquals(pages, entries, "every entry drained from the ring or counted as spilled");
            assertAllPages(drained, pages);
        }
    }

    /**
     * A small ring with a consumer draining it: a producer that finds it full waits while the consumer
     * makes progress, and gets its record into the ring after all (single-entry records, so that a
     * spilled entry is a spilled record: full-ring waits beyond the spills are waits that succeeded).
     * The producers spill once the consumer has not moved for 200 µs, which on a busy 2-CPU machine
     * can happen for a whole run (the consumer descheduled while both producers spin): up to 5 runs,
     * and at least one must show waits that got in. A ring that never lets a waiting producer in fails all 5.
     */
    @Test
    void fullRingMakesProducersWaitWhileTheConsumerDrains() throws InterruptedException {
        List<String> runs = new ArrayList<>();
        for (int run = 0; run < 5; run++) {
            String outcome = producersAgainstADrainingConsumer();
            if (outcome == null) return;
            runs.add(outcome);
        }
        fail("in 5 runs no producer that found the ring full got in by waiting: " + runs);
    }

    /** Null when some producers waited and got in, else the counters. Every entry must arrive either way. */
    private static String producersAgainstADrainingConsumer() throws InterruptedException {
        int threads = 2, records = 50_000;
        long pages = threads * TestNatives.pagesPerProducer(records, 1);
        try (FaultRing ring = new FaultRing(pages, FaultRing.MIN_CAPACITY)) {
            PageSet drained = new PageSet(0, 4096, pages);
            AtomicBoolean producing = new AtomicBoolean(true);
            AtomicLong viaRing = new AtomicLong();
            Thread consumer = Thread.ofPlatform().start(() -> {
                while (producing.get()) viaRing.addAndGet(ring.drainInto(drained, 0));
            });
            // Warm the consumer up on real records first: a cold one (interpreted, deoptimizing) can be milliseconds late,
            // and producers finish by spilling long before. The warm-up pages are written again by the producers.
            long warmUpViaRing = 0;
            for (long page = 0; page < 20_000; page++) {
                warmUpViaRing += 1 - TestNatives.record(ring, pages, page << FaultRing.ENTRY_LOG2_BITS); // 0 or 1 spilled
            }
            long deadline = System.nanoTime() + 30_000_000_000L;
            while (viaRing.get() < warmUpViaRing) {
                assertTrue(System.nanoTime() < deadline, "the consumer drained " + viaRing + " of " + warmUpViaRing + " warm-up records in 30 s");
                Thread.onSpinWait();
            }
            viaRing.addAndGet(-warmUpViaRing);
            TestNatives.ProducerCounters counters;
            try {
                counters = TestNatives.joinProducers(TestNatives.startProducers(ring, threads, records, 1));
            } finally {
                producing.set(false);
                consumer.join();
            }
            viaRing.addAndGet(ring.drainInto(drained, counters.spilledEntries()) - counters.spilledEntries());
            assertEquals(pages, viaRing.get() + counters.spilledEntries(), "every entry came through the ring or the spill bitmap");
            assertAllPages(drained, pages);
            return counters.fullRingWaits() > counters.spilledEntries() ? null : counters + ", " + viaRing + " via the ring";
        }
    }

    private static TestNatives.ProducerCounters consumeUntilJoined(ManyToOneRingBuffer ring, MemorySegment producers,
                                                                 MessageHandler handler) throws InterruptedException {
        AtomicReference<TestNatives.ProducerCounters> joined = new AtomicReference<>();
        Thread joiner = Thread.ofPlatform().start(() -> joined.set(TestNatives.joinProducers(producers)));
        try {
            while (joiner.isAlive()) ring.read(handler);
        } finally {
            joiner.join(); // producers finish on their own (they spill when nobody drains): the ring must outlive them
        }
        while (ring.consumerPosition() < ring.producerPosition()) ring.read(handler);
        return joined.get();
    }

    private static BitSet spilledPages(FaultRing ring) {
        BitSet spilled = new BitSet();
        MemorySegment bits = ring.spillBitmap();
        for (long w = 0; w < bits.byteSize() / Long.BYTES; w++) {
            long word = bits.getAtIndex(ValueLayout.JAVA_LONG, w);
            for (int b = 0; b < 64; b++) if ((word & (1L << b)) != 0) spilled.set((int) (w * 64 + b));
        }
        return spilled;
    }

    private static void assertAllPages(PageSet set, long pages) {
        for (long p = 0; p < pages; p++) assertTrue(set.contains(p), "page " + p + " was reported");
    }

    /** Checks each record Agrona hands over: type, size, consecutive pages, each producer's order, no page twice. */
    private static final class RecordChecker implements MessageHandler {
        final int[] seen;
        final long[] nextPageOfProducer;
        final long pagesPerProducer;
        final BitSet sizesSeen = new BitSet();
        long recordBytes;

        RecordChecker(long pages, int producers, long pagesPerProducer) {
            this.seen = new int[(int) pages];
            this.nextPageOfProducer = new long[producers];
            this.pagesPerProducer = pagesPerProducer;
        }

        @Override
        public void onMessage(int type, MutableDirectBuffer buffer, int index, int length) {
            assertEquals(FaultRing.RECORD_TYPE, type);
            assertEquals(0, length % Long.BYTES);
            int n = length / Long.BYTES;
            assertTrue(n >= 1 && n <= MAX_ENTRIES, "entries per record: " + n);
            sizesSeen.set(n);
            recordBytes += RecordDescriptor.HEADER_LENGTH + length;
            long first = buffer.getLong(index, ByteOrder.LITTLE_ENDIAN) >>> FaultRing.ENTRY_LOG2_BITS;
            int producer = (int) (first / pagesPerProducer);
            assertTrue(first >= nextPageOfProducer[producer], "producer " + producer + "'s records arrive in order");
            for (int i = 0; i < n; i++) {
                long entry = buffer.getLong(index + i * Long.BYTES, ByteOrder.LITTLE_ENDIAN);
                assertEquals(0, entry & ((1 << FaultRing.ENTRY_LOG2_BITS) - 1), "single-page entries");
                assertEquals(first + i, entry >>> FaultRing.ENTRY_LOG2_BITS, "a record's pages are consecutive");
                seen[(int) (first + i)]++;
            }
            nextPageOfProducer[producer] = first + n;
        }

        void assertEveryPageOnce(BitSet spilled) {
            for (int p = 0; p < seen.length; p++) {
                int times = seen[p] + (spilled.get(p) ? 1 : 0);
                assertEquals(1, times, "page " + p + " delivered exactly once (ring " + seen[p] + ", spilled " + spilled.get(p) + ")");
            }
        }
    }
}

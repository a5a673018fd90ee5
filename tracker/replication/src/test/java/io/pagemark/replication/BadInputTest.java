package io.pagemark.replication;

import io.aeron.ExclusivePublication;
import io.aeron.Subscription;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * A hand-driven primary sends the replica bad records: each is rejected with one clear reason, the
 * replica keeps its last good epoch (its readers see it unchanged), and a good epoch afterwards applies.
 */
class BadInputTest {
    private static final int STREAM = 3001, PAGES = 8, PAGE = 4096;
    private static final long IDENTITY = 0x5eed_0001L;

    private AeronTransport transport;
    private Replica replica;
    private ExclusivePublication data;
    private Subscription control;
    /** The primary's arena as the replica should hold it after the last good epoch. */
    private final byte[][] good = new byte[PAGES][PAGE];
    private Records.PageDigests digests = Records.PageDigests.zero(PAGES, PAGE);
    private long joinId, joinEpoch;

    @BeforeEach
    void start() throws Exception {
        transport = AeronTransport.embedded();
        data = transport.aeron().addExclusivePublication("aeron:ipc", STREAM);
        control = transport.aeron().addSubscription("aeron:ipc", STREAM + 1);
        replica = Replica.builder().transport(transport).channel("aeron:ipc").controlChannel("aeron:ipc").streamId(STREAM).start();
        awaitJoin(Records.NO_EPOCH);
        byte[][] pages = randomPages(PAGES, 1);
        Epoch full = new Epoch(1, Records.NO_EPOCH, joinId);
        for (int p = 0; p < PAGES; p++) full.page(p, pages[p]);
        full.end();
        assertTrue(replica.awaitEpoch(1, Duration.ofSeconds(10)), () -> "the first epoch was not applied: " + replica.lastRejection());
        for (int p = 0; p < PAGES; p++) good[p] = pages[p];
        digests = full.digests;
        assertReplicaHoldsGood();
    }

    @AfterEach
    void stop() {
        replica.close();
        data.close();
        control.close();
        transport.close();
    }

    @Test
    void aCorruptedPageIsRejected() throws Exception {
        Epoch e = new Epoch(2, 1, 0);
        e.page(3, page(9));
        e.corruptNextPage = true;
        e.page(4, page(10));
        e.end();
        expectRejection("page 4 fails its check");
        recoversWithAGoodEpoch(2);
    }

    @Test
    void aTruncatedEpochIsRejected() throws Exception {
        Epoch e = new Epoch(2, 1, 0);
        e.page(1, page(11));
        new Epoch(3, 2, 0);   // starts before epoch 2 ended
        expectRejection("truncated: epoch 3 started before epoch 2 ended");
        recoversWithAGoodEpoch(2);
    }

    @Test
    void aRecordOfAnotherEpochIsRejected() throws Exception {
        Epoch e = new Epoch(2, 1, 0);
        e.page(1, page(12));
        e.epoch = 5;   // the next record claims another epoch: wrong order
        e.page(2, page(13));
        expectRejection("epoch 5 inside epoch 2");
        recoversWithAGoodEpoch(2);
    }

    @Test
    void anEpochWhoseEndDoesNotMatchItsRecordsIsRejected() throws Exception {
        Epoch e = new Epoch(2, 1, 0);
        e.page(1, page(14));
        e.page(2, page(15));
        e.records--;   // as if a record were lost
        e.end();
        expectRejection("its end says 1 page records, 2 arrived");
        recoversWithAGoodEpoch(2);
    }

    @Test
    void anEpochLeadingToAnotherArenaIsRejected() throws Exception {
        Epoch e = new Epoch(2, 1, 0);
        e.page(1, page(16));
        e.digests.set(6, 1234);   // the primary's arena digest says page 6 changed too
        e.end();
        expectRejection("would not be the primary's");
        recoversWithAGoodEpoch(2);
    }

    @Test
    void foreignMessagesAndAnotherSessionAreRejectedWithoutDisturbingTheEpoch() throws Exception {
        UnsafeBuffer garbage = new UnsafeBuffer(ByteBuffer.allocateDirect(100));
        garbage.setMemory(0, 100, (byte) 0x41);
        offer(data, garbage, 100);
        expectRejection("without the replication magic number");
        Epoch e = new Epoch(2, 1, 0);
        e.page(1, page(17));
        try (ExclusivePublication intruder = transport.aeron().addExclusivePublication("aeron:ipc", STREAM)) {
            UnsafeBuffer record = new UnsafeBuffer(ByteBuffer.allocateDirect(Records.pageRecordBytes(PAGE)));
            Records.putHeader(record, 0, Records.PAGE, IDENTITY, 2);
            record.putLong(Records.PAGE_INDEX_AT, 2, Records.ORDER);
            awaitConnected(intruder);
            offer(intruder, record, Records.pageRecordBytes(PAGE));
            expectRejection("while epoch 2 arrives on session " + data.sessionId());
        }
        e.page(2, page(18));
        e.end();
        assertTrue(replica.awaitEpoch(2, Duration.ofSeconds(10)), () -> "epoch 2 was not applied: " + replica.lastRejection());
        good[1] = page(17);
        good[2] = page(18);
        assertReplicaHoldsGood();
    }

    // ---- the hand-driven primary ----

    private final class Epoch {
        long epoch;
        long records;
        long recordsDigest = Records.RECORDS_DIGEST_SEED;
        final Records.PageDigests digests = BadInputTest.this.digests.copy();
        boolean corruptNextPage;

        Epoch(long epoch, long base, long answersJoin) {
            this.epoch = epoch;
            UnsafeBuffer b = new UnsafeBuffer(ByteBuffer.allocateDirect(Records.EPOCH_START_BYTES));
            Records.putHeader(b, 0, Records.EPOCH_START, IDENTITY, epoch);
            b.putLong(Records.BASE_AT, base, Records.ORDER);
            b.putLong(Records.JOIN_ID_AT, answersJoin, Records.ORDER);
            b.putLong(Records.ARENA_BYTES_AT, (long) PAGES * PAGE, Records.ORDER);
            b.putInt(Records.PAGE_SIZE_AT, PAGE, Records.ORDER);
            offer(data, b, Records.EPOCH_START_BYTES);
        }

        void page(int page, byte[] contents) {
            UnsafeBuffer b = new UnsafeBuffer(ByteBuffer.allocateDirect(Records.pageRecordBytes(PAGE)));
            Records.putHeader(b, 0, Records.PAGE, IDENTITY, epoch);
            b.putLong(Records.PAGE_INDEX_AT, page, Records.ORDER);
            b.putBytes(Records.CONTENTS_AT, contents);
            int crc = Records.crc(java.lang.foreign.MemorySegment.ofArray(contents));
            b.putLong(Records.CHECK_AT, Records.check(IDENTITY, epoch, page, crc), Records.ORDER);
            if (corruptNextPage) {
                b.putByte(Records.CONTENTS_AT + 100, (byte) ~b.getByte(Records.CONTENTS_AT + 100));
                corruptNextPage = false;
            }
            offer(data, b, Records.pageRecordBytes(PAGE));
            records++;
            recordsDigest = Records.foldRecord(recordsDigest, page, crc);
            digests.set(page, crc);
        }

        void end() {
            UnsafeBuffer b = new UnsafeBuffer(ByteBuffer.allocateDirect(Records.EPOCH_END_BYTES));
            Records.putHeader(b, 0, Records.EPOCH_END, IDENTITY, epoch);
            b.putLong(Records.RECORDS_AT, records, Records.ORDER);
            b.putLong(Records.RECORDS_DIGEST_AT, recordsDigest, Records.ORDER);
            b.putLong(Records.STATE_DIGEST_AT, digests.state(), Records.ORDER);
            b.putLong(Records.CUT_TIME_AT, WallClock.nanos(), Records.ORDER);
            offer(data, b, Records.EPOCH_END_BYTES);
        }
    }

    private void recoversWithAGoodEpoch(long epoch) throws Exception {
        awaitJoin(1);
        Epoch e = new Epoch(epoch, 1, joinId);
        e.page(5, page(99));
        e.end();
        assertTrue(replica.awaitEpoch(epoch, Duration.ofSeconds(10)), () -> "the good epoch was not applied: " + replica.lastRejection());
        good[5] = page(99);
        digests = e.digests;
        assertReplicaHoldsGood();
    }

    private void expectRejection(String reason) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (replica.lastRejection().filter(r -> r.contains(reason)).isEmpty()) {
            if (System.nanoTime() > deadline) fail("no rejection saying '" + reason + "'; the last: " + replica.lastRejection());
            Thread.sleep(1);
        }
        assertEquals(1, replica.epoch(), "the replica must keep its last good epoch");
        assertTrue(replica.lastRejection().orElseThrow().endsWith("kept epoch 1"), replica.lastRejection().orElseThrow());
        assertReplicaHoldsGood();
    }

    private void assertReplicaHoldsGood() {
        byte[] state = replica.read((s, epoch) -> s.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
        for (int p = 0; p < PAGES; p++) {
            assertArrayEquals(good[p], Arrays.copyOfRange(state, p * PAGE, (p + 1) * PAGE), "page " + p);
        }
    }

    /** Waits for a join from the replica saying it holds {@code epoch}; remembers its id. */
    private void awaitJoin(long epoch) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        joinId = 0;
        while (joinId == 0 || joinEpoch != epoch) {
            if (System.nanoTime() > deadline) fail("no join from the replica holding epoch " + epoch);
            control.poll((buffer, offset, length, header) -> {
                if (Records.type(buffer, offset, length) == Records.JOIN) {
                    joinId = buffer.getLong(offset + Records.JOIN_JOIN_ID_AT, Records.ORDER);
                    joinEpoch = Records.epoch(buffer, offset);
                }
            }, 10);
            Thread.sleep(1);
        }
        awaitConnected(data);
    }

    private static void awaitConnected(ExclusivePublication p) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!p.isConnected()) {
            if (System.nanoTime() > deadline) fail("the publication never connected");
            Thread.sleep(1);
        }
    }

    private static void offer(ExclusivePublication p, UnsafeBuffer b, int length) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (p.offer(b, 0, length) < 0) {
            if (System.nanoTime() > deadline) fail("could not offer a record");
            Thread.onSpinWait();
        }
    }

    private static byte[] page(int seed) {
        return randomPages(1, seed)[0];
    }

    private static byte[][] randomPages(int n, long seed) {
        java.util.SplittableRandom r = new java.util.SplittableRandom(seed);
        byte[][] pages = new byte[n][PAGE];
        for (byte[] p : pages) for (int i = 0; i < PAGE; i++) p[i] = (byte) r.nextInt();
        return pages;
    }
}

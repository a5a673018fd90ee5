package io.pagemark.replication;

import io.aeron.ChannelUri;
import io.aeron.ExclusivePublication;
import io.aeron.Subscription;
import org.agrona.concurrent.IdleStrategy;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link AeronTransport#udpChannel}: its socket buffer is twice its receiver window, and a final
 * round's worth of page records over loopback arrives without a single NAK while the receiving
 * driver stalls again and again; the same stalls with a buffer under the window lose datagrams.
 */
class UdpChannelTest {
    /** A final round's size: 4096 page records, about 17 MB. */
    private static final long STREAM_BYTES = 4096L * Records.pageRecordBytes(4096);
    /** The receiving driver stalls for STALL_MILLIS after every STALL_EVERY_BYTES published. */
    private static final int STALL_EVERY_BYTES = 1 << 20, STALL_MILLIS = 30;

    @Test
    void theSocketBufferIsTwiceTheReceiverWindow() {
        ChannelUri uri = ChannelUri.parse(AeronTransport.udpChannel("127.0.0.1:40999"));
        int window = AeronTransport.udpReceiverWindow(AeronTransport.rmemMax());
        assertEquals("127.0.0.1:40999", uri.get("endpoint"));
        assertEquals(String.valueOf(window), uri.get("rcv-wnd"));
        assertEquals(String.valueOf(2 * window), uri.get("so-rcvbuf"));
        assertEquals("8192", uri.get("mtu"));
        assertEquals("16m", uri.get("term-length"));
        System.out.println("net.core.rmem_max = " + AeronTransport.rmemMax() + ": receiver window " + window + " bytes"
                + (window < AeronTransport.UDP_RECEIVER_WINDOW ? " (under the full " + AeronTransport.UDP_RECEIVER_WINDOW
                + ": raise net.core.rmem_max to " + 2 * AeronTransport.UDP_RECEIVER_WINDOW + ")" : ""));
    }

    @Test
    void theWindowFollowsRmemMax() {
        assertEquals(2 << 20, AeronTransport.udpReceiverWindow(4 << 20));
        assertEquals(2 << 20, AeronTransport.udpReceiverWindow(64 << 20));
        assertEquals(2 << 20, AeronTransport.udpReceiverWindow(0));              // unknown: ask for the full window
        assertEquals(106_496, AeronTransport.udpReceiverWindow(212_992));        // a common default: half, in whole MTUs
        assertEquals(8192, AeronTransport.udpReceiverWindow(4096));              // never under one MTU
    }

    @Test
    void aFinalRoundCrossesLoopbackWithoutLossWhileTheReceiverStalls() throws Exception {
        String channel = AeronTransport.udpChannel("127.0.0.1:" + ReplicationStreamTest.freePort());
        AeronTransport.LossCounters lost = stream(channel, Records.pageRecordBytes(4096));
        assertEquals(new AeronTransport.LossCounters(0, 0, 0, 0), lost, channel);
    }

    @Test
    void aSocketBufferTheSizeOfTheWindowLosesDatagramsUnderTheSameStalls() throws Exception {
        // The earlier channels' rule, so-rcvbuf = rcv-wnd (the least Aeron accepts). With page records it sits at the edge
        // (the kernel doubles SO_RCVBUF and charges a 4 KiB record's datagram about twice its bytes: a window's worth just
        // about fits, and it lost datagrams now and then); with 1 KiB records, one a datagram, charged about 2.5 times
        // their bytes, every stall overflows it.
        int window = AeronTransport.udpReceiverWindow(AeronTransport.rmemMax());
        String channel = AeronTransport.udpChannel("127.0.0.1:" + ReplicationStreamTest.freePort())
                .replace("mtu=8192", "mtu=1056").replace("so-rcvbuf=" + 2 * window, "so-rcvbuf=" + window);
        AeronTransport.LossCounters lost = stream(channel, 1024);
        assertTrue(lost.naksReceived() > 0 && lost.retransmitsSent() > 0, channel + ": " + lost);
    }

    /** Streams STREAM_BYTES in records of {@code recordBytes} on {@code channel}, the receiving driver stalling; returns the losses. */
    private static AeronTransport.LossCounters stream(String channel, int recordBytes) throws Exception {
        long records = STREAM_BYTES / recordBytes, stallEvery = STALL_EVERY_BYTES / recordBytes;
        StallingIdle stalls = new StallingIdle();
        try (AeronTransport sender = AeronTransport.embedded();
             AeronTransport receiver = AeronTransport.embedded(context -> context.sharedIdleStrategy(stalls));
             Subscription subscription = receiver.aeron().addSubscription(channel, 3301);
             ExclusivePublication publication = sender.aeron().addExclusivePublication(channel, 3301)) {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (!publication.isConnected() || !subscription.isConnected()) {
                assertTrue(System.nanoTime() < deadline, "the UDP stream did not connect");
                LockSupport.parkNanos(1_000_000);
            }
            AeronTransport.LossCounters sentBefore = sender.lossCounters(), receivedBefore = receiver.lossCounters();
            AtomicLong next = new AtomicLong();
            AtomicBoolean outOfOrder = new AtomicBoolean();
            Thread reader = Thread.ofPlatform().start(() -> {
                while (next.get() < records && !Thread.currentThread().isInterrupted()) {
                    int work = subscription.poll((buffer, at, length, header) -> {
                        if (buffer.getLong(at) != next.getAndIncrement() || length != recordBytes) outOfOrder.set(true);
                    }, 64);
                    if (work == 0) Thread.onSpinWait();
                }
            });
            UnsafeBuffer record = new UnsafeBuffer(ByteBuffer.allocateDirect(recordBytes));
            for (long i = 0; i < records; i++) {
                record.putLong(0, i);
                while (publication.offer(record, 0, recordBytes) < 0) {
                    assertTrue(System.nanoTime() < deadline + TimeUnit.SECONDS.toNanos(20), "the stream stopped at record " + i);
                    Thread.onSpinWait();
                }
                if ((i + 1) % stallEvery == 0) stalls.stallFor(STALL_MILLIS);
            }
            reader.join(TimeUnit.SECONDS.toMillis(30));
            reader.interrupt();
            assertEquals(records, next.get(), "records received");
            assertTrue(!outOfOrder.get(), "a record arrived out of order or cut");
            AeronTransport.LossCounters s = sender.lossCounters().since(sentBefore), r = receiver.lossCounters().since(receivedBefore);
            return new AeronTransport.LossCounters(r.naksSent(), s.naksReceived(), s.retransmitsSent(), r.lossGapFills());
        }
    }

    /** The receiving driver's idle strategy: on request its (single, shared) thread sleeps, leaving datagrams to pile up in the socket. */
    private static final class StallingIdle implements IdleStrategy {
        private volatile long stallUntil;

        void stallFor(int millis) {
            stallUntil = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        }

        @Override
        public void idle(int workCount) {
            long wait = stallUntil - System.nanoTime();
            if (wait > 0) LockSupport.parkNanos(wait);
            else if (workCount == 0) LockSupport.parkNanos(1_000);
        }

        @Override
        public void idle() {
            idle(0);
        }

        @Override
        public void reset() {}
    }
}

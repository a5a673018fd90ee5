package io.pagemark.replication;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.DatagramSocket;
import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Byte-exact replicas over many epochs, on IPC and UDP loopback, from a synthetic source. */
class ReplicationStreamTest {

    @Test
    void ipcReplicaIsByteExactOverAThousandEpochs() throws Exception {
        try (AeronTransport transport = AeronTransport.embedded()) {
            replicate(transport, transport, "aeron:ipc?term-length=4m", "aeron:ipc?term-length=64k", 1000);
        }
    }

    @Test
    void udpReplicaIsByteExactOverAThousandEpochs() throws Exception {
        int data = freePort(), control = freePort();
        try (AeronTransport primary = AeronTransport.embedded(); AeronTransport replica = AeronTransport.embedded()) {
            replicate(primary, replica, "aeron:udp?endpoint=127.0.0.1:" + data + "|term-length=4m",
                    "aeron:udp?endpoint=127.0.0.1:" + control + "|term-length=64k", 1000);
        }
    }

    static void replicate(AeronTransport primarySide, AeronTransport replicaSide, String channel, String controlChannel, long epochs)
            throws Exception {
        SyntheticEpochs source = new SyntheticEpochs(256, 16, 42);
        try (Replicator replicator = Replicator.builder().source(source).transport(primarySide).channel(channel)
                .controlChannel(controlChannel).streamId(2001).epochInterval(Duration.ZERO).start();
             Replica replica = Replica.builder().transport(replicaSide).channel(channel).controlChannel(controlChannel)
                     .streamId(2001).start()) {
            assertTrue(replica.awaitEpoch(epochs, Duration.ofSeconds(60)), () -> "replica at epoch " + replica.epoch()
                    + ", replicator " + replicator.stats() + ", " + replica.lastRejection());
            source.freeze();
            long last = replicator.epoch() + 1;
            assertTrue(replica.awaitEpoch(last, Duration.ofSeconds(10)));
            long mismatch = replica.read((state, epoch) -> state.mismatch(source.image()));
            assertEquals(-1, mismatch, "the replica differs from the primary at byte " + mismatch);
            assertEquals(0, replica.stats().rejected(), () -> replica.lastRejection().orElse(""));
        }
    }

    static int freePort() throws IOException {
        try (DatagramSocket s = new DatagramSocket(0, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }
}

package io.pagemark.replication;

import io.aeron.driver.ext.DebugReceiveChannelEndpoint;
import io.aeron.driver.ext.LossGenerator;
import io.aeron.driver.ext.RandomLossGenerator;
import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Loss on the replica's side: Aeron's debug receive endpoint drops 5% of the data frames that reach
 * the replica's driver at random (and 5% of the status messages and NAKs it sends back); Aeron
 * retransmits, and the replica must still be byte-exact after 10^4 epochs, each epoch's arena
 * digest checked before it is applied.
 */
class LossTest {

    @Test
    void tenThousandEpochsWithLossInjectedOnTheReplicasDriver() throws Exception {
        int data = ReplicationStreamTest.freePort(), control = ReplicationStreamTest.freePort();
        AtomicLong dropped = new AtomicLong();
        LossGenerator random = new RandomLossGenerator(0.05, 7);
        LossGenerator counted = (address, buffer, length) -> {
            boolean drop = random.shouldDropFrame(address, buffer, length);
            if (drop) dropped.incrementAndGet();
            return drop;
        };
        try (AeronTransport primary = AeronTransport.embedded();
             AeronTransport replica = AeronTransport.embedded(context -> context.receiveChannelEndpointSupplier(
                     (udpChannel, dispatcher, status, ctx) -> new DebugReceiveChannelEndpoint(udpChannel, dispatcher, status, ctx,
                             counted, new RandomLossGenerator(0.05, 8))))) {
            ReplicationStreamTest.replicate(primary, replica, "aeron:udp?endpoint=127.0.0.1:" + data + "|term-length=4m",
                    "aeron:udp?endpoint=127.0.0.1:" + control + "|term-length=64k", 10_000);
        }
        assertTrue(dropped.get() > 1000, "the loss generator dropped only " + dropped.get() + " frames");
        System.out.println("LossTest: the replica's driver dropped " + dropped.get() + " frames; 0 divergences");
    }
}

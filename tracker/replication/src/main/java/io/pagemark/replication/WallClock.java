package io.pagemark.replication;

import java.time.Instant;

/** Nanoseconds since 1970 (microsecond resolution on Linux): comparable across processes of one host, unlike nanoTime. */
final class WallClock {
    private WallClock() {}

    static long nanos() {
        Instant now = Instant.now();
        return now.getEpochSecond() * 1_000_000_000L + now.getNano();
    }
}

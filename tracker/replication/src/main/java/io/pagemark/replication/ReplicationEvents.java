package io.pagemark.replication;

import jdk.jfr.Category;
import jdk.jfr.DataAmount;
import jdk.jfr.Event;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.Timespan;

/** The JFR events of replication (enabled like any JFR event: {@code -XX:StartFlightRecording}, JMC). */
final class ReplicationEvents {
    private ReplicationEvents() {}

    @Name("io.pagemark.EpochPublished")
    @Label("Epoch Published")
    @Category({"pagemark", "Replication"})
    static final class EpochPublished extends Event {
        @Label("Stream Identity") long identity;
        @Label("Epoch") long epoch;
        @Label("Base Epoch") long baseEpoch;
        @Label("Page Records") long pages;
        @Label("Bytes") @DataAmount long bytes;
        @Label("Back Pressured Offers") long backPressured;
    }

    @Name("io.pagemark.EpochApplied")
    @Label("Epoch Applied")
    @Category({"pagemark", "Replication"})
    static final class EpochApplied extends Event {
        @Label("Stream Identity") long identity;
        @Label("Epoch") long epoch;
        @Label("Pages Applied") long pages;
        @Label("Lag (cut to applied)") @Timespan long lagNanos;
        @Label("Readers Held Off") @Timespan long applyNanos;
    }

    @Name("io.pagemark.EpochRejected")
    @Label("Epoch Rejected")
    @Category({"pagemark", "Replication"})
    static final class EpochRejected extends Event {
        @Label("Epoch") long epoch;
        @Label("Reason") String reason;
    }
}

package io.pagemark.agent.events;

import jdk.jfr.Category;
import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;
import jdk.jfr.Timespan;

/** The write-fault rate over the last report interval (emitted every {@code report-interval}). */
@Name("io.pagemark.FaultRate")
@Label("Pagemark Fault Rate")
@Category("Pagemark")
@Description("Write faults and dirty pages over the last report interval, as collected (uffd-async counts one fault per reported page)")
@StackTrace(false)
final class FaultRateEvent extends jdk.jfr.Event {
    @Label("Interval")
    @Timespan(Timespan.NANOSECONDS)
    long interval;

    @Label("Faults")
    long faults;

    @Label("Faults per Second")
    double faultsPerSecond;

    @Label("Dirty Pages")
    long dirtyPages;

    @Label("Tracked Heaps")
    int trackedHeaps;
}

package io.pagemark.events;

import jdk.jfr.Category;
import jdk.jfr.DataAmount;
import jdk.jfr.Description;
import jdk.jfr.Frequency;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.Period;
import jdk.jfr.StackTrace;
import jdk.jfr.Timespan;

/** Per open arena, every period: the write faults and the pages reported since the previous one. */
@Name("io.pagemark.FaultRate")
@Label("Pagemark Fault Rate")
@Category("Pagemark")
@Description("A tracked arena's write faults and reported pages over the last period (uffd-async, whose faults the kernel"
        + " resolves uncounted, counts one fault per reported page)")
@Period("1 s")
@StackTrace(false)
public final class FaultRateEvent extends jdk.jfr.Event {
    @Label("Arena")
    public String arena;

    @Label("Backend")
    public String backend;

    @Label("Interval")
    @Timespan(Timespan.NANOSECONDS)
    public long interval;

    @Label("Faults")
    public long faults;

    @Label("Fault Rate")
    @Frequency
    public double faultsPerSecond;

    @Label("Pages Reported")
    public long pagesReported;

    @Label("Bytes Reported per Second")
    @DataAmount
    @Frequency
    public double bytesReportedPerSecond;
}

package io.pagemark.events;

import jdk.jfr.Category;
import jdk.jfr.DataAmount;
import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.Period;
import jdk.jfr.StackTrace;

/** When an arena opens, and per open arena at the start and the end of every recording chunk: its backend, what was asked for, and why. */
@Name("io.pagemark.BackendChosen")
@Label("Pagemark Backend")
@Category("Pagemark")
@Description("The backend a tracked arena runs on, what was requested, and why (what auto found)")
@Period("everyChunk")
@StackTrace(false)
public final class BackendEvent extends jdk.jfr.Event {
    @Label("Arena")
    public String arena;

    @Label("Requested")
    public String requested;

    @Label("Backend")
    public String backend;

    @Label("Reason")
    public String reason;

    @Label("Arena Size")
    @DataAmount
    public long arenaBytes;
}

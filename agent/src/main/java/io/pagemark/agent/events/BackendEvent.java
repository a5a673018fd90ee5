package io.pagemark.agent.events;

import jdk.jfr.Category;
import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.Period;
import jdk.jfr.StackTrace;

/** The backend the agent tracks with and why: written at the start of every recording chunk. */
@Name("io.pagemark.Backend")
@Label("Pagemark Backend")
@Category("Pagemark")
@Description("The backend the pagemark agent chose, what was requested, and why")
@Period("beginChunk")
@StackTrace(false)
final class BackendEvent extends jdk.jfr.Event {
    @Label("Requested")
    String requested;

    @Label("Backend")
    String backend;

    @Label("Reason")
    String reason;
}

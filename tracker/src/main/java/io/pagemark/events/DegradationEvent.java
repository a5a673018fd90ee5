package io.pagemark.events;

import jdk.jfr.Category;
import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;

/**
 * A tracked arena took a slower or coarser way: auto fell back from its first choice when the arena
 * opened, or the fault path degraded since the previous collect (the fault ring found full, so
 * writers waited or spilled into the bitmap; mprotect's blocks raised near vm.max_map_count).
 */
@Name("io.pagemark.Degradation")
@Label("Pagemark Degradation")
@Category("Pagemark")
@Description("A tracked arena took a slower or coarser way: auto's fallback at open, or the fault path's since the previous collect")
@StackTrace(false)
public final class DegradationEvent extends jdk.jfr.Event {
    @Label("Arena")
    public String arena;

    @Label("Backend")
    public String backend;

    @Label("What")
    @Description("auto-fallback, or fault-path")
    public String what;

    @Label("Count")
    @Description("fault-path: degradations since the previous collect; auto-fallback: 1")
    public long count;

    @Label("Detail")
    public String detail;
}

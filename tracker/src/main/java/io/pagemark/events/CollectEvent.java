package io.pagemark.events;

import jdk.jfr.Category;
import jdk.jfr.DataAmount;
import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;

/** One {@code TrackedArena.collect()}, with its duration: the pages it reported (and re-armed). */
@Name("io.pagemark.Collect")
@Label("Pagemark Collect")
@Category("Pagemark")
@Description("A tracked arena's collect: the pages written since the previous collect, reported and re-armed")
@StackTrace(false)
public final class CollectEvent extends jdk.jfr.Event {
    @Label("Arena")
    public String arena;

    @Label("Backend")
    public String backend;

    @Label("Dirty Pages")
    public long pages;

    @Label("Dirty Bytes")
    @DataAmount
    public long bytes;

    @Label("Arena Size")
    @DataAmount
    public long arenaBytes;
}

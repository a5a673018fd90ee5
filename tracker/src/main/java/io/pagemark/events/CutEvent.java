package io.pagemark.events;

import jdk.jfr.Category;
import jdk.jfr.DataAmount;
import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;

/** One consistent cut ({@code TrackedArena.copyBeforeWrite()}), from its start to its stop. */
@Name("io.pagemark.Cut")
@Label("Pagemark Cut")
@Category("Pagemark")
@Description("A consistent cut of a tracked arena (copy-before-write), from the arming to the stop: the pages the fault path copied before their first write")
@StackTrace(false)
public final class CutEvent extends jdk.jfr.Event {
    @Label("Arena")
    public String arena;

    @Label("Backend")
    public String backend;

    @Label("Pages")
    public long pages;

    @Label("Pages Copied Before Write")
    @Description("Pages a writer's fault copied into the image before its write went on (the others were copied in the background)")
    public long pagesCopiedBeforeWrite;

    @Label("Arena Size")
    @DataAmount
    public long arenaBytes;
}

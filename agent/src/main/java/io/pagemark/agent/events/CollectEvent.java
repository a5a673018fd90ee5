package io.pagemark.agent.events;

import jdk.jfr.Category;
import jdk.jfr.DataAmount;
import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;

/** One collect of a tracked heap's dirty pages, with its duration (the collect and the card marking). */
@Name("io.pagemark.Collect")
@Label("Pagemark Collect")
@Category("Pagemark")
@Description("The agent collected a tracked heap's dirty pages before a card scan (and marked their cards), or at a card clear dropped them (or re-armed a heap paused since the scan)")
@StackTrace(false)
final class CollectEvent extends jdk.jfr.Event {
    @Label("Backend")
    String backend;

    @Label("Hook")
    @Description("card-scan: the dirty pages' cards were marked; card-clear: the collector cleared its cards, the pages were dropped"
            + " (0 when tracking had paused since the scan and was armed again)")
    String hook;

    @Label("Dirty Pages")
    long pages;

    @Label("Cards Marked")
    long cardsMarked;

    @Label("Heap Size")
    @DataAmount
    long heapBytes;
}

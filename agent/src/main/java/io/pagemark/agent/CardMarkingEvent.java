package io.pagemark.agent;

import jdk.jfr.Category;
import jdk.jfr.DataAmount;
import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;

/**
 * The agent's one event of its own: a card-scan, card-preclean or card-clear hook, with its duration (the collect
 * and the card marking). The collect itself, the backend and the fault rate are the tracker's events
 * ({@code io.pagemark.Collect}, {@code io.pagemark.BackendChosen}, {@code io.pagemark.FaultRate}), which
 * every arena the agent opens commits like any other.
 */
@Name("io.pagemark.agent.CardMarking")
@Label("Pagemark Agent Card Marking")
@Category("Pagemark")
@Description("Before a card scan the agent collected a tracked heap's dirty pages and marked their cards; at a card clear it dropped them (or re-armed a heap paused since the scan)")
@StackTrace(false)
final class CardMarkingEvent extends jdk.jfr.Event {
    @Label("Backend")
    String backend;

    @Label("Hook")
    @Description("card-scan, card-preclean: the dirty pages' cards were marked; card-clear: the collector cleared its cards, the pages were dropped"
            + " (0 when tracking had paused since the scan and was armed again)")
    String hook;

    @Label("Dirty Pages")
    long pages;

    @Label("Cards Marked")
    long cardsMarked;

    @Label("Heap Size")
    @DataAmount
    long heapBytes;

    /** Commits with the hook's outcome (the event was begun when the hook started). */
    void end(String backend, String hook, long pages, long cardsMarked, long heapBytes) {
        if (!shouldCommit()) return;
        this.backend = backend;
        this.hook = hook;
        this.pages = pages;
        this.cardsMarked = cardsMarked;
        this.heapBytes = heapBytes;
        commit();
    }

    static CardMarkingEvent begun() {
        CardMarkingEvent event = new CardMarkingEvent();
        event.begin();
        return event;
    }
}

package io.pagemark.agent;

import io.pagemark.Backend;
import io.pagemark.testruntime.PrecleaningRuntime;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Tracking pauses between a card scan and the next card clear (nothing written then is read);
 * a runtime that scans twice without a clear still gets every write, and no more pauses.
 */
class PauseBetweenCyclesTest {
    private static final String RUNTIME = "io.pagemark.testruntime.PrecleaningRuntime";
    private static final String OPTIONS = "barrier=" + RUNTIME + "#mark,heap=" + RUNTIME + "#reserve,card-scan=" + RUNTIME + "#scan"
            + ",card-clear=" + RUNTIME + "#clear,cards=cards,covers=covered";

    static List<Backend> backends() {
        return AgentRuns.usableBackends();
    }

    /** scan-style=drain: the runtime's scan clears what it reads, so a second scan in a cycle is normal. */
    @ParameterizedTest
    @MethodSource("backends")
    void aDrainingScanGetsWhatWasWrittenSinceThePreviousScanAndNoWarning(Backend backend) throws Exception {
        AgentJvm.Result r = AgentJvm.start(OPTIONS + ",scan-style=drain,backend=" + backend.id(), List.of(), PrecleaningRuntime.class).await(60);
        assertEquals(0, r.exitCode(), r::toString);
        int cardsPerPage = 4096 / 512;
        for (String scan : List.of("scan1", "scan2", "scan3", "scan4")) {
            assertEquals(String.valueOf(cardsPerPage), r.value(scan), "only the page written since the previous scan: " + scan + "; " + r);
        }
        assertEquals(List.of("pagemark agent: card marking of " + RUNTIME + "#mark replaced by " + backend.id() + " (requested)"),
                r.agentLines(), "no warning, no card marked beyond the written page's");
    }

    @ParameterizedTest
    @MethodSource("backends")
    void aSecondScanWithoutAClearGetsEveryCardAndTrackingStopsPausing(Backend backend) throws Exception {
        AgentJvm.Result r = AgentJvm.start(OPTIONS + ",backend=" + backend.id(), List.of(), PrecleaningRuntime.class).await(60);
        assertEquals(0, r.exitCode(), r::toString);
        int cardsPerPage = 4096 / 512, allCards = (1 << 20) / 512;
        assertEquals(String.valueOf(cardsPerPage), r.value("scan1"), r::toString);   // the page written, every card of it
        assertEquals(String.valueOf(allCards), r.value("scan2"), "paused since scan 1: every card, page 5's included; " + r);
        assertEquals(String.valueOf(cardsPerPage), r.value("scan3"), r::toString);
        assertEquals(String.valueOf(cardsPerPage), r.value("scan4"), "no pause any more: only page 9's cards; " + r);
        assertEquals(List.of("pagemark agent: card marking of " + RUNTIME + "#mark replaced by " + backend.id() + " (requested)",
                "pagemark agent: " + RUNTIME + "#scan ran twice without a card clear between: every card marked this once,"
                        + " and tracking no longer pauses between cycles"), r.agentLines());
    }
}

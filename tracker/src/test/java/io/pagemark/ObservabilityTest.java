package io.pagemark;

import io.pagemark.backend.FaultRing;
import io.pagemark.events.BackendEvent;
import io.pagemark.events.CollectEvent;
import io.pagemark.events.CutEvent;
import io.pagemark.events.DegradationEvent;
import io.pagemark.events.FaultRateEvent;
import jdk.jfr.DataAmount;
import jdk.jfr.EventType;
import jdk.jfr.Frequency;
import jdk.jfr.Recording;
import jdk.jfr.Timespan;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.management.MBeanServer;
import javax.management.ObjectName;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * What an embedding program sees with no agent: the arena's MBean, read through the platform MBean
 * server and gone after close, and the library's JFR events, recorded and parsed back with
 * jdk.jfr.consumer.
 */
class ObservabilityTest {
    private static final int PAGE = 4096;
    private static final MBeanServer SERVER = ManagementFactory.getPlatformMBeanServer();

    @TempDir
    Path dir;

    private static Recording pagemarkRecording() {
        Recording recording = new Recording(Map.of(
                "io.pagemark.Collect#enabled", "true", "io.pagemark.Collect#threshold", "0 ms",
                "io.pagemark.Cut#enabled", "true", "io.pagemark.Cut#threshold", "0 ms",
                "io.pagemark.BackendChosen#enabled", "true",
                "io.pagemark.FaultRate#enabled", "true", "io.pagemark.FaultRate#period", "100 ms",
                "io.pagemark.Degradation#enabled", "true"));
        recording.start();
        return recording;
    }

    private List<RecordedEvent> events(Recording recording, String arena) throws Exception {
        Path file = dir.resolve("r" + System.nanoTime() + ".jfr");
        recording.dump(file);
        return RecordingFile.readAllEvents(file).stream()
                .filter(e -> e.getEventType().getName().startsWith("io.pagemark.") && arena.equals(e.getString("arena"))).toList();
    }

    private static List<RecordedEvent> named(List<RecordedEvent> events, String name) {
        return events.stream().filter(e -> e.getEventType().getName().equals(name)).toList();
    }

    @Test
    void theArenasMBeanIsRegisteredUnderItsNameReadableAndGoneAfterClose() throws Exception {
        ObjectName name;
        try (TrackedArena arena = TrackedArena.builder().size(64 * PAGE).name("observed").open()) {
            name = arena.objectName();
            assertEquals(new ObjectName("io.pagemark:type=Arena,name=observed"), name);
            arena.arm();
            arena.putLong(3 * PAGE, 1);
            arena.putLong(9 * PAGE, 1);
            arena.collect();
            assertEquals(arena.backend().id(), SERVER.getAttribute(name, "Backend"));
            assertEquals(arena.backendReason(), SERVER.getAttribute(name, "BackendReason"));
            assertEquals(64L * PAGE, SERVER.getAttribute(name, "Size"));
            assertEquals(1L, SERVER.getAttribute(name, "Collects"));
            assertEquals(2L, SERVER.getAttribute(name, "PagesReported"));
            assertEquals(true, SERVER.getAttribute(name, "Armed"));
            assertEquals(arena.describe(), SERVER.getAttribute(name, "Description"));

            // A second arena of the same name gets a suffix; its MBean is its own.
            try (TrackedArena twin = TrackedArena.builder().size(16 * PAGE).name("observed").open()) {
                assertEquals(new ObjectName("io.pagemark:type=Arena,name=observed-2"), twin.objectName());
                assertEquals(0L, SERVER.getAttribute(twin.objectName(), "Collects"));
            }
        }
        assertFalse(SERVER.isRegistered(name), "close() unregisters the MBean");
        assertTrue(SERVER.queryNames(new ObjectName("io.pagemark:type=Arena,name=observed*"), null).isEmpty());
    }

    @Test
    void aNameThatNeedsQuotingIsQuoted() throws Exception {
        try (TrackedArena arena = TrackedArena.builder().size(PAGE).name("heap, old=1").open()) {
            assertEquals("heap, old=1", SERVER.getAttribute(arena.objectName(), "Name"));
            assertEquals("\"heap, old=1\"", arena.objectName().getKeyProperty("name"));
        }
    }

    @Test
    void collectsBackendAndFaultRateAreRecorded() throws Exception {
        try (Recording recording = pagemarkRecording();
             TrackedArena arena = TrackedArena.builder().size(64 * PAGE).name("recorded").open()) {
            arena.arm();
            for (int round = 0; round < 5; round++) {
                for (int page = 0; page < 8; page++) arena.putLong((long) page * PAGE, round);
                assertEquals(8, arena.collect().pageCount());
                Thread.sleep(60);
            }
            Thread.sleep(250);   // at least one fault-rate period after the last collect
            List<RecordedEvent> events = events(recording, "recorded");
            List<RecordedEvent> collects = named(events, "io.pagemark.Collect");
            assertEquals(5, collects.size(), events::toString);
            for (RecordedEvent c : collects) {
                assertEquals(arena.backend().id(), c.getString("backend"));
                assertEquals(8, c.getLong("pages"));
                assertEquals(8L * PAGE, c.getLong("bytes"));
                assertFalse(c.getDuration().isNegative());
            }
            RecordedEvent backend = named(events, "io.pagemark.BackendChosen").getFirst();
            assertEquals("auto", backend.getString("requested"));
            assertEquals(arena.backend().id(), backend.getString("backend"));
            assertEquals(arena.backendReason(), backend.getString("reason"));
            List<RecordedEvent> rates = named(events, "io.pagemark.FaultRate");
            assertTrue(rates.stream().mapToLong(e -> e.getLong("pagesReported")).sum() == 40, rates::toString);
            assertTrue(rates.stream().anyMatch(e -> e.getDouble("faultsPerSecond") > 0), rates::toString);
        }
    }

    /** monitored(false): the same tracking, no MBean, no event (beside a monitored arena that has both, recorded alike). */
    @Test
    void anUnmonitoredArenaTracksTheSameWithNoMBeanAndNoEvent() throws Exception {
        try (Recording recording = pagemarkRecording();
             TrackedArena quiet = TrackedArena.builder().size(64 * PAGE).name("quiet").monitored(false).open();
             TrackedArena loud = TrackedArena.builder().size(64 * PAGE).name("loud").open()) {
            assertEquals(null, quiet.objectName());
            assertTrue(SERVER.queryNames(new ObjectName("io.pagemark:type=Arena,name=quiet*"), null).isEmpty());
            for (TrackedArena arena : List.of(quiet, loud)) {
                arena.arm();
                for (int round = 0; round < 3; round++) {
                    for (int page = 0; page < 4; page++) arena.putLong((long) page * PAGE, round);
                    assertEquals(4, arena.collect().pageCount());
                }
            }
            Thread.sleep(250);   // a fault-rate period
            assertEquals(List.of(), events(recording, "quiet"));
            assertEquals(3, named(events(recording, "loud"), "io.pagemark.Collect").size(), "the recording records the monitored arena");
            assertEquals(3, quiet.stats().collects());
        }
    }

    @Test
    void aCutIsRecordedFromItsStartToItsStop() throws Exception {
        Backend backend = Backend.with(Backend.Trait.COPY_BEFORE_WRITE).stream()
                .filter(b -> Capabilities.probe().backends().get(b).usable()).findFirst().orElse(null);
        assumeTrue(backend != null, "no copy-before-write backend is usable here");
        try (Recording recording = pagemarkRecording();
             TrackedArena arena = TrackedArena.builder().size(32 * PAGE).backend(backend).name("cut").open()) {
            try (CopyBeforeWrite copy = arena.copyBeforeWrite()) {
                arena.putLong(5 * PAGE, 1);   // copied by the fault path before the write lands
                Thread.sleep(20);
            }
            RecordedEvent cut = named(events(recording, "cut"), "io.pagemark.Cut").getFirst();
            assertEquals(backend.id(), cut.getString("backend"));
            assertEquals(32, cut.getLong("pages"));
            assertTrue(cut.getLong("pagesCopiedBeforeWrite") >= 1, cut::toString);
            assertTrue(cut.getDuration().compareTo(Duration.ofMillis(15)) >= 0, cut::toString);
        }
    }

    @Test
    void aFullRingIsRecordedAsADegradation() throws Exception {
        Backend backend = Backend.with(Backend.Trait.NATIVE_FAULT_PATH).stream()
                .filter(b -> Capabilities.probe().backends().get(b).usable()).findFirst().orElse(null);
        assumeTrue(backend != null, "no backend with a fault ring is usable here");
        int pages = 4096;
        try (Recording recording = pagemarkRecording();
             TrackedArena arena = TrackedArena.builder().size((long) pages * PAGE).backend(backend).ringCapacity(FaultRing.MIN_CAPACITY)
                     .bulkPages(1).name("degraded").open()) {   // a record per page: no adaptive window merging them
            arena.arm();
            for (int page = 0; page < pages; page++) arena.putLong((long) page * PAGE, 1);   // far more records than the ring holds
            assertEquals(pages, arena.collect().pageCount(), "nothing lost: spilled into the bitmap");
            long degradations = (Long) SERVER.getAttribute(arena.objectName(), "Degradations");
            assertTrue(degradations > 0, "the ring was found full");
            RecordedEvent degradation = named(events(recording, "degraded"), "io.pagemark.Degradation").getFirst();
            assertEquals("fault-path", degradation.getString("what"));
            assertEquals(degradations, degradation.getLong("count"));
            assertEquals(arena.describe(), degradation.getString("detail"));
        }
    }

    /** Rates say @Frequency, amounts of memory @DataAmount, durations @Timespan: what JMC and jfr print show as units. */
    @Test
    void theEventsCarryTheirUnits() {
        Map<String, EventType> types = java.util.stream.Stream.of(CollectEvent.class, CutEvent.class, FaultRateEvent.class,
                BackendEvent.class, DegradationEvent.class).map(EventType::getEventType)
                .collect(java.util.stream.Collectors.toMap(EventType::getName, t -> t));
        assertEquals(java.util.Set.of("io.pagemark.Collect", "io.pagemark.Cut", "io.pagemark.FaultRate", "io.pagemark.BackendChosen",
                "io.pagemark.Degradation"), types.keySet());
        assertTrue(types.values().stream().allMatch(t -> t.getCategoryNames().equals(List.of("Pagemark"))));
        EventType rate = types.get("io.pagemark.FaultRate");
        assertNotNull(rate.getField("faultsPerSecond").getAnnotation(Frequency.class));
        assertNotNull(rate.getField("bytesReportedPerSecond").getAnnotation(Frequency.class));
        assertNotNull(rate.getField("bytesReportedPerSecond").getAnnotation(DataAmount.class));
        assertNotNull(rate.getField("interval").getAnnotation(Timespan.class));
        for (String event : List.of("io.pagemark.Collect", "io.pagemark.Cut", "io.pagemark.BackendChosen")) {
            assertNotNull(types.get(event).getField("arenaBytes").getAnnotation(DataAmount.class), event);
        }
        assertNotNull(types.get("io.pagemark.Collect").getField("bytes").getAnnotation(DataAmount.class));
        assertNotEquals(null, types.get("io.pagemark.Collect").getField("duration"), "a duration event");
    }
}

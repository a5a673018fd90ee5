package io.pagemark;

import io.pagemark.testing.BackendsWith;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** What the backend table derives: auto's preference, the traits read off the trackers' types, the option checks. */
class BackendTableTest {
    @Test
    void autoPrefersTheHardwareBackendsThatNeedNothingInTheTablesOrder() {
        assertEquals(List.of(Backend.UFFD_ASYNC, Backend.UFFD_SYNC, Backend.UFFD_SIGBUS, Backend.MPROTECT), Backend.autoPreference());
    }

    @Test
    void traitsReadOffTheTrackersTypes() {
        assertEquals(List.of(Backend.UFFD_SYNC, Backend.UFFD_SIGBUS, Backend.MPROTECT), Backend.with(Backend.Trait.COPY_BEFORE_WRITE));
        assertEquals(List.of(Backend.UFFD_SYNC, Backend.UFFD_SIGBUS, Backend.MPROTECT), Backend.with(Backend.Trait.NATIVE_FAULT_PATH));
        assertEquals("uffd-sync, uffd-sigbus, mprotect", Backend.copyBeforeWriteNames());
        assertTrue(Backend.AUTO.traits().isEmpty());
        assertFalse(Backend.with().contains(Backend.AUTO), "auto is resolved, never in the matrix");
    }

    /** An arena can copy before write exactly where the table says: the trait and the tracker's type agree. */
    @ParameterizedTest
    @BackendsWith
    void copyBeforeWriteWorksWhereTheTableSays(Backend backend) throws Exception {
        Capabilities.Support support = Capabilities.probe().backends().get(backend);
        assumeTrue(support.usable(), () -> backend + " is not usable here: " + support.reason());
        try (TrackedArena arena = TrackedArena.builder().size(1 << 16).backend(backend).writerPause(new WriterGate()).open()) {
            if (backend.canCopyBeforeWrite()) {
                arena.copyBeforeWrite().close();
            } else {
                String message = assertThrows(UnsupportedOperationException.class, arena::copyBeforeWrite).getMessage();
                assertTrue(message.contains(Backend.copyBeforeWriteNames()), message);
            }
        }
    }

    @Test
    void anOptionForAnotherBackendNamesTheBackendsItAppliesTo() {
        assertEquals("uffd-sync", Backend.acceptingNames(Backend.Option.HANDLER_SPIN_MICROS));
        assertEquals("uffd-sync, uffd-sigbus, mprotect", Backend.acceptingNames(Backend.Option.BULK_PAGES));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> TrackedArena.builder().size(4096).backend(Backend.CARD_TABLE).ringCapacity(4096).open());
        assertEquals("ringCapacity(4096) applies only to uffd-sync, uffd-sigbus, mprotect; this arena's backend is card-table",
                e.getMessage());
    }
}

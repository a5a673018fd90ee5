package io.pagemark.samples.kv;

import io.pagemark.Backend;
import io.pagemark.Capabilities;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The README's live-snapshot sample, run for real (in memory and to a checkpoint), and its option errors. */
class KvSnapshotDemoTest {
    @Test
    void everySnapshotHoldsTheStoreAsItWasAtItsStart(@TempDir Path dir) throws Exception {
        Capabilities capabilities = Capabilities.probe();
        assumeTrue(Backend.with(Backend.Trait.COPY_BEFORE_WRITE).stream()
                        .anyMatch(b -> capabilities.backends().get(b).usable()),
                () -> "no backend that can copy before write is usable here: " + capabilities.backends().get(Backend.MPROTECT).reason());
        assertTrue(KvSnapshotDemo.run(KvSnapshotDemo.parse("--snapshots", "2", "--keys", "20000")), "an in-memory snapshot differed");
        assertTrue(KvSnapshotDemo.run(KvSnapshotDemo.parse("--snapshots", "1", "--keys", "20000", "--dir", dir.toString())),
                "a snapshot restored from its checkpoint differed");
    }

    @Test
    void badOptionsNameTheOptionAndWhatIsAccepted() {
        IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class, () -> KvSnapshotDemo.parse("--speed", "3"));
        assertTrue(unknown.getMessage().contains("--speed") && unknown.getMessage().contains("--snapshots N"), unknown.getMessage());
        IllegalArgumentException backend = assertThrows(IllegalArgumentException.class,
                () -> KvSnapshotDemo.parse("--backend", "uffd-async"));
        assertTrue(backend.getMessage().contains("cannot take live snapshots") && backend.getMessage().contains("uffd-sync, uffd-sigbus, mprotect"),
                backend.getMessage());
        IllegalArgumentException keys = assertThrows(IllegalArgumentException.class, () -> KvSnapshotDemo.parse("--keys", "0"));
        assertTrue(keys.getMessage().contains("--keys must be between 1 and"), keys.getMessage());
    }
}

package io.pagemark.samples.kv;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The README's kill-and-restore story, run for real (a writer process killed after one second), and the option errors. */
class KvCheckpointDemoTest {
    @TempDir
    Path dir;

    @Test
    void theWriterIsKilledAndEveryKeyOfTheRestoredStoreChecksOut() throws Exception {
        KvCheckpointDemo.Options options = KvCheckpointDemo.Options.parse(List.of(
                "--seconds", "1", "--interval-ms", "100", "--keys", "20000", "--dir", dir.toString()));
        assertEquals(0, KvCheckpointDemo.demo(options));
        // The writer continues the store it finds; verifying again after a second run still holds.
        assertEquals(0, KvCheckpointDemo.demo(options));
    }

    @Test
    void badOptionsNameTheOptionAndWhatIsAccepted() {
        IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class,
                () -> KvCheckpointDemo.Options.parse(List.of("--speed", "3")));
        assertTrue(unknown.getMessage().contains("--speed") && unknown.getMessage().contains("--seconds S"), unknown.getMessage());
        IllegalArgumentException negative = assertThrows(IllegalArgumentException.class,
                () -> KvCheckpointDemo.Options.parse(List.of("--interval-ms", "-5")));
        assertTrue(negative.getMessage().contains("--interval-ms must be positive"), negative.getMessage());
        IllegalArgumentException backend = assertThrows(IllegalArgumentException.class,
                () -> KvCheckpointDemo.Options.parse(List.of("--backend", "magic")));
        assertTrue(backend.getMessage().contains("uffd-async"), backend.getMessage());
    }
}

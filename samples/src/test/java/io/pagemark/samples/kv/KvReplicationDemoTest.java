package io.pagemark.samples.kv;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** ./pagemark replicate as a user runs it: a primary process killed mid-run, its replica promoted and checked; the option errors. */
class KvReplicationDemoTest {

    @Test
    void thePrimaryIsKilledAndThePromotedReplicaHoldsOneOfItsCutsKeyForKey() throws Exception {
        KvReplicationDemo.Options options = KvReplicationDemo.Options.parse(List.of("--seconds", "1", "--keys", "20000"));
        assertEquals(0, KvReplicationDemo.demo(options));
        assertEquals(List.of(), driverDirectoriesOfDeadProcesses(), "a killed process's Aeron directory was left behind");
    }

    @Test
    void badOptionsNameTheOptionAndWhatIsAccepted() {
        IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class,
                () -> KvReplicationDemo.Options.parse(List.of("--speed", "3")));
        assertTrue(unknown.getMessage().contains("--speed") && unknown.getMessage().contains("usage: pagemark replicate"), unknown.getMessage());
        IllegalArgumentException port = assertThrows(IllegalArgumentException.class,
                () -> KvReplicationDemo.Options.parse(List.of("--data-port", "70000")));
        assertTrue(port.getMessage().contains("--data-port must be a UDP port (1..65535), got 70000"), port.getMessage());
        IllegalArgumentException keys = assertThrows(IllegalArgumentException.class,
                () -> KvReplicationDemo.Options.parse(List.of("--keys", "0")));
        assertTrue(keys.getMessage().contains("--keys must be between 1 and"), keys.getMessage());
    }

    private static List<Path> driverDirectoriesOfDeadProcesses() throws IOException {
        try (Stream<Path> entries = Files.list(Path.of("/dev/shm"))) {
            return entries.filter(p -> p.getFileName().toString().matches("pagemark-aeron-\\d+-[0-9a-f]+"))
                    .filter(p -> ProcessHandle.of(Long.parseLong(p.getFileName().toString().split("-")[2])).isEmpty())
                    .toList();
        }
    }
}

package io.pagemark.samples.kv;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** ./pagemark migrate as a user runs it (a smaller store): the live migration switches, the destination is right and serves; the option errors. */
class KvMigrationDemoTest {

    @Test
    void theStoreMigratesLiveAndTheDestinationServesItKeyForKey() throws Exception {
        KvMigrationDemo.Options options = KvMigrationDemo.Options.parse(List.of("--mib", "16", "--keys", "50000", "--write-mbps", "10",
                "--serve-seconds", "0.3"));
        assertEquals(0, KvMigrationDemo.demo(options));
    }

    @Test
    void theDefaultKeysFitTheArenaAsked() {
        assertEquals(1_000_000, KvMigrationDemo.Options.parse(List.of()).keys);
        assertEquals(262_144, KvMigrationDemo.Options.parse(List.of("--mib", "64")).keys);
        assertEquals(4096, KvMigrationDemo.Options.parse(List.of("--mib", "1")).keys);
        assertEquals(1_000_000, KvMigrationDemo.Options.parse(List.of("--mib", "4096")).keys);
    }

    @Test
    void badOptionsNameTheOptionAndWhatIsAccepted() {
        IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class, () -> KvMigrationDemo.Options.parse(List.of("--speed", "3")));
        assertTrue(unknown.getMessage().contains("--speed") && unknown.getMessage().contains("usage: pagemark migrate"), unknown.getMessage());
        IllegalArgumentException mib = assertThrows(IllegalArgumentException.class, () -> KvMigrationDemo.Options.parse(List.of("--mib", "100")));
        assertTrue(mib.getMessage().contains("--mib must be a power of two from 1 to 4096, got 100"), mib.getMessage());
        IllegalArgumentException rate = assertThrows(IllegalArgumentException.class, () -> KvMigrationDemo.Options.parse(List.of("--write-mbps", "0")));
        assertTrue(rate.getMessage().contains("--write-mbps must be above 0"), rate.getMessage());
        IllegalArgumentException keys = assertThrows(IllegalArgumentException.class,
                () -> KvMigrationDemo.Options.parse(List.of("--mib", "1", "--keys", "10000")));
        assertTrue(keys.getMessage().contains("--keys must be between 1 and 4096 for --mib 1, got 10000"), keys.getMessage());
        IllegalArgumentException mode = assertThrows(IllegalArgumentException.class, () -> KvMigrationDemo.Options.parse(List.of("sideways")));
        assertTrue(mode.getMessage().contains("unknown mode 'sideways'; accepted: source, destination"), mode.getMessage());
    }
}

package io.pagemark;

import io.pagemark.testing.ChildJvm;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Writers faulting continuously while another thread allocates and forces GCs (each a safepoint,
 * which cannot complete while a writer is stuck in a fault): progress must continue and no write may
 * be lost. A JVM stuck at a safepoint cannot watch itself, so the run is a child JVM watched from
 * here: no progress line with new faults and new GCs for 15 s means deadlock, and the failure shows
 * where every thread of the child was in the kernel.
 */
class SafepointStressTest {
    private static final Pattern PROGRESS = Pattern.compile("progress faults=(\\d+) gcs=(\\d+)");
    private static final Pattern FIELD = Pattern.compile("(\\w+)=([\\w.\\-]+)");

    @ParameterizedTest(name = "{0} for {1} s")
    @CsvSource({"uffd-sync, 12", "uffd-sigbus, 12", "mprotect, 6"})
    void faultingWritersSurviveSafepointsWithoutLosingWrites(String backend, int seconds) throws Exception {
        NativeBackendsTest.assumeUsable(Backend.parse(backend));
        long[] last = {-1, -1};
        List<String> cmd = ChildJvm.command(List.of(), List.of("-Xmx256m"), ChildJvm.classPath(), SafepointStressChild.class,
                backend, Integer.toString(seconds));
        ChildJvm.Outcome outcome = ChildJvm.runWatched(cmd, line -> {
            Matcher m = PROGRESS.matcher(line);
            if (!m.matches()) return false;
            long faults = Long.parseLong(m.group(1)), gcs = Long.parseLong(m.group(2));
            boolean moved = faults > last[0] && gcs > last[1];   // both writers and safepoints go on
            if (moved) {
                last[0] = faults;
                last[1] = gcs;
            }
            return moved;
        }, 15, seconds + 90L);
        assertEquals(0, outcome.exitCode(), outcome.output());
        String result = outcome.lines().stream().filter(l -> l.startsWith("result ")).findFirst()
                .orElseThrow(() -> new AssertionError("no result line:\n" + outcome.output()));
        System.out.println("safepoint stress " + result);
        Map<String, String> fields = new HashMap<>();
        for (Matcher m = FIELD.matcher(result); m.find(); ) fields.put(m.group(1), m.group(2));
        assertEquals("0", fields.get("lost"), outcome.output());
        assertTrue(Double.parseDouble(fields.get("seconds")) >= seconds, result);
        // Modest floors (the machine may be shared); that progress never stopped is what the watchdog checked.
        assertTrue(Long.parseLong(fields.get("gcs")) >= 5L * seconds, "at least 5 forced GCs a second: " + result);
        assertTrue(Long.parseLong(fields.get("faults")) >= 50L * seconds, "writers kept faulting: " + result);
        assertTrue(Long.parseLong(fields.get("writes")) >= 100L * seconds, "writers kept writing: " + result);
    }
}

package io.pagemark.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.pagemark.Backend;
import io.pagemark.Capabilities;
import io.pagemark.linux.Kernel;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The CLI's output contracts: probe and verify JSON, one-line usage errors, --help, exit statuses. */
class CliTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** What one command line printed on stdout and stderr, and its exit status. */
    private record Run(int status, String out, String err) {}

    private static Run run(String... argv) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int status = PagemarkCli.run(argv, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    private static String capture(int expectedStatus, String... argv) {
        Run r = run(argv);
        assertEquals(expectedStatus, r.status(), r::toString);
        return r.out();
    }

    /** A usage error's one line on stderr (exit status 2). */
    private static String usageError(String... argv) {
        Run r = run(argv);
        assertEquals(2, r.status(), r::toString);
        assertEquals("", r.out());
        assertEquals(1, r.err().strip().lines().count(), "one line: " + r.err());
        return r.err().strip();
    }

    @Test
    void probeJsonIsOneObjectWithEveryFieldAndEveryBackend() throws Exception {
        String text = capture(0, "probe", "--json");
        assertEquals(1, text.strip().lines().count(), "one line of JSON");
        JsonNode probe = JSON.readTree(text);
        assertEquals(io.pagemark.Version.current(), probe.get("version").asText());
        for (String field : List.of("version", "kernel_release", "page_size", "thp_mode", "max_map_count", "userfaultfd",
                "userfaultfd_limitation", "userfaultfd_attempts", "uffd_features", "pagemap_scan", "soft_dirty", "native_library", "backends", "auto")) {
            assertTrue(probe.has(field), field + " missing from " + text);
        }
        assertEquals(Kernel.release(), probe.get("kernel_release").asText());
        assertEquals(Kernel.softDirtyMissing() == null, probe.get("soft_dirty").asBoolean());
        JsonNode backends = probe.get("backends");
        for (Backend b : Backend.values()) {
            if (b == Backend.AUTO) continue;
            JsonNode entry = backends.get(b.id());
            assertTrue(entry != null && entry.get("usable").isBoolean(), b + " in " + backends);
            Capabilities.Support expected = Capabilities.probe().backends().get(b);
            assertEquals(expected.usable(), entry.get("usable").asBoolean(), b.id());
            assertEquals(expected.usable(), entry.get("reason").isNull(), b.id() + ": a reason exactly when unusable");
        }
        if ((Kernel.userfaultfdFeatures() & io.pagemark.linux.Uffd.FEATURE_WP_ASYNC) != 0 && Kernel.pagemapScanMissing() == null) {
            assertTrue(backends.get("uffd-async").get("usable").asBoolean());
            assertEquals("uffd-async", probe.get("auto").asText());
        }
    }

    @Test
    void versionPrintsTheTrackersVersion() {
        assertEquals("pagemark " + io.pagemark.Version.current(), capture(0, "--version").strip());
    }

    @Test
    void probeTextNamesEveryBackend() {
        String text = capture(0, "probe");
        for (Backend b : Backend.values()) if (b != Backend.AUTO) assertTrue(text.contains("  " + b.id() + " "), b.id());
    }

    @Test
    void verifyJsonHasARowPerBackendRun() throws Exception {
        String text = capture(0, "verify", "--backend", "card-table", "--seconds", "1", "--json");
        JsonNode rows = JSON.readTree(text);
        assertTrue(rows.isArray());
        assertEquals(1, rows.size());
        JsonNode row = rows.get(0);
        assertEquals("card-table", row.get("backend").asText());
        assertTrue(row.get("writes").asLong() > 0);
        assertTrue(row.get("collects").asLong() > 0);
        assertTrue(row.get("pages_reported").asLong() > 0);
        assertEquals(0, row.get("lost").asLong());
        assertTrue(row.get("ok").asBoolean());
    }

    @Test
    void usageErrorsAreOneLineNamingTheArgumentAndTheAcceptedForm() {
        String usage = "; usage: pagemark verify [-h] [--json] [--backend=NAME|all] [--seconds=N] (--help says more)";
        assertEquals("pagemark verify: unknown options: '--backends', 'all'" + usage, usageError("verify", "--backends", "all"));
        assertEquals("pagemark verify: invalid value for option '--seconds': '-3' is not a positive whole number" + usage,
                usageError("verify", "--seconds", "-3"));
        String backend = usageError("verify", "--backend", "fast");
        assertTrue(backend.startsWith("pagemark verify: --backend: unknown backend 'fast'; accepted: auto, "), backend);
        assertTrue(backend.endsWith(", all" + usage), backend);
        assertTrue(usageError("verify", "--backend").startsWith("pagemark verify: missing required parameter for option '--backend'"));
        assertTrue(usageError("frobnicate").startsWith("pagemark: unmatched argument at index 0: 'frobnicate'"));
        assertTrue(usageError().startsWith("pagemark: a command is needed: probe, verify or tour"));
        assertTrue(usageError("tour", "--mib", "0").startsWith("pagemark tour: invalid value for option '--mib': '0' is not a positive whole number"));
    }

    @Test
    void everyCommandHasHelp() {
        for (String command : List.of("probe", "verify", "tour")) {
            Run r = run(command, "--help");
            assertEquals(0, r.status(), r::toString);
            assertTrue(r.out().startsWith("Usage: pagemark " + command + " [-h]"), r.out());
        }
        Run top = run("--help");
        assertEquals(0, top.status());
        assertTrue(top.out().contains("probe") && top.out().contains("verify") && top.out().contains("tour"), top.out());
    }

    @Test
    void anUnusableBackendIsBadInputAndSaysWhy() {
        Capabilities.Support softDirty = Capabilities.probe().backends().get(Backend.SOFT_DIRTY);
        org.junit.jupiter.api.Assumptions.assumeFalse(softDirty.usable(), "soft-dirty is usable here");
        Run r = run("verify", "--backend", "soft-dirty", "--seconds", "1");
        assertEquals(2, r.status(), r::toString);
        assertEquals("pagemark verify: backend soft-dirty is not usable here: " + softDirty.reason(), r.err().strip());
    }

    @Test
    void jsonWriterEscapesAndNests() {
        Map<String, Object> value = new java.util.LinkedHashMap<>();
        value.put("a", "q\"\\\n\u0001");
        value.put("b", java.util.Arrays.asList(1, 2.5, true, null));
        value.put("c", Map.of());
        assertEquals("{\"a\":\"q\\\"\\\\\\n\\u0001\",\"b\":[1,2.5,true,null],\"c\":{}}", Json.write(value));
    }
}

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
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The CLI's output contracts: probe and verify JSON, one-line usage errors. */
class CliTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static String capture(java.util.function.Function<PrintStream, Integer> command, int expectedStatus) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
        assertEquals(expectedStatus, command.apply(out));
        return bytes.toString(StandardCharsets.UTF_8);
    }

    @Test
    void probeJsonIsOneObjectWithEveryFieldAndEveryBackend() throws Exception {
        String text = capture(out -> ProbeCommand.run(List.of("--json"), out), 0);
        assertEquals(1, text.strip().lines().count(), "one line of JSON");
        JsonNode probe = JSON.readTree(text);
        for (String field : List.of("kernel_release", "page_size", "thp_mode", "max_map_count", "userfaultfd",
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
    void probeTextNamesEveryBackend() {
        String text = capture(out -> ProbeCommand.run(List.of(), out), 0);
        for (Backend b : Backend.values()) if (b != Backend.AUTO) assertTrue(text.contains("  " + b.id() + " "), b.id());
    }

    @Test
    void verifyJsonHasARowPerBackendRun() throws Exception {
        String text = capture(out -> VerifyCommand.run(List.of("--backend", "card-table", "--seconds", "1", "--json"), out, System.err), 0);
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
        Args.UsageError unknown = assertThrows(Args.UsageError.class,
                () -> VerifyCommand.run(List.of("--backends", "all"), System.out, System.err));
        assertEquals("pagemark verify: unknown argument '--backends'; usage: pagemark verify " + VerifyCommand.USAGE, unknown.getMessage());
        Args.UsageError seconds = assertThrows(Args.UsageError.class,
                () -> VerifyCommand.run(List.of("--seconds", "-3"), System.out, System.err));
        assertEquals("pagemark verify: --seconds must be a positive whole number, got '-3'", seconds.getMessage());
        Args.UsageError backend = assertThrows(Args.UsageError.class,
                () -> VerifyCommand.run(List.of("--backend", "fast"), System.out, System.err));
        assertTrue(backend.getMessage().startsWith("pagemark verify: --backend: unknown backend 'fast'; accepted: auto, "), backend.getMessage());
        assertTrue(backend.getMessage().endsWith(", all"), backend.getMessage());
        Args.UsageError missing = assertThrows(Args.UsageError.class,
                () -> VerifyCommand.run(List.of("--backend"), System.out, System.err));
        assertFalse(missing.getMessage().contains("\n"));
        assertEquals(2, PagemarkCli.run(new String[] {"frobnicate"}));
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

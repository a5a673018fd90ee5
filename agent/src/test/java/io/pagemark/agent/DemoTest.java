package io.pagemark.agent;

import io.pagemark.Backend;
import io.pagemark.samples.demo.Demo;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The demo ({@code ./pagemark demo}) as a user runs it: the sample runtime with its card table, then
 * under the agent on the best backend here; the table, the JSON rows, and the one-line errors.
 */
class DemoTest {
    private static final Pattern ROW = Pattern.compile("\\{([^{}]*)}");
    private static final List<String> FIELDS = List.of("mode", "backend", "ops_per_s", "ops_per_cpu_s", "cycles",
            "remark_ms_p50", "remark_ms_max", "dirty_cards_per_cycle", "dirty_pages_per_cycle", "oracle_ok", "host",
            "remark_stop_ms_p50", "remark_cards_ms_p50", "remark_rescan_ms_p50", "remark_trace_ms_p50", "remark_other_ms_p50");

    @Test
    void jsonHasARowForTheCardTableAndOneForTheAgentOnTheBestBackend() throws Exception {
        AgentJvm.Result r = demo("--seconds", "2", "--heap-mb", "16", "--json").await(120);
        assertEquals(0, r.exitCode(), r::toString);
        assertEquals(1, r.stdout().size(), () -> "one line, a JSON array: " + r);
        String json = r.stdout().get(0);
        assertTrue(json.startsWith("[") && json.endsWith("]"), json);
        List<String> rows = ROW.matcher(json).results().map(m -> m.group(1)).toList();
        List<Backend> usable = PagemarkAgent.usableHardwareBackends();
        assertEquals(usable.isEmpty() ? 1 : 2, rows.size(), () -> "the card table, then the agent on the best backend (without --all): " + json);
        for (String row : rows) {
            for (String field : FIELDS) assertTrue(row.contains("\"" + field + "\":"), () -> field + " missing in " + row);
            assertTrue(row.contains("\"oracle_ok\":true"), row);
            assertTrue(number(row, "ops_per_s") > 0 && number(row, "cycles") >= 1, row);
        }
        assertTrue(rows.get(0).contains("\"mode\":\"card-table\"") && rows.get(0).contains("\"backend\":\"card-table\""), json);
        if (!usable.isEmpty()) {
            assertTrue(rows.get(1).contains("\"mode\":\"agent\"") && rows.get(1).contains("\"backend\":\"" + usable.get(0).id() + "\""), json);
        }
    }

    @Test
    void theTableNamesEveryColumnAndTheThroughputRatio() throws Exception {
        AgentJvm.Result r = demo("--seconds", "1", "--heap-mb", "16", "--workload", "mixed").await(120);
        assertEquals(0, r.exitCode(), r::toString);
        String out = String.join("\n", r.stdout());
        assertTrue(out.contains("workload mixed"), out);
        assertTrue(r.stdout().stream().anyMatch(l -> l.startsWith("Host: ") && l.contains(" CPUs, Linux ") && l.contains("load average")), out);
        assertTrue(out.contains("Where the remark goes"), out);
        assertTrue(r.stdout().stream().anyMatch(l -> l.startsWith("mode ") && l.contains("oracle")), out);
        assertTrue(r.stdout().stream().anyMatch(l -> l.startsWith("card-table  card-table") && l.contains("ok (")), out);
        if (!PagemarkAgent.usableHardwareBackends().isEmpty()) {
            assertTrue(r.stdout().stream().anyMatch(l -> l.startsWith("agent ") && l.contains("ok (")), out);
            assertTrue(out.contains("vs the runtime's own card table: mutator throughput "), out);
            assertTrue(out.contains(", remark p50 "), out);
        }
        assertTrue(r.stderr().stream().anyMatch(l -> l.contains("elapsed_s=")), () -> "progress on stderr: " + r);
    }

    @Test
    void badArgumentsGetOneLineAndExitCode2() throws Exception {
        assertOneLineError(demo("--workload", "nope"), "pagemark demo: unknown workload 'nope'; accepted: mixed, hot-rewire");
        assertOneLineError(demo("--seconds", "0"), "pagemark demo: --seconds 0 is out of range; accepted: 1..3600");
        assertOneLineError(demo("--heap-mb", "4", "--mutators", "16"), "pagemark demo: a heap of 4096 KiB is too small for 16 mutators:"
                + " each may hold a 32 KiB block of each of the 15 size classes; give at least 15 MiB, or fewer mutators");
        assertOneLineError(demo("--speed", "3"), "pagemark demo: unknown options: '--speed', '3'");
    }

    @Test
    void helpSaysTheOptions() throws Exception {
        AgentJvm.Result r = demo("--help").await(60);
        assertEquals(0, r.exitCode(), r::toString);
        assertTrue(r.stdout().getFirst().startsWith("Usage: pagemark demo "), r::toString);
        assertTrue(r.stdout().stream().anyMatch(l -> l.contains("--workload NAME")), r::toString);
    }

    /** The one stderr line of a bad command line: what was wrong, then the usage. */
    private static void assertOneLineError(AgentJvm child, String problem) throws Exception {
        AgentJvm.Result r = child.await(60);
        assertEquals(2, r.exitCode(), r::toString);
        assertEquals(1, r.stderr().size(), r::toString);
        assertTrue(r.stderr().getFirst().startsWith(problem + "; usage: pagemark demo [-h] [--seconds N] "), r::toString);
        assertEquals(List.of(), r.stdout(), r::toString);
    }

    private static AgentJvm demo(String... args) throws Exception {
        String[] all = new String[args.length + 2];
        all[0] = "--agent-jar";
        all[1] = AgentJvm.runnableAgentJar().toString();
        System.arraycopy(args, 0, all, 2, args.length);
        return AgentJvm.start(null, List.of(), Demo.class, all);
    }

    private static double number(String row, String field) {
        Matcher m = Pattern.compile("\"" + field + "\":([0-9.]+)").matcher(row);
        assertTrue(m.find(), () -> field + " in " + row);
        return Double.parseDouble(m.group(1));
    }
}

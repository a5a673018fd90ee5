package io.pagemark.cli;

import io.pagemark.Backend;
import io.pagemark.Capabilities;
import io.pagemark.verify.NoLostWriteOracle;
import io.pagemark.verify.OracleConfig;
import io.pagemark.verify.OracleResult;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code pagemark verify [--backend NAME|all] [--seconds N] [--json]}: runs the no-lost-write oracle
 * for real on each backend and exits 1 if any write was lost. Progress goes to stderr.
 */
@Command(name = "verify",
        description = "The no-lost-write oracle, for real, on each backend; exits 1 on any lost write.")
final class VerifyCommand implements Callable<Integer> {
    @Option(names = "--backend", paramLabel = "NAME|all", defaultValue = "all", description = "one backend, or all usable ones (default)")
    private String name;

    @Option(names = "--seconds", paramLabel = "N", converter = PositiveNumber.class, description = "how long each backend runs (default: at least 10^6 writes and 2 s)")
    private Long seconds;

    @Option(names = "--json", description = "one JSON array of rows instead of the table")
    private boolean json;

    @Mixin
    private HelpOption help;

    @Spec
    private CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut(), err = spec.commandLine().getErr();
        OracleConfig config = OracleConfig.defaults();
        if (seconds != null) config = config.forSeconds(seconds);
        Capabilities caps = Capabilities.probe();

        List<Backend> backends = new ArrayList<>();
        if (name.equals("all")) {
            for (var e : caps.backends().entrySet()) {
                if (e.getValue().usable()) backends.add(e.getKey());
                else if (!json) out.printf("%-12s skipped: not usable here: %s%n", e.getKey().id(), e.getValue().reason());
            }
        } else {
            Backend backend;
            try {
                backend = Backend.parse(name);
            } catch (IllegalArgumentException e) {
                throw new ParameterException(spec.commandLine(), "--backend: " + e.getMessage() + ", all");
            }
            if (backend == Backend.AUTO) backend = Capabilities.autoChoice().backend();
            Capabilities.Support support = caps.backends().get(backend);
            if (!support.usable()) {
                err.println("pagemark verify: backend " + backend + " is not usable here: " + support.reason());
                return PagemarkCli.BAD_INPUT;
            }
            backends.add(backend);
        }

        List<Object> rows = new ArrayList<>();
        boolean allOk = true;
        if (!json) {
            out.printf("%-12s %12s %9s %9s %14s %10s %5s  %s%n", "backend", "writes", "discards", "collects", "pages reported",
                    "checks", "lost", "result");
        }
        for (int i = 0; i < backends.size(); i++) {
            Backend backend = backends.get(i);
            err.printf("pagemark verify: %s (%d of %d) ...%n", backend.id(), i + 1, backends.size());
            OracleResult r = NoLostWriteOracle.run(backend, config);
            allOk &= r.ok();
            if (json) {
                rows.add(toJson(r));
            } else {
                out.printf("%-12s %,12d %,9d %,9d %,14d %,10d %,5d  %s (%.1f s; %s)%n", backend.id(), r.writes(), r.discards(), r.collects(),
                        r.pagesReported(), r.quiescentChecks(), r.lost(), r.ok() ? "ok" : "LOST WRITES", r.seconds(), r.describe());
                for (String loss : r.losses()) out.println("    " + loss);
            }
        }
        if (json) out.println(Json.write(rows));
        return allOk ? 0 : PagemarkCli.FAILED;
    }

    private static Map<String, Object> toJson(OracleResult r) {
        Map<String, Object> row = new LinkedHashMap<>();
        row.put("backend", r.backend().id());
        row.put("writes", r.writes());
        row.put("discards", r.discards());
        row.put("collects", r.collects());
        row.put("pages_reported", r.pagesReported());
        row.put("quiescent_checks", r.quiescentChecks());
        row.put("lost", r.lost());
        row.put("ok", r.ok());
        row.put("seconds", Math.round(r.seconds() * 100) / 100.0);
        row.put("describe", r.describe());
        row.put("losses", r.losses());
        return row;
    }
}

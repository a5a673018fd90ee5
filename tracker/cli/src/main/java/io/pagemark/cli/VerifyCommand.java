package io.pagemark.cli;

import io.pagemark.Backend;
import io.pagemark.Capabilities;
import io.pagemark.verify.NoLostWriteOracle;
import io.pagemark.verify.OracleConfig;
import io.pagemark.verify.OracleResult;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@code pagemark verify [--backend NAME|all] [--seconds N] [--json]}: runs the no-lost-write oracle
 * for real on each backend and exits non-zero if any write was lost.
 */
final class VerifyCommand {
    static final String USAGE = "[--backend NAME|all] [--seconds N] [--json]";

    private VerifyCommand() {}

    static int run(List<String> argv, PrintStream out, PrintStream err) {
        Args args = Args.parse("verify", argv, Set.of("--json"), Set.of("--backend", "--seconds"), USAGE);
        boolean json = args.has("--json");
        OracleConfig config = OracleConfig.defaults();
        if (args.has("--seconds")) config = config.forSeconds(args.positiveLong("verify", "--seconds", 0));
        Capabilities caps = Capabilities.probe();

        List<Backend> backends = new ArrayList<>();
        String name = args.get("--backend", "all");
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
                throw new Args.UsageError("pagemark verify: --backend: " + e.getMessage() + ", all");
            }
            if (backend == Backend.AUTO) backend = Capabilities.autoChoice().backend();
            Capabilities.Support support = caps.backends().get(backend);
            if (!support.usable()) {
                err.println("pagemark verify: backend " + backend + " is not usable here: " + support.reason());
                return 2;
            }
            backends.add(backend);
        }

        List<Object> rows = new ArrayList<>();
        boolean allOk = true;
        if (!json) out.printf("%-12s %12s %9s %14s %10s %5s  %s%n", "backend", "writes", "collects", "pages reported", "checks", "lost", "result");
        for (Backend backend : backends) {
            OracleResult r = NoLostWriteOracle.run(backend, config);
            allOk &= r.ok();
            if (json) {
                rows.add(toJson(r));
            } else {
                out.printf("%-12s %12d %9d %14d %10d %5d  %s (%.1f s; %s)%n", backend.id(), r.writes(), r.collects(),
                        r.pagesReported(), r.quiescentChecks(), r.lost(), r.ok() ? "ok" : "LOST WRITES", r.seconds(), r.describe());
                for (String loss : r.losses()) out.println("    " + loss);
            }
        }
        if (json) out.println(Json.write(rows));
        return allOk ? 0 : 1;
    }

    private static Map<String, Object> toJson(OracleResult r) {
        Map<String, Object> row = new LinkedHashMap<>();
        row.put("backend", r.backend().id());
        row.put("writes", r.writes());
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

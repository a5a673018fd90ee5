package io.pagemark.cli;

import io.pagemark.Backend;
import io.pagemark.Capabilities;
import io.pagemark.PagemarkException;
import io.pagemark.TrackedArena;
import io.pagemark.Version;
import io.pagemark.WriterGate;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code pagemark probe [--json]}: what this machine can do, and which backends are usable. */
@Command(name = "probe", description = "What this kernel offers and which backends are usable here.")
final class ProbeCommand implements Callable<Integer> {
    @Option(names = "--json", description = "one JSON object instead of the table")
    private boolean json;

    @Mixin
    private HelpOption help;

    @Spec
    private CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        Capabilities caps = Capabilities.probe();
        String auto;
        try {
            auto = Capabilities.autoChoice().backend().id();
        } catch (PagemarkException e) {
            auto = null;
        }
        if (json) {
            out.println(Json.write(toJson(caps, auto)));
        } else {
            printText(caps, auto, out);
        }
        return 0;
    }

    static Map<String, Object> toJson(Capabilities caps, String auto) {
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("version", Version.current());
        json.put("kernel_release", caps.kernelRelease());
        json.put("page_size", caps.pageSize());
        json.put("thp_mode", caps.transparentHugePages());
        json.put("max_map_count", caps.maxMapCount());
        json.put("userfaultfd", caps.userfaultfd());
        json.put("userfaultfd_limitation", caps.userfaultfdLimitation());
        json.put("userfaultfd_attempts", caps.userfaultfdAttempts());
        json.put("uffd_features", caps.userfaultfdFeatures());
        json.put("pagemap_scan", caps.pagemapScan());
        json.put("soft_dirty", caps.softDirty());
        json.put("soft_dirty_reason", caps.softDirtyDetail());
        json.put("native_library", caps.nativeLibrary());
        json.put("native_library_detail", caps.nativeLibraryDetail());
        Map<String, Object> backends = new LinkedHashMap<>();
        caps.backends().forEach((backend, support) -> {
            Map<String, Object> b = new LinkedHashMap<>();
            b.put("usable", support.usable());
            b.put("reason", support.reason());
            b.put("discards", backend.discards());
            b.put("kernel_writes", support.usable() ? kernelWrites(backend) : null);
            backends.put(backend.id(), b);
        });
        json.put("backends", backends);
        json.put("auto", auto);
        return json;
    }

    private static void printText(Capabilities caps, String auto, PrintWriter out) {
        row(out, "kernel", caps.kernelRelease());
        row(out, "page size", caps.pageSize() + " bytes");
        row(out, "transparent hugepages", caps.transparentHugePages());
        row(out, "vm.max_map_count", String.format("%,d", caps.maxMapCount()));
        row(out, "userfaultfd", (caps.userfaultfd() == null ? "cannot be opened" : "opened via " + caps.userfaultfd())
                + " (" + String.join("; ", caps.userfaultfdAttempts()) + ")"
                + (caps.userfaultfdLimitation() == null ? "" : "; " + caps.userfaultfdLimitation()));
        row(out, "UFFDIO_API features", caps.userfaultfdFeatures().isEmpty() ? "none" : String.join(" ", caps.userfaultfdFeatures()));
        row(out, "PAGEMAP_SCAN", caps.pagemapScan() ? "yes" : "no");
        row(out, "soft-dirty", caps.softDirty() ? "works (self-test passed)" : "no: " + caps.softDirtyDetail());
        row(out, "native library", (caps.nativeLibrary() ? "loaded: " : "not loaded: ") + caps.nativeLibraryDetail());
        out.println("backends:");
        caps.backends().forEach((Backend backend, Capabilities.Support s) ->
                out.printf("  %-12s %s%n", backend.id(), s.usable() ? "usable; " + backend.discards() : "not usable: " + s.reason()));
        row(out, "auto", auto == null ? "no hardware backend is usable here" : auto);
        out.println("kernel writes, per usable backend (docs/pinned-writes.md):");
        caps.backends().forEach((Backend backend, Capabilities.Support s) -> {
            if (s.usable()) out.printf("  %-12s %s%n", backend.id(), kernelWrites(backend));
        });
    }

    /** What an arena of {@code backend} says of kernel writes, asked of a one-page arena: the tracker knows, the probe does not guess. */
    static String kernelWrites(Backend backend) {
        TrackedArena.Builder builder = TrackedArena.builder().size(1).backend(backend);
        if (backend.needsWriterPause()) builder.writerPause(new WriterGate());
        try (TrackedArena arena = builder.open()) {
            return arena.describeKernelWrites();
        }
    }

    private static void row(PrintWriter out, String name, String value) {
        out.printf("%-22s %s%n", name, value);
    }
}

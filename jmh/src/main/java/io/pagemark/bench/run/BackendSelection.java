package io.pagemark.bench.run;

import io.pagemark.Backend;
import io.pagemark.Capabilities;
import io.pagemark.bench.Arenas;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Which backends the benchmarks run on here: the values of each benchmark's backend parameter
 * ({@value #BACKEND}, or {@value #BARRIER} for the store benchmark) less those the capability probe
 * says are not usable on this machine. A backend that lands later appears by itself once the probe
 * calls it usable.
 */
public final class BackendSelection {
    /** The parameter that names a backend. */
    public static final String BACKEND = "backend";
    /** The store benchmark's parameter: a backend or the untracked baseline. */
    public static final String BARRIER = "barrier";
    private static final Set<String> BACKEND_PARAMS = Set.of(BACKEND, BARRIER);

    private final Capabilities capabilities;

    public BackendSelection(Capabilities capabilities) {
        this.capabilities = capabilities;
    }

    /** True if parameter {@code name} names backends. */
    public static boolean isBackendParam(String name) {
        return BACKEND_PARAMS.contains(name);
    }

    /** The values of a backend parameter that can run here, in their order. */
    public List<String> usable(String[] values) {
        List<String> keep = new ArrayList<>();
        for (String value : values) if (unusableReason(value) == null) keep.add(value);
        return keep;
    }

    /** The backends usable here, by id. */
    public List<String> usableBackends() {
        List<String> ids = new ArrayList<>();
        capabilities.backends().forEach((b, support) -> {
            if (support.usable()) ids.add(b.id());
        });
        return ids;
    }

    /** The backends not usable here, by id, each with the probe's reason: the benchmarks skip them. */
    public Map<String, String> skipped() {
        Map<String, String> skipped = new TreeMap<>();
        capabilities.backends().forEach((b, support) -> {
            if (!support.usable()) skipped.put(b.id(), support.reason());
        });
        return skipped;
    }

    private String unusableReason(String value) {
        if (value.equals(Arenas.UNTRACKED)) return null;
        Backend backend = Backend.parse(value);
        if (backend == Backend.AUTO) {
            // auto runs on whatever the probe picks; it is unusable only when no hardware backend is.
            return usableBackends().stream().anyMatch(id -> Backend.parse(id).isHardware()) ? null : "no hardware backend is usable here";
        }
        Capabilities.Support support = capabilities.backends().get(backend);
        return support.usable() ? null : support.reason();
    }
}

package io.pagemark.agent;

import io.pagemark.Backend;
import io.pagemark.RunFlags;

import java.lang.instrument.Instrumentation;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The agent grants the tracker it carries what the JVM's run flags would ({@link RunFlags}), so that
 * {@code -javaagent:pagemark-agent.jar=...} alone is enough: {@code java.base}'s
 * {@code jdk.internal.misc} exported to Agrona's module ({@code Instrumentation.redefineModule}, what
 * {@code --add-exports java.base/jdk.internal.misc=ALL-UNNAMED} does), and FFM native access for the
 * unnamed module, what {@code --enable-native-access=ALL-UNNAMED} does (through the JDK's own
 * {@code jdk.internal.module.Modules}, exported to the agent's module for that one call). Both are
 * granted only when missing: a JVM started with the flags is left as it is.
 */
final class RunFlagGrants {
    private static final String MODULES = "jdk.internal.module";

    private RunFlagGrants() {}

    /**
     * Grants what is missing for any backend; returns one line per grant that could not be made
     * (naming the flag to add instead), empty when the tracker has everything it needs.
     */
    static List<String> grant(Instrumentation instrumentation) {
        Module javaBase = Object.class.getModule();
        Module ring = RunFlags.ringModule();
        if (!javaBase.isExported(RunFlags.UNSAFE_PACKAGE, ring) && instrumentation.isModifiableModule(javaBase)) {
            instrumentation.redefineModule(javaBase, Set.of(), Map.of(RunFlags.UNSAFE_PACKAGE, Set.of(ring)), Map.of(), Set.of(), Map.of());
        }
        Module tracker = RunFlags.nativeAccessModule();
        if (!tracker.isNativeAccessEnabled() && !tracker.isNamed()) {
            Module self = RunFlagGrants.class.getModule();
            try {
                instrumentation.redefineModule(javaBase, Set.of(), Map.of(MODULES, Set.of(self)), Map.of(), Set.of(), Map.of());
                Class.forName(MODULES + ".Modules").getMethod("addEnableNativeAccessToAllUnnamed").invoke(null);
            } catch (ReflectiveOperationException | RuntimeException e) {
                // Not this JDK's internals: the flag it names below is the way.
            }
        }
        List<String> problems = new ArrayList<>();
        for (String flag : RunFlags.missing(Backend.AUTO)) {
            problems.add("this JVM lacks " + flag + " and the agent could not grant it itself; accepted: the java command with "
                    + flag + " before -javaagent");
        }
        return problems;
    }
}

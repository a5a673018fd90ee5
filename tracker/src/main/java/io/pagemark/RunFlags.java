package io.pagemark;

import org.agrona.concurrent.UnsafeBuffer;

import java.util.ArrayList;
import java.util.List;

/**
 * What the JVM must grant pagemark, checked by {@link TrackedArena.Builder#open()} before anything is
 * mapped: FFM native access for the tracker's module (every backend calls the kernel through FFM),
 * and, for the backends whose faults are recorded in Agrona's ring
 * ({@link Backend.Trait#NATIVE_FAULT_PATH}), {@code java.base}'s {@code jdk.internal.misc} exported to
 * Agrona's module. A missing grant fails with one line naming the flag as this JVM needs it spelled
 * (class path: {@code ALL-UNNAMED}; module path: the module's name) and where to put it, instead of
 * the JVM's warning and Agrona's {@code IllegalAccessError} at the first arm.
 *
 * <pre>{@code
 * List<String> missing = RunFlags.missing(Backend.UFFD_SYNC);   // empty when the JVM was started right
 * RunFlags.check(Backend.UFFD_SYNC);                            // the same, as a PagemarkException
 * }</pre>
 *
 * A java agent can grant both itself ({@code Instrumentation.redefineModule} exports
 * {@code jdk.internal.misc} to {@link #ringModule()}): the pagemark agent does.
 */
public final class RunFlags {
    /** The package Agrona's {@code UnsafeApi} reads {@code jdk.internal.misc.Unsafe} from. */
    public static final String UNSAFE_PACKAGE = "jdk.internal.misc";

    private RunFlags() {}

    /** The module whose code calls the kernel through FFM (the tracker's: {@code io.pagemark.tracker}, or the unnamed module). */
    public static Module nativeAccessModule() {
        return RunFlags.class.getModule();
    }

    /** The module that must see {@value #UNSAFE_PACKAGE}: Agrona's ({@code org.agrona}, or the unnamed module). */
    public static Module ringModule() {
        return UnsafeBuffer.class.getModule();
    }

    /**
     * The run flags this JVM lacks for {@code backend} ({@link Backend#AUTO}: for any backend auto may
     * pick, the ring included), each spelled as it must be given; empty when none is missing.
     */
    public static List<String> missing(Backend backend) {
        List<String> flags = new ArrayList<>();
        if (!nativeAccessModule().isNativeAccessEnabled()) flags.add("--enable-native-access=" + target(nativeAccessModule()));
        boolean needsRing = backend == Backend.AUTO || backend.has(Backend.Trait.NATIVE_FAULT_PATH);
        if (needsRing && !Object.class.getModule().isExported(UNSAFE_PACKAGE, ringModule())) {
            flags.add("--add-exports java.base/" + UNSAFE_PACKAGE + "=" + target(ringModule()));
        }
        return flags;
    }

    /**
     * Fails if this JVM lacks a run flag {@code backend} needs (see {@link #missing}).
     *
     * @throws PagemarkException one line: the missing flags, why, and where to put them
     */
    public static void check(Backend backend) {
        List<String> flags = missing(backend);
        if (!flags.isEmpty()) throw new PagemarkException(message(backend, flags));
    }

    /**
     * Before auto probes the kernel through FFM: fails if native access is missing, naming with it
     * every other flag {@code backend} may need ({@link Backend#AUTO}: the ring's export too, as auto may pick a ring backend).
     */
    static void checkBeforeProbe(Backend backend) {
        if (!nativeAccessModule().isNativeAccessEnabled()) check(backend);
    }

    private static String message(Backend backend, List<String> flags) {
        List<String> why = new ArrayList<>();
        for (String flag : flags) {
            why.add(flag.startsWith("--enable-native-access") ? "FFM calls into the kernel"
                    : "Agrona's fault-record ring" + (backend != null && backend != Backend.AUTO ? ", which " + backend + " uses," : "")
                    + " reads jdk.internal.misc.Unsafe");
        }
        return "pagemark: this JVM was started without " + String.join(" ", flags) + " (" + String.join("; ", why)
                + "): add " + (flags.size() == 1 ? "it" : "them") + " to the java command, before the main class or -jar"
                + " (or to JDK_JAVA_OPTIONS; for Maven tests, surefire's argLine)";
    }

    /** How a flag names {@code module}: its name, or ALL-UNNAMED for the class path. */
    private static String target(Module module) {
        return module.isNamed() ? module.getName() : "ALL-UNNAMED";
    }
}

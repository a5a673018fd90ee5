package io.pagemark.bench;

/**
 * The JVM flags every forked benchmark JVM gets (the parent pom's {@code pagemark.runFlags}, plus a
 * fixed heap). Compile-time constants so the benchmarks' {@code @Fork} annotations can name them:
 * {@code java -jar benchmarks.jar} then works without any flag on its command line.
 */
public final class JvmFlags {
    /** FFM native access for the tracker's Linux bindings. */
    public static final String NATIVE_ACCESS = "--enable-native-access=ALL-UNNAMED";
    /** Agrona 2.x uses jdk.internal.misc: this flag and the next. */
    public static final String ADD_EXPORTS = "--add-exports";
    public static final String EXPORT_INTERNAL_MISC = "java.base/jdk.internal.misc=ALL-UNNAMED";
    /** JMH 1.37 itself uses sun.misc.Unsafe: without this every fork prints a deprecation warning. */
    public static final String ALLOW_UNSAFE = "--sun-misc-unsafe-memory-access=allow";
    /**
     * A fixed, small heap: the clear_refs write walks every page of the process, heap included, so
     * a heap that grows differently from fork to fork would move that number.
     */
    public static final String HEAP_MIN = "-Xms1g";
    public static final String HEAP_MAX = "-Xmx1g";

    /** The system property naming the directory where benchmarks that record per-fault latencies write their histograms. */
    public static final String HISTOGRAM_DIR_PROPERTY = "pagemark.bench.histograms";

    private JvmFlags() {}

    /** All of the above, in order, as a forked JVM's extra arguments. */
    public static String[] all() {
        return new String[] {NATIVE_ACCESS, ADD_EXPORTS, EXPORT_INTERNAL_MISC, ALLOW_UNSAFE, HEAP_MIN, HEAP_MAX};
    }
}

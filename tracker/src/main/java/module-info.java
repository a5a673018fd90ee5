/**
 * pagemark's tracker: tracked off-heap arenas and their consumers. Exports the API packages only;
 * the backends, the Linux bindings, the native fault paths and the JFR events stay inside (the
 * events, {@code io.pagemark.events}, are recorded by name: docs/observability.md).
 * <p>
 * Run flags (docs/embedding.md): on the class path, {@code --enable-native-access=ALL-UNNAMED
 * --add-exports java.base/jdk.internal.misc=ALL-UNNAMED}; on the module path,
 * {@code --enable-native-access=io.pagemark.tracker --add-exports java.base/jdk.internal.misc=org.agrona}.
 *
 * <pre>{@code
 * try (TrackedArena arena = TrackedArena.builder().size(64 << 20).open()) {
 *     arena.arm();
 *     arena.segment().set(ValueLayout.JAVA_LONG, 0, 42);
 *     DirtyPages dirty = arena.collect();
 * }
 * }</pre>
 */
module io.pagemark.tracker {
    requires org.agrona;
    requires java.management;   // the arena's MBean (ArenaMXBean)
    requires jdk.jfr;           // the JFR events (io.pagemark.events, internal: recorded by name)

    exports io.pagemark;
    exports io.pagemark.checkpoint;
    exports io.pagemark.cut;
    exports io.pagemark.snapshot;
}

/**
 * pagemark's tracker: tracked off-heap arenas and their consumers. Exports the API packages only;
 * the backends, the Linux bindings and the native fault paths stay inside.
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

    exports io.pagemark;
    exports io.pagemark.checkpoint;
    exports io.pagemark.snapshot;
}

package io.pagemark.testing;

import io.pagemark.Backend;
import io.pagemark.Capabilities;
import io.pagemark.DirtyPages;
import io.pagemark.TrackedArena;

import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

/**
 * A user's program with the tracker on the module path (ModulePathTest): in the unnamed module, so in
 * a package the tracker module does not hold. Tracks one write on auto's backend and on every usable
 * native one (the native library, the Agrona ring) and prints "BACKEND PAGES" per arena.
 */
public final class ModulePathChild {
    private ModulePathChild() {}

    public static void main(String[] args) {
        Capabilities capabilities = Capabilities.probe();
        List<Backend> backends = new ArrayList<>(List.of(Backend.AUTO));
        for (Backend b : Backend.with(Backend.Trait.NATIVE_FAULT_PATH)) if (capabilities.backends().get(b).usable()) backends.add(b);
        for (Backend backend : backends) {
            try (TrackedArena arena = TrackedArena.builder().size(16 * 4096).backend(backend).open()) {
                arena.arm();
                arena.segment().set(ValueLayout.JAVA_LONG, 3 * 4096, 42);
                DirtyPages dirty = arena.collect();
                System.out.println(arena.backend() + " " + dirty.pageCount());
            }
        }
    }
}

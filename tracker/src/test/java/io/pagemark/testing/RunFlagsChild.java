package io.pagemark.testing;

import io.pagemark.PagemarkException;
import io.pagemark.TrackedArena;


/**
 * A user's first program, run by RunFlagsTest in a JVM started without some of the run flags: opens
 * an arena on the backend named by its argument, tracks one write and prints "ok BACKEND PAGES", or
 * prints "error: MESSAGE" and exits 3 when open() refuses.
 */
public final class RunFlagsChild {
    private RunFlagsChild() {}

    public static void main(String[] args) {
        try (TrackedArena arena = TrackedArena.builder().size(16 * 4096).backend(args[0]).open()) {
            arena.arm();
            arena.putLong(3 * 4096, 42);   // the write API: seen by card-table too
            System.out.println("ok " + arena.backend() + " " + arena.collect().pageCount());
        } catch (PagemarkException e) {
            System.out.println("error: " + e.getMessage());
            System.exit(3);
        }
    }
}

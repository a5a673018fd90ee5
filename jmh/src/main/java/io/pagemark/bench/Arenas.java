package io.pagemark.bench;

import io.pagemark.Backend;
import io.pagemark.TrackedArena;
import io.pagemark.WriterGate;

import java.lang.foreign.ValueLayout;

/** Opening the arenas the benchmarks measure. */
public final class Arenas {
    /**
     * The id the store benchmark uses for its baseline: stores straight to the memory of a
     * card-table arena through {@link TrackedArena#segment()}, which nothing catches there. The same
     * mapping (same flags, no THP) with no barrier and no protection.
     */
    public static final String UNTRACKED = "untracked";

    private Arenas() {}

    /**
     * An arena of {@code size} bytes on backend {@code backendId}, every page already written once
     * (present, as the pages of a heap in use are), not armed.
     *
     * @throws io.pagemark.PagemarkException if the backend is not usable here, with the probe's reason
     */
    public static TrackedArena openPopulated(String backendId, long size) {
        return openPopulated(backendId, size, 0);
    }

    /**
     * As {@link #openPopulated(String, long)}, with {@code bulkPages} pages unprotected per fault where the
     * backend takes that option (a fixed block; 0: the backend's default, the adaptive window).
     */
    public static TrackedArena openPopulated(String backendId, long size, int bulkPages) {
        Backend backend = Backend.parse(backendId);
        TrackedArena.Builder builder = TrackedArena.builder().size(size).backend(backend);
        if (bulkPages != 0 && backend.has(Backend.Trait.NATIVE_FAULT_PATH)) builder.bulkPages(bulkPages);
        // soft-dirty collects only with the writers stopped. No benchmark writer enters this gate: each
        // benchmark collects on the thread that writes, or after its writers finished, so they are stopped.
        if (backend.needsWriterPause()) builder.writerPause(new WriterGate());
        TrackedArena arena = builder.open();
        try {
            writeEveryPage(arena);
            return arena;
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    /** The memory behind the {@link #UNTRACKED} baseline. */
    public static TrackedArena openUntracked(long size) {
        TrackedArena arena = TrackedArena.builder().size(size).backend(Backend.CARD_TABLE).open();
        for (long off = 0; off < arena.size(); off += arena.pageSize()) arena.segment().set(ValueLayout.JAVA_LONG, off, off);
        return arena;
    }

    /** One 8-byte store per page through the write API (so card-table sees it too); on an armed hardware backend, one fault per page. */
    public static void writeEveryPage(TrackedArena arena) {
        for (long off = 0; off < arena.size(); off += arena.pageSize()) arena.putLong(off, off);
    }
}

package io.pagemark.samples.runtime;

import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * What the mutators do: an operation mix in percent (the rest of 100 goes to {@code rotate}) and
 * where they do it. Each operation is random graph surgery on objects reached from the mutator's roots:
 * <ul>
 * <li>{@code allocate}: a new object (1-4 references and 0-3 data words, or one time in
 *     {@code arrayOneIn} an array of {@code arrayMinRefs} to {@code arrayMaxRefs} references) holding
 *     a reference to a root's object half of the time; it replaces a random root;</li>
 * <li>{@code link}: a random reference field of one root object is set to another root object;</li>
 * <li>{@code move}: a reference is moved from one object's field to another's and the old field is
 *     nulled (the store that hides an object from a concurrent marker unless the barrier reports it);</li>
 * <li>{@code unlink}: a non-null reference field is nulled;</li>
 * <li>{@code descend}: a root is replaced by one of its object's references (the old object may die);</li>
 * <li>{@code share}: a shared root is set from a root, or a shared root's object is linked into a root object;</li>
 * <li>{@code rotate}: an object's references are rotated by one field (one store per field).</li>
 * </ul>
 * A root is picked among the hot roots (recent objects) except one time in {@code coldOneIn}, when
 * it is picked among all of them (the long-lived bulk of the heap). Before all this, each mutator
 * allocates an object into every one of its roots, as an application loads its data at start.
 */
public record Workload(String name, int allocate, int link, int move, int unlink, int descend, int share,
                       int arrayOneIn, int arrayMinRefs, int arrayMaxRefs, int coldOneIn) {
    /**
     * The demo's default: as much pointer rewiring as allocation and linking, mostly on recent
     * objects, sometimes anywhere in the heap.
     */
    public static final Workload MIXED = new Workload("mixed", 5, 5, 15, 5, 2, 3, 16, 16, 48, 16);

    /**
     * Reference stores concentrated on few pages: mostly rotating the references of arrays of 32-96
     * references among the hot roots, little allocation, rarely touching the rest of the heap. The
     * case a page-level barrier is made for: many stores per page dirtied, and reference stores the
     * bulk of the mutators' work.
     */
    public static final Workload HOT_REWIRE = new Workload("hot-rewire", 1, 1, 2, 4, 0, 1, 2, 32, 96, 4096);

    public static final List<Workload> PRESETS = List.of(MIXED, HOT_REWIRE);

    public Workload {
        int sum = allocate + link + move + unlink + descend + share;
        if (Math.min(Math.min(allocate, link), Math.min(Math.min(move, unlink), Math.min(descend, share))) < 0 || sum > 100) {
            throw new IllegalArgumentException("operation percentages must be non-negative and sum to at most 100: " + this);
        }
        if (arrayOneIn < 1 || coldOneIn < 1) throw new IllegalArgumentException("arrayOneIn and coldOneIn must be at least 1: " + this);
        if (arrayMinRefs < 1 || arrayMinRefs > arrayMaxRefs || arrayMaxRefs > Heap.MAX_FIELDS) {
            throw new IllegalArgumentException("array sizes must satisfy 1 <= arrayMinRefs <= arrayMaxRefs <= " + Heap.MAX_FIELDS
                    + " (the largest object's fields): " + this);
        }
    }

    /** Percentage of {@code rotate} operations. */
    public int rotate() {
        return 100 - allocate - link - move - unlink - descend - share;
    }

    /** The preset named {@code name}. */
    public static Workload named(String name) {
        for (Workload w : PRESETS) if (w.name.equals(name.toLowerCase(Locale.ROOT))) return w;
        throw new IllegalArgumentException("unknown workload '" + name + "'; accepted: "
                + PRESETS.stream().map(Workload::name).collect(Collectors.joining(", ")));
    }
}

package io.pagemark.samples.runtime;

/**
 * The mutators' operation mix, in percent (the rest of 100 goes to {@code rotate}). Each operation is
 * random graph surgery on objects reached from the mutator's roots:
 * <ul>
 * <li>{@code allocate}: a new object (1-4 references and 0-3 data words, or one time in 16 an array
 *     of 16-48 references) whose references point at objects in random roots; it replaces a random root;</li>
 * <li>{@code link}: a random reference field of one root object is set to another root object;</li>
 * <li>{@code move}: a reference is moved from one object's field to another's and the old field is
 *     nulled (the store that hides an object from a concurrent marker unless the barrier reports it);</li>
 * <li>{@code unlink}: a random reference field is nulled;</li>
 * <li>{@code descend}: a root is replaced by one of its object's references (the old object may die);</li>
 * <li>{@code share}: a shared root is set from a root, or a shared root's object is linked into a root object;</li>
 * <li>{@code rotate}: an object's references are rotated by one field (one store per field).</li>
 * </ul>
 */
public record Workload(String name, int allocate, int link, int move, int unlink, int descend, int share) {
    /** The demo's mix: as much pointer rewiring as allocation. */
    public static final Workload DEFAULT = new Workload("default", 5, 5, 15, 5, 2, 3);

    public Workload {
        int sum = allocate + link + move + unlink + descend + share;
        if (Math.min(Math.min(allocate, link), Math.min(Math.min(move, unlink), Math.min(descend, share))) < 0 || sum > 100) {
            throw new IllegalArgumentException("operation percentages must be non-negative and sum to at most 100: " + this);
        }
    }

    /** Percentage of {@code rotate} operations. */
    public int rotate() {
        return 100 - allocate - link - move - unlink - descend - share;
    }
}

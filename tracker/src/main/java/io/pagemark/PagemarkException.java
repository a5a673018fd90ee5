package io.pagemark;

/**
 * The one unchecked exception pagemark throws for conditions a caller should read and act on: a backend
 * that is not usable on this kernel, a failed system call, a bad argument that is not simply an
 * {@link IllegalArgumentException}. Its message always says what failed and what would fix it.
 *
 * <pre>{@code
 * try (TrackedArena arena = TrackedArena.builder().size(1 << 20).backend("uffd-async").open()) {
 *     ...
 * } catch (PagemarkException e) {
 *     System.err.println(e.getMessage());   // e.g. "backend uffd-async is not usable here: ..."
 * }
 * }</pre>
 */
public class PagemarkException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** An exception with a message that says what went wrong and what to do about it. */
    public PagemarkException(String message) {
        super(message);
    }

    /** As {@link #PagemarkException(String)}, keeping the underlying cause. */
    public PagemarkException(String message, Throwable cause) {
        super(message, cause);
    }
}

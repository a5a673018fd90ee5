package io.pagemark.linux;

import io.pagemark.PagemarkException;

/**
 * A failed Linux call: names the call, the errno by name, and what it means for the user.
 * Message shape: {@code "userfaultfd(O_CLOEXEC) failed: EPERM: needs CAP_SYS_PTRACE, ..."}.
 */
public final class LinuxException extends PagemarkException {
    private static final long serialVersionUID = 1L;

    private final String call;
    private final int errno;

    public LinuxException(String call, int errno, String meaning) {
        super(call + " failed: " + Errno.name(errno) + (meaning == null || meaning.isEmpty() ? "" : ": " + meaning));
        this.call = call;
        this.errno = errno;
    }

    /** The call that failed, with its salient arguments, e.g. {@code "ioctl(UFFDIO_API)"}. */
    public String call() {
        return call;
    }

    /** The errno the call left, see {@link Errno}. */
    public int errno() {
        return errno;
    }
}

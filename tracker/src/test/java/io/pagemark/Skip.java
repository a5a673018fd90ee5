package io.pagemark;

import org.junit.jupiter.api.Assumptions;

/** Skips a test that needs something this kernel lacks, printing why, so a skip is never silent. */
final class Skip {
    private Skip() {}

    /** Skips the calling test (or, from {@code @BeforeAll}, its class) unless {@code condition}; prints {@code reason}. */
    static void unless(boolean condition, String reason) {
        if (!condition) {
            System.out.println("SKIPPED " + StackWalker.getInstance(StackWalker.Option.RETAIN_CLASS_REFERENCE)
                    .getCallerClass().getSimpleName() + ": " + reason);
        }
        Assumptions.assumeTrue(condition, reason);
    }
}

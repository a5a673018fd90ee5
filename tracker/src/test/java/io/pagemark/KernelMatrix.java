package io.pagemark;

import org.junit.jupiter.api.Tag;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Marks a test class or method that runs on every kernel of the kernel matrix: on the host with the
 * rest of the suite, and again inside each guest kernel (JUnit tag {@value #TAG}), where
 * {@code tracker/src/test/kernel-vm/guest-tests.sh} runs the tagged tests with plain {@code java}.
 * Java runs 15-25x slower there (software emulation), and a fault that wakes another thread costs
 * milliseconds, so tag only what depends on the kernel, keep it lean, and make it assert outcomes,
 * not throughput.
 */
@Target({ElementType.TYPE, ElementType.METHOD})
@Retention(RetentionPolicy.RUNTIME)
@Tag(KernelMatrix.TAG)
public @interface KernelMatrix {
    String TAG = "kernel-matrix";

    /** The environment variable the harness sets in the guest to the guest kernel's name (e.g. "debian-6.1"); unset on the host. */
    String GUEST_KERNEL_ENV = "PAGEMARK_GUEST_KERNEL";
}

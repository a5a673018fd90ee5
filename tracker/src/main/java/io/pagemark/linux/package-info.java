/**
 * The Linux bindings, through FFM: libc calls (mmap, mprotect, madvise, ioctl, ...), userfaultfd,
 * pagemap and PAGEMAP_SCAN, the kernel probes. No pagemark logic: each call as the kernel documents
 * it, its errors as {@link io.pagemark.linux.LinuxException}. Internal (not exported).
 */
package io.pagemark.linux;

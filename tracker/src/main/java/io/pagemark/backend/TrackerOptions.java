package io.pagemark.backend;

/**
 * Settings a tracker is opened with, gathered by {@code TrackedArena.Builder}.
 *
 * @param forcePopulate populate every page before each arm even where the kernel offers
 *                      UFFD_FEATURE_WP_UNPOPULATED (the path kernels before 6.4 take)
 */
public record TrackerOptions(boolean forcePopulate) {
    public static final TrackerOptions DEFAULTS = new TrackerOptions(false);
}

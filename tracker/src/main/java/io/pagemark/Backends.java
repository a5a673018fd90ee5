package io.pagemark;

import io.pagemark.backend.CardTableTracker;
import io.pagemark.backend.MappedRegion;
import io.pagemark.backend.MprotectTracker;
import io.pagemark.backend.PageTracker;
import io.pagemark.backend.SoftDirtyTracker;
import io.pagemark.backend.TrackerOptions;
import io.pagemark.backend.UffdAsyncTracker;
import io.pagemark.backend.UffdSigbusTracker;
import io.pagemark.backend.UffdSyncTracker;

import java.util.List;

/** The registry that maps a {@link Backend} to its availability check and its tracker. */
final class Backends {
    /** The order {@link Backend#AUTO} tries: the hardware backends, best first. */
    static final List<Backend> AUTO_PREFERENCE = List.of(Backend.UFFD_ASYNC, Backend.UFFD_SYNC, Backend.UFFD_SIGBUS, Backend.MPROTECT);

    private Backends() {}

    /** Null if {@code backend} can run here, else why not. */
    static String unusableReason(Backend backend) {
        return switch (backend) {
            case AUTO -> throw new IllegalArgumentException("auto is resolved, not probed");
            case UFFD_ASYNC -> UffdAsyncTracker.unusableReason();
            case CARD_TABLE -> null;
            case UFFD_SYNC -> UffdSyncTracker.unusableReason();
            case UFFD_SIGBUS -> UffdSigbusTracker.unusableReason();
            case MPROTECT -> MprotectTracker.unusableReason();
            case SOFT_DIRTY -> SoftDirtyTracker.unusableReason();
        };
    }

    static PageTracker open(Backend backend, MappedRegion region, TrackerOptions options) {
        return switch (backend) {
            case UFFD_ASYNC -> new UffdAsyncTracker(region, options.forcePopulate());
            case UFFD_SYNC -> UffdSyncTracker.open(region, options);
            case UFFD_SIGBUS -> UffdSigbusTracker.open(region, options);
            case MPROTECT -> MprotectTracker.open(region, options);
            case CARD_TABLE -> new CardTableTracker(region);
            case SOFT_DIRTY -> new SoftDirtyTracker(region);
            default -> throw new PagemarkException("backend " + backend + " is not usable here: " + unusableReason(backend));
        };
    }
}

package io.pagemark.checkpoint;

import io.pagemark.Backend;
import io.pagemark.TrackedArena;

import java.nio.file.Path;

/**
 * The child JVM of {@link CheckpointUnprivilegedTest}, run as an unprivileged user. Arguments are
 * pairs {@code operation directory}; for each it prints {@code operation directory: ok} or
 * {@code operation directory: ExceptionClass: message}, one line. Operations: {@code open} (a
 * Checkpointer on a 16-page card-table arena), {@code checkpoint} (open, then one checkpoint),
 * {@code compact} (offline compaction).
 */
public final class CheckpointUnprivilegedChild {
    private CheckpointUnprivilegedChild() {}

    public static void main(String[] args) {
        for (int i = 0; i + 1 < args.length; i += 2) {
            String operation = args[i];
            Path dir = Path.of(args[i + 1]);
            String outcome;
            try {
                switch (operation) {
                    case "open", "checkpoint" -> {
                        try (TrackedArena arena = TrackedArena.builder().size(16 * 4096).backend(Backend.CARD_TABLE).open();
                             Checkpointer checkpointer = Checkpointer.open(arena, dir)) {
                            if (operation.equals("checkpoint")) checkpointer.checkpoint();
                        }
                    }
                    case "compact" -> Checkpointer.compact(dir);
                    default -> throw new IllegalArgumentException("unknown operation " + operation + " (open, checkpoint, compact)");
                }
                outcome = "ok";
            } catch (Exception e) {
                outcome = e.getClass().getName() + ": " + e.getMessage();
            }
            System.out.println(operation + " " + dir + ": " + outcome);
        }
    }
}

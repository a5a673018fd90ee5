package io.pagemark.checkpoint;

import io.pagemark.TrackedArena;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.SplittableRandom;
import java.util.zip.CRC32C;

/**
 * The process {@link CheckpointCrashTest} kills: continues the chain in a directory (restoring it
 * first), then writes random pages and checkpoints at quiet points until it is killed. Before each
 * checkpoint it logs the digest of the arena ("intent"), after it the sequence published
 * ("published"), so the killer knows which states a restore may rebuild. Log lines are written with
 * write(2), so a SIGKILL loses none that were written.
 */
public final class CheckpointCrashChild {
    static final long ARENA_BYTES = 8L << 20;

    private CheckpointCrashChild() {}

    public static void main(String[] args) throws IOException {
        Path dir = Path.of(args[0]);
        Path log = Path.of(args[1]);
        SplittableRandom random = new SplittableRandom(Long.parseLong(args[2]));
        TrackedArena arena = Files.exists(dir.resolve(ChainDirectory.MANIFEST))
                ? Checkpointer.restore(dir, TrackedArena.builder())
                : TrackedArena.open(ARENA_BYTES);
        try (arena;
             Checkpointer checkpointer = Checkpointer.open(arena, dir);
             FileChannel logChannel = FileChannel.open(log, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND)) {
            System.out.println("ready");
            System.out.flush();
            byte[] page = new byte[(int) arena.pageSize()];
            for (long round = 0; ; round++) {
                int pages = 1 + random.nextInt((int) (arena.pageCount() / 4));
                for (int i = 0; i < pages; i++) {
                    long at = random.nextLong(arena.pageCount()) * arena.pageSize();
                    if (random.nextBoolean()) {
                        random.nextBytes(page);
                        arena.put(at, page, 0, page.length);
                    } else {
                        arena.putLong(at + 8L * random.nextInt(page.length / 8), random.nextLong());
                    }
                }
                String digest = digest(arena.segment());
                log(logChannel, "intent " + digest);
                Checkpoint published = checkpointer.checkpoint();
                log(logChannel, "published " + published.sequence() + " " + digest);
                if (round % 5 == 4) {
                    log(logChannel, "compacting");
                    checkpointer.compact();
                    log(logChannel, "compacted");
                }
            }
        }
    }

    static String digest(MemorySegment memory) {
        CRC32C crc = new CRC32C();
        crc.update(memory.asByteBuffer());
        return Long.toHexString(crc.getValue());
    }

    private static void log(FileChannel channel, String line) throws IOException {
        ByteBuffer bytes = ByteBuffer.wrap((line + "\n").getBytes(StandardCharsets.US_ASCII));
        while (bytes.hasRemaining()) channel.write(bytes);
    }
}

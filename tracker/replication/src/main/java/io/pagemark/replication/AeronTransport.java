package io.pagemark.replication;

import io.aeron.Aeron;
import io.aeron.driver.MediaDriver;
import io.aeron.driver.ThreadingMode;
import io.pagemark.PagemarkException;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The Aeron messaging engine a {@link Replicator} or a {@link Replica} talks through: an embedded
 * media driver, started here and stopped on {@link #close()}, or an external one the user runs.
 *
 * <pre>{@code
 * try (AeronTransport transport = AeronTransport.embedded()) {          // a private driver for this process
 *     ... Replicator.builder().transport(transport) ...
 * }
 * AeronTransport shared = AeronTransport.external(Path.of("/dev/shm/aeron-root"));   // a driver you run (aeronmd, MediaDriver)
 * }</pre>
 *
 * <p><b>The embedded driver's directory</b> is private to this process: {@code pagemark-aeron-<pid>-<random>}
 * under {@code /dev/shm} (else {@code java.io.tmpdir}), removed when the transport closes. A process
 * killed before it could close leaves its directory behind; the next embedded transport removes the
 * directories of processes that no longer exist. The driver runs its conductor, sender and receiver
 * on one thread ({@link ThreadingMode#SHARED}): replication needs one stream each way, and the
 * machines this targets have few CPUs.
 */
public final class AeronTransport implements AutoCloseable {
    private static final String PREFIX = "pagemark-aeron-";
    private static final Pattern OWNED = Pattern.compile(Pattern.quote(PREFIX) + "(\\d+)-[0-9a-f]+");

    private final MediaDriver driver;
    private final Aeron aeron;
    private final Path directory;
    private boolean closed;

    private AeronTransport(MediaDriver driver, Aeron aeron, Path directory) {
        this.driver = driver;
        this.aeron = aeron;
        this.directory = directory;
    }

    /** Starts an embedded media driver in a fresh private directory and connects to it. */
    public static AeronTransport embedded() {
        return embedded(context -> {});
    }

    /** The same, with the driver's context adjusted first (tests inject Aeron's loss generators this way). */
    static AeronTransport embedded(Consumer<MediaDriver.Context> adjust) {
        Path parent = Files.isDirectory(Path.of("/dev/shm")) ? Path.of("/dev/shm") : Path.of(System.getProperty("java.io.tmpdir"));
        removeAbandoned(parent);
        Path dir = parent.resolve(PREFIX + ProcessHandle.current().pid() + "-" + Long.toHexString(ThreadLocalRandom.current().nextLong() >>> 1));
        MediaDriver.Context context = new MediaDriver.Context()
                .aeronDirectoryName(dir.toString())
                .threadingMode(ThreadingMode.SHARED)
                .dirDeleteOnStart(true)
                .dirDeleteOnShutdown(true)
                .warnIfDirectoryExists(false);
        adjust.accept(context);
        MediaDriver driver;
        try {
            driver = MediaDriver.launchEmbedded(context);
        } catch (RuntimeException e) {
            deleteTree(dir);
            throw new PagemarkException("could not start an embedded Aeron media driver in " + dir + ": " + e.getMessage(), e);
        }
        try {
            return new AeronTransport(driver, connect(driver.aeronDirectoryName()), dir);
        } catch (RuntimeException e) {
            driver.close();
            deleteTree(dir);
            throw e;
        }
    }

    /**
     * Connects to a media driver that is already running with the directory {@code aeronDirectory}
     * (its {@code aeron.dir}). Closing the transport leaves the driver running.
     *
     * @throws PagemarkException if no live driver uses that directory
     */
    public static AeronTransport external(Path aeronDirectory) {
        Objects.requireNonNull(aeronDirectory, "aeronDirectory");
        if (!Files.isDirectory(aeronDirectory)) {
            throw new PagemarkException("no Aeron media driver directory at " + aeronDirectory
                    + ": start the driver first (its aeron.dir), or use AeronTransport.embedded()");
        }
        return new AeronTransport(null, connect(aeronDirectory.toString()), null);
    }

    private static Aeron connect(String directory) {
        try {
            return Aeron.connect(new Aeron.Context().aeronDirectoryName(directory).driverTimeoutMs(10_000));
        } catch (RuntimeException e) {
            throw new PagemarkException("could not connect to the Aeron media driver in " + directory + ": " + e.getMessage(), e);
        }
    }

    /** The Aeron client, for streams of your own on the same driver (closed with the transport). */
    public Aeron aeron() {
        return aeron;
    }

    /** The driver's directory (the embedded one's private directory, or the external one's). */
    public Path directory() {
        return Path.of(aeron.context().aeronDirectoryName());
    }

    /** True when this transport started its own driver. */
    public boolean isEmbedded() {
        return driver != null;
    }

    /** Closes the client, then the embedded driver and its directory. Idempotent. */
    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        try {
            aeron.close();
        } finally {
            if (driver != null) {
                driver.close();
                deleteTree(directory);
            }
        }
    }

    /**
     * Removes the directories that embedded drivers of processes no longer running left behind (a
     * process killed with SIGKILL cannot remove its own); {@link #embedded()} does this first too.
     * A supervisor that killed a replicating process can call it at once.
     */
    public static void removeAbandonedDirectories() {
        removeAbandoned(Files.isDirectory(Path.of("/dev/shm")) ? Path.of("/dev/shm") : Path.of(System.getProperty("java.io.tmpdir")));
    }

    /** Removes the embedded-driver directories under {@code parent} whose process is gone. */
    private static void removeAbandoned(Path parent) {
        try (Stream<Path> entries = Files.list(parent)) {
            for (Path p : entries.toList()) {
                Matcher m = OWNED.matcher(p.getFileName().toString());
                if (!m.matches()) continue;
                Optional<ProcessHandle> owner = ProcessHandle.of(Long.parseLong(m.group(1)));
                if (owner.isEmpty() || !owner.get().isAlive()) deleteTree(p);
            }
        } catch (IOException | NumberFormatException e) {
            // Nothing to clean, or not ours to read: a stale directory only costs its space.
        }
    }

    private static void deleteTree(Path dir) {
        if (!Files.exists(dir)) return;
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        } catch (IOException e) {
            throw new UncheckedIOException("could not remove the Aeron directory " + dir, e);
        }
    }

    @Override
    public String toString() {
        return "AeronTransport[" + (driver != null ? "embedded" : "external") + " driver, " + directory() + "]";
    }
}

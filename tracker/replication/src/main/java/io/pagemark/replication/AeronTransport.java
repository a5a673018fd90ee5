package io.pagemark.replication;

import io.aeron.Aeron;
import io.aeron.driver.MediaDriver;
import io.aeron.driver.ThreadingMode;
import io.aeron.driver.status.SystemCounterDescriptor;
import io.pagemark.PagemarkException;
import org.agrona.concurrent.status.CountersReader;

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
    /** The receiver window {@link #udpChannel} asks for, when net.core.rmem_max allows a socket buffer twice its size. */
    public static final int UDP_RECEIVER_WINDOW = 2 << 20;
    private static final int UDP_MTU = 8 << 10;
    private static final Path RMEM_MAX = Path.of("/proc/sys/net/core/rmem_max");
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

    /**
     * A UDP channel to {@code endpoint} ({@code host:port}) for streams of 4 KiB page records: an 8 KiB
     * MTU (one record a frame), 16 MiB terms, a receiver window ({@code rcv-wnd}) of
     * {@value #UDP_RECEIVER_WINDOW} bytes, and a socket receive buffer ({@code so-rcvbuf}) twice the window.
     *
     * <p>Twice, because the kernel charges each datagram its buffer's whole allocation, about twice a
     * page record's bytes: a buffer the size of the window overflows once the receiving driver falls a
     * window behind (descheduled on a busy machine), and every datagram dropped then costs a NAK and a
     * retransmission, a round trip or more each (docs/migration.md). The kernel clamps SO_RCVBUF to
     * {@code net.core.rmem_max} without a word; when that is under twice the window, the window here is
     * half of it instead. For the full window set {@code sysctl -w net.core.rmem_max=4194304} (or more)
     * on the receiving host.
     */
    public static String udpChannel(String endpoint) {
        Objects.requireNonNull(endpoint, "endpoint");
        int window = udpReceiverWindow(rmemMax());
        return "aeron:udp?endpoint=" + endpoint + "|mtu=" + UDP_MTU + "|term-length=16m|rcv-wnd=" + window + "|so-rcvbuf=" + 2 * window;
    }

    /** The receiver window for a host whose largest socket receive buffer is {@code rmemMax} bytes (0: unknown). */
    static int udpReceiverWindow(long rmemMax) {
        if (rmemMax <= 0) return UDP_RECEIVER_WINDOW;
        long half = Math.min(UDP_RECEIVER_WINDOW, rmemMax / 2) & -UDP_MTU;
        return (int) Math.max(UDP_MTU, half);
    }

    /** net.core.rmem_max, or 0 where it cannot be read (not Linux). */
    static long rmemMax() {
        try {
            // readAllLines, not readString: procfs reports a size of 0, and readString of it came back truncated.
            return Long.parseLong(Files.readAllLines(RMEM_MAX).getFirst().trim());
        } catch (IOException | RuntimeException unreadable) {
            return 0;
        }
    }

    /**
     * The loss counters of this transport's driver, all its streams together (Aeron's system counters).
     *
     * @param naksSent        gaps this driver's receivers asked to be sent again
     * @param naksReceived    such requests this driver's senders received
     * @param retransmitsSent frames this driver's senders sent again
     * @param lossGapFills    gaps its receivers gave up on and filled with padding (lost for good)
     */
    public record LossCounters(long naksSent, long naksReceived, long retransmitsSent, long lossGapFills) {
        /** This minus {@code earlier}: what happened in between. */
        public LossCounters since(LossCounters earlier) {
            return new LossCounters(naksSent - earlier.naksSent, naksReceived - earlier.naksReceived,
                    retransmitsSent - earlier.retransmitsSent, lossGapFills - earlier.lossGapFills);
        }
    }

    /** The driver's loss counters now (an external driver's count every client's streams). */
    public LossCounters lossCounters() {
        SystemCounterDescriptor[] wanted = {SystemCounterDescriptor.NAK_MESSAGES_SENT, SystemCounterDescriptor.NAK_MESSAGES_RECEIVED,
                SystemCounterDescriptor.RETRANSMITS_SENT, SystemCounterDescriptor.LOSS_GAP_FILLS};
        long[] values = new long[wanted.length];
        CountersReader counters = aeron.countersReader();
        counters.forEach((counterId, typeId, key, label) -> {
            if (typeId != SystemCounterDescriptor.SYSTEM_COUNTER_TYPE_ID) return;
            for (int i = 0; i < wanted.length; i++) if (key.getInt(0) == wanted[i].id()) values[i] = counters.getCounterValue(counterId);
        });
        return new LossCounters(values[0], values[1], values[2], values[3]);
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

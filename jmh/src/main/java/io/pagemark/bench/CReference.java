package io.pagemark.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * The C reference program ({@code jmh/src/main/c/reference.c}, built into this jar by the Maven build):
 * the kernel calls pagemark's backends make, timed from C on the same sizes, so that a Java-driven cost
 * is set beside the C cost measured on the same machine in the same run. Also the anchors the
 * benchmarks compare with but that are not Java at all: {@code fork()} of a process holding the same
 * populated memory, a stop-the-world {@code memcpy}.
 *
 * <pre>{@code
 * CReference.Measurement m = CReference.measure(CReference.FORK, Map.of(CReference.SIZE, Long.toString(1L << 30), CReference.THP, "true"));
 * double pauseNanos = m.medianNanos();
 * }</pre>
 *
 * The measurements and their options are described in reference.c's header. Each call runs the program
 * once, in a fresh process (so a large mapping of one measurement never weighs on the next).
 */
public final class CReference {
    /** Where the build puts the program inside the jar. */
    static final String RESOURCE = "/io/pagemark/bench/native/linux-x86_64/pagemark-reference";

    /** Arm, then one store per page in order; per page (option {@link #TIMED}: the median store timed alone). */
    public static final String FIRST_WRITE = "first-write";
    /** uffd-async's collect: the PAGEMAP_SCAN loop that reports and re-protects the dirty pages. */
    public static final String PAGEMAP_SCAN = "pagemap-scan";
    /** UFFDIO_WRITEPROTECT of the whole populated range: a full arm. */
    public static final String WRITEPROTECT = "writeprotect";
    /** A stop-the-world memcpy of the dirty pages (100%: of the whole range). */
    public static final String MEMCPY = "memcpy";
    /**
     * The synchronous backends' collect (option {@link #BACKEND}: uffd-sync, uffd-sigbus, mprotect): the dirty pages
     * re-protected with the calls rearm.c makes for them, after an untimed unprotect of each.
     */
    public static final String REPROTECT = "reprotect";
    /** fork() of a process holding the populated range, in the parent until it returns. */
    public static final String FORK = "fork";
    /** pread of the range's pagemap entries and the soft-dirty bit test. */
    public static final String PAGEMAP_READ = "pagemap-read";
    /** An 8-byte store and a release store of its card byte; per store. */
    public static final String CARD_MARK = "card-mark";

    /** Option: the range's size in bytes (default 256 MiB). */
    public static final String SIZE = "size";
    /** Option: the share of pages dirtied, as {@link PageOrder#sample} picks them (default 1). */
    public static final String DIRTY_PERCENT = "dirtyPercent";
    /** Option of {@link #FIRST_WRITE} (uffd-async, uffd-sync, uffd-sigbus or mprotect) and {@link #REPROTECT} (the last three). */
    public static final String BACKEND = "backend";
    /** Option: "true" for a range of transparent huge pages (the program fails if the kernel gives too few). */
    public static final String THP = "thp";
    /** Option of {@link #FIRST_WRITE}: "true" to time every store alone. */
    public static final String TIMED = "timed";
    /**
     * Option: "true" to give the C process a second thread on another CPU, waking now and then (reference.c's
     * {@code --sibling}): the kernel's TLB flushes then cost what they cost in any multi-threaded process, a JVM's included.
     */
    public static final String SIBLING = "sibling";
    /** Option: as {@link #SIBLING}, but the second thread never sleeps (reference.c's {@code --busy-sibling}): every flush interrupts its CPU. */
    public static final String BUSY_SIBLING = "busySibling";
    /** Option: at most this many samples (default 100). */
    public static final String SAMPLES = "samples";
    /** Option: stop sampling after this many seconds (default 3). */
    public static final String MAX_SECONDS = "maxSeconds";

    /** The program's exit status when the kernel lacks what a measurement needs. */
    private static final int UNAVAILABLE = 3;
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Map<String, String> FLAGS = Map.of(SIZE, "--size", DIRTY_PERCENT, "--dirty-percent", BACKEND, "--backend",
            SAMPLES, "--samples", MAX_SECONDS, "--max-seconds");
    private static final Map<String, String> SWITCHES = Map.of(THP, "--thp", TIMED, "--timed", SIBLING, "--sibling", BUSY_SIBLING, "--busy-sibling");

    private CReference() {}

    /**
     * One measurement's result, times per operation in nanoseconds.
     *
     * @param measurement the measurement's name
     * @param options     the options it was asked for (as passed to {@link #measure})
     * @param medianNanos the median of its values
     * @param samples     samples taken (a timed first write records a value per page of each)
     */
    public record Measurement(String measurement, Map<String, String> options, double medianNanos, double minNanos,
                              double maxNanos, long samples) {}

    /** The kernel here lacks what the measurement needs (the message says what). */
    public static final class UnavailableException extends RuntimeException {
        UnavailableException(String message) {
            super(message);
        }
    }

    /**
     * Runs {@code measurement} with {@code options} (keys: the option constants above, values as strings).
     *
     * @throws IllegalArgumentException     on an unknown option
     * @throws UnavailableException         if this kernel lacks what it needs
     * @throws IllegalStateException        if the program failed, with its message
     */
    public static Measurement measure(String measurement, Map<String, String> options) {
        List<String> command = new ArrayList<>(List.of(measurement));
        new TreeMap<>(options).forEach((key, value) -> {
            if (FLAGS.containsKey(key)) {
                command.add(FLAGS.get(key));
                command.add(value);
            } else if (SWITCHES.containsKey(key)) {
                if (Boolean.parseBoolean(value)) command.add(SWITCHES.get(key));
            } else {
                TreeMap<String, String> known = new TreeMap<>(FLAGS);
                known.putAll(SWITCHES);
                throw new IllegalArgumentException("unknown option '" + key + "' of the C reference: expected one of " + known.keySet());
            }
        });
        JsonNode out = run(command);
        Measurement m = new Measurement(measurement, Map.copyOf(options), out.get("median").asDouble(), out.get("min").asDouble(),
                out.get("max").asDouble(), out.get("samples").asLong());
        if (options.containsKey(DIRTY_PERCENT) && (measurement.equals(PAGEMAP_SCAN) || measurement.equals(MEMCPY) || measurement.equals(REPROTECT))) {
            checkPages(out, Long.parseLong(options.getOrDefault(SIZE, Long.toString(256L << 20))), Double.parseDouble(options.get(DIRTY_PERCENT)));
        }
        return m;
    }

    /** The C program must dirty the pages the benchmarks dirty: the same kernel work, not merely as many pages. */
    private static void checkPages(JsonNode out, long size, double percent) {
        long pageSize = io.pagemark.Capabilities.probe().pageSize();
        long digest = 0xcbf29ce484222325L;
        for (int page : PageOrder.sample(PageOrder.pageCount(size, pageSize), percent)) {
            for (int b = 0; b < 4; b++) digest = (digest ^ ((page >>> (8 * b)) & 0xff)) * 0x100000001b3L;
        }
        String expected = HexFormat.of().toHexDigits(digest);
        String got = out.get("pageDigest").asText();
        if (!expected.equals(got)) {
            throw new IllegalStateException("the C reference dirtied other pages than PageOrder.sample(" + percent + "%): page digest "
                    + got + ", expected " + expected + " (reference.c's copy of SplittableRandom no longer matches the JDK's)");
        }
    }

    private static JsonNode run(List<String> arguments) {
        Path directory = null, program = null;
        try {
            directory = Files.createTempDirectory("pagemark-reference-", PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            program = directory.resolve("pagemark-reference");
            try (InputStream in = CReference.class.getResourceAsStream(RESOURCE)) {
                if (in == null) throw new IllegalStateException("the C reference " + RESOURCE + " is not on the class path (build with ./mvnw, which compiles it with gcc)");
                Files.write(program, in.readAllBytes(), StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
            }
            Files.setPosixFilePermissions(program, PosixFilePermissions.fromString("r-x------"));
            List<String> command = new ArrayList<>(List.of(program.toString()));
            command.addAll(arguments);
            Process process = new ProcessBuilder(command).start();
            CompletableFuture<String> stderr = CompletableFuture.supplyAsync(() -> readAll(process.getErrorStream()));
            String stdout = readAll(process.getInputStream());
            if (!process.waitFor(10, TimeUnit.MINUTES)) {
                process.destroyForcibly();
                throw new IllegalStateException("the C reference did not finish within 10 minutes: " + String.join(" ", arguments));
            }
            String errors = stderr.join().strip();
            if (process.exitValue() == UNAVAILABLE) throw new UnavailableException(errors);
            if (process.exitValue() != 0) {
                throw new IllegalStateException("the C reference failed (exit " + process.exitValue() + "): " + errors);
            }
            return JSON.readTree(stdout);
        } catch (IOException e) {
            throw new UncheckedIOException("running the C reference " + String.join(" ", arguments), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while the C reference ran", e);
        } finally {
            try {
                if (program != null) Files.deleteIfExists(program);
                if (directory != null) Files.deleteIfExists(directory);
            } catch (IOException e) {
                // Left in java.io.tmpdir; nothing depends on it.
            }
        }
    }

    private static String readAll(InputStream in) {
        try (in) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}

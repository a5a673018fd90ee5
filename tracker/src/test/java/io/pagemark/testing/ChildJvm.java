package io.pagemark.testing;

import io.pagemark.linux.Libc;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.net.URISyntaxException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.stream.Stream;

/**
 * Runs a main class in a child JVM (same JDK, the run flags pagemark needs) and watches it from the
 * outside: a JVM stuck at a safepoint cannot watch itself, since every Java thread, a watchdog
 * included, stops at the next safepoint poll.
 */
public final class ChildJvm {
    /**
     * pagemark's run-time flags, as this JVM was given them (by surefire or the kernel-matrix harness,
     * both from the parent pom's pagemark.runFlags, the one place they are spelled).
     */
    public static final List<String> RUN_FLAGS = flagsGiven(flag -> flag.startsWith("--enable-native-access") || flag.startsWith("--add-exports"));

    /**
     * The JIT tier limit this JVM was given, if any, for its children: in the emulated guest
     * (guest-tests.sh) children compile as the guest's JVM does, C1 only. Full tiering there crashed
     * children: each C2 compilation patches the entry of the C1 code other threads are running, and
     * the emulator now and then resumed a thread inside the patched instruction (docs/kernel-matrix.md).
     */
    public static final List<String> JIT_FLAGS = flagsGiven(flag -> flag.startsWith("-XX:TieredStopAtLevel="));

    /** nobody's uid (and nogroup's gid): the unprivileged user children run as. */
    public static final int NOBODY = 65534;

    /** The command prefix that runs a child as {@link #NOBODY} (see {@link #unprivilegedUnavailable()}). */
    public static final List<String> AS_NOBODY = List.of("/usr/bin/setpriv", "--reuid=" + NOBODY, "--regid=" + NOBODY, "--clear-groups");

    private ChildJvm() {}

    /** The flags this JVM was started with that {@code kind} accepts, in their order. */
    private static List<String> flagsGiven(Predicate<String> kind) {
        return ManagementFactory.getRuntimeMXBean().getInputArguments().stream().filter(kind).toList();
    }

    /** Why a child cannot be run as {@link #NOBODY} here (for a skip message), or null if it can. */
    public static String unprivilegedUnavailable() {
        if (Libc.geteuid() != 0) return "needs root to start a child as another user (running as uid " + Libc.geteuid() + ")";
        if (!Files.isExecutable(Path.of(AS_NOBODY.getFirst()))) return "needs " + AS_NOBODY.getFirst() + " (util-linux) to start a child as nobody";
        return null;
    }

    /**
     * Copies this JVM's class path (directories and jars) into {@code dir}, readable by everyone, for a
     * child run as another user (the originals may sit in a directory only root can read); returns the new class path.
     */
    public static String classPathReadableByAll(Path dir) throws IOException {
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        List<String> entries = new ArrayList<>();
        int i = 0;
        for (String entry : classPath().split(File.pathSeparator)) {
            Path source = Path.of(entry);
            if (!Files.exists(source)) continue;
            Path target = dir.resolve(i++ + "-" + source.getFileName());
            try (Stream<Path> files = Files.walk(source)) {
                for (Path p : files.toList()) {
                    Path copy = target.resolve(source.relativize(p).toString());
                    if (Files.isDirectory(p)) Files.createDirectories(copy);
                    else Files.copy(p, copy, StandardCopyOption.REPLACE_EXISTING);
                    Files.setPosixFilePermissions(copy, PosixFilePermissions.fromString(Files.isDirectory(p) ? "rwxr-xr-x" : "rw-r--r--"));
                }
            }
            entries.add(target.toString());
        }
        return String.join(File.pathSeparator, entries);
    }

    /**
     * The command: {@code prefix... java RUN_FLAGS JIT_FLAGS -XX:+ErrorFileToStdout jvmOptions... -cp classPath main args...}.
     * A child that crashes prints its error report where the test shows it: a report file left in the
     * guest's overlay would never come back to the host.
     */
    public static List<String> command(List<String> prefix, List<String> jvmOptions, String classPath, Class<?> main, String... args) {
        List<String> cmd = new ArrayList<>(prefix);
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(RUN_FLAGS);
        cmd.addAll(JIT_FLAGS);
        cmd.add("-XX:+ErrorFileToStdout");
        cmd.addAll(jvmOptions);
        cmd.add("-cp");
        cmd.add(classPath);
        cmd.add(main.getName());
        cmd.addAll(List.of(args));
        return cmd;
    }

    /**
     * This JVM's class path: java.class.path (surefire sets it to the test class path), and the entries
     * of the class loader that loaded the tests where that is a launcher's own (the guest's JUnit console
     * launcher takes the tests through its --class-path: guest-tests.sh).
     */
    public static String classPath() {
        List<String> entries = new ArrayList<>(List.of(System.getProperty("java.class.path").split(File.pathSeparator)));
        if (ChildJvm.class.getClassLoader() instanceof URLClassLoader loader) {
            for (URL url : loader.getURLs()) {
                try {
                    entries.add(Path.of(url.toURI()).toString());
                } catch (URISyntaxException e) {
                    throw new IllegalStateException("a class path entry that is no file: " + url, e);
                }
            }
        }
        return String.join(File.pathSeparator, entries);
    }

    /** What a watched run printed, and how it ended. */
    public record Outcome(int exitCode, List<String> lines) {
        public String output() {
            return String.join("\n", lines);
        }
    }

    /**
     * Runs {@code command} (stderr merged into stdout) until it exits. {@code progress} is shown each
     * output line; if it accepts none for {@code stallSeconds}, or the run exceeds {@code maxSeconds},
     * the child is taken to be stuck: its threads' states are recorded, it is killed, and an
     * AssertionError carries what it printed and where its threads were.
     */
    public static Outcome runWatched(List<String> command, Predicate<String> progress, long stallSeconds, long maxSeconds)
            throws IOException, InterruptedException {
        Process child = new ProcessBuilder(command).redirectErrorStream(true).start();
        LinkedBlockingQueue<String> queue = new LinkedBlockingQueue<>();
        Thread reader = Thread.ofPlatform().daemon().start(() -> {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = in.readLine()) != null; ) queue.add(line);
            } catch (IOException e) {
                queue.add("(reading the child's output failed: " + e + ")");
            }
        });
        List<String> lines = new ArrayList<>();
        long start = System.nanoTime(), lastProgress = start;
        while (child.isAlive() || reader.isAlive() || !queue.isEmpty()) {
            String line = queue.poll(200, TimeUnit.MILLISECONDS);
            long now = System.nanoTime();
            if (line != null) {
                lines.add(line);
                if (progress.test(line)) lastProgress = now;
            }
            boolean stalled = now - lastProgress > TimeUnit.SECONDS.toNanos(stallSeconds);
            boolean tooLong = now - start > TimeUnit.SECONDS.toNanos(maxSeconds);
            if (child.isAlive() && (stalled || tooLong)) {
                String threads = threadStates(child.pid());
                child.destroyForcibly().waitFor();
                throw new AssertionError("child JVM " + (stalled ? "made no progress for " + stallSeconds + " s" : "ran over " + maxSeconds + " s")
                        + "; killed. Its threads (state, kernel wait channel, system call, kernel stack):\n" + threads + "\nIts output:\n" + String.join("\n", lines));
            }
        }
        return new Outcome(child.waitFor(), lines);
    }

    /**
     * Every thread of process {@code pid}: name, scheduler state, kernel wait channel, the system call it
     * is in and the top of its kernel stack (from /proc; needs no cooperation; the stack needs root).
     */
    static String threadStates(long pid) {
        StringBuilder sb = new StringBuilder();
        try (Stream<Path> tasks = Files.list(Path.of("/proc", Long.toString(pid), "task"))) {
            for (Path task : tasks.sorted().toList()) {
                String comm = read(task.resolve("comm"));
                String stat = read(task.resolve("stat"));
                String state = stat.substring(stat.lastIndexOf(')') + 2).split(" ")[0];
                sb.append("  ").append(task.getFileName()).append(' ').append(comm).append(' ').append(state)
                        .append(' ').append(read(task.resolve("wchan")))
                        .append(" syscall ").append(read(task.resolve("syscall")).split(" ")[0])
                        .append(' ').append(String.join(" < ", read(task.resolve("stack")).lines().limit(4)
                                .map(frame -> frame.replaceFirst("^\\[<[0-9a-f]+>\\] ", "")).toList()))
                        .append('\n');
            }
        } catch (IOException | RuntimeException e) {
            sb.append("  (unreadable: ").append(e).append(")\n");
        }
        return sb.toString();
    }

    private static String read(Path file) {
        try {
            return Files.readString(file).trim();
        } catch (IOException e) {
            return "?";
        }
    }
}

package io.pagemark.agent;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.jar.Attributes;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;

/**
 * A JVM started by an agent test: this test JVM's class path and run flags, optionally the agent
 * (the tracker's tests have io.pagemark.testing.ChildJvm, which watches a child for stalls). The
 * agent jar is the shaded jar's manifest over this class path (the same classes, unshaded), so the
 * tests run in the test phase, before the shaded jar exists.
 */
final class AgentJvm {
    private static final Path AGENT_JAR = Path.of("target", "test-agent", "pagemark-agent.jar").toAbsolutePath();

    private final Process process;
    private final CompletableFuture<List<String>> stdout;
    private final CompletableFuture<List<String>> stderr;
    private final BufferedReader lines;

    private AgentJvm(Process process) {
        this.process = process;
        this.lines = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        this.stdout = new CompletableFuture<>();
        this.stderr = CompletableFuture.supplyAsync(() -> readAll(new BufferedReader(
                new InputStreamReader(process.getErrorStream(), StandardCharsets.UTF_8))));
    }

    /** Starts {@code main} with {@code args}; {@code agentOptions} null means no agent. */
    static AgentJvm start(String agentOptions, List<String> jvmFlags, Class<?> main, String... args) throws IOException {
        return start(true, agentJar(), agentOptions, jvmFlags, main, args);
    }

    /** As {@link #start}, but the JVM started without pagemark's run flags: what a user who adds only -javaagent runs. */
    static AgentJvm startWithoutRunFlags(String agentOptions, List<String> jvmFlags, Class<?> main, String... args) throws IOException {
        return start(false, agentJar(), agentOptions, jvmFlags, main, args);
    }

    /** As {@link #startWithoutRunFlags}, with {@code jar} as the agent (the shaded jar, once it exists). */
    static AgentJvm startWithoutRunFlags(Path jar, String agentOptions, List<String> jvmFlags, Class<?> main, String... args)
            throws IOException {
        return start(false, jar, agentOptions, jvmFlags, main, args);
    }

    private static AgentJvm start(boolean runFlags, Path jar, String agentOptions, List<String> jvmFlags, Class<?> main, String... args)
            throws IOException {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        for (String flag : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (runFlags && (flag.startsWith("--enable-native-access") || flag.startsWith("--add-exports"))) command.add(flag);
        }
        command.addAll(jvmFlags);
        if (agentOptions != null) command.add("-javaagent:" + jar + "=" + agentOptions);
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(main.getName());
        command.addAll(List.of(args));
        return new AgentJvm(new ProcessBuilder(command).start());
    }

    /** The agent jar the children load: the real manifest, classes from the class path. */
    static synchronized Path agentJar() throws IOException {
        return agentJar(AGENT_JAR, Map.of());
    }

    /**
     * An agent jar that also runs as a program ({@code java -jar ... backends}, what the demo calls):
     * the real manifest's entries, its classes found through a Class-Path of this class path,
     * relative to the jar as the manifest requires.
     */
    static synchronized Path runnableAgentJar() throws IOException {
        Path jar = AGENT_JAR.resolveSibling("runnable-pagemark-agent.jar");
        StringBuilder classPath = new StringBuilder();
        for (String entry : System.getProperty("java.class.path").split(java.io.File.pathSeparator)) {
            Path target = Path.of(entry).toAbsolutePath();
            String relative = jar.getParent().relativize(target).toString().replace(java.io.File.separatorChar, '/');
            classPath.append(Files.isDirectory(target) ? relative + "/" : relative).append(' ');
        }
        return agentJar(jar, Map.of("Main-Class", AgentCommand.class.getName(), "Enable-Native-Access", "ALL-UNNAMED",
                "Class-Path", classPath.toString().trim()));
    }

    /** Writes {@code jar} (once): a manifest with the agent's entries and {@code more}, nothing else. */
    private static Path agentJar(Path jar, Map<String, String> more) throws IOException {
        if (Files.exists(jar)) return jar;
        Files.createDirectories(jar.getParent());
        Manifest manifest = new Manifest();
        Attributes main = manifest.getMainAttributes();
        main.put(Attributes.Name.MANIFEST_VERSION, "1.0");
        main.putValue("Premain-Class", PagemarkAgent.class.getName());
        main.putValue("Agent-Class", PagemarkAgent.class.getName());
        main.putValue("Can-Retransform-Classes", "true");
        more.forEach(main::putValue);
        Path partial = Files.createTempFile(jar.getParent(), "agent", ".jar");
        try (OutputStream out = Files.newOutputStream(partial); JarOutputStream ignored = new JarOutputStream(out, manifest)) {
            // the manifest is the whole jar
        }
        Files.move(partial, jar);
        return jar;
    }

    long pid() {
        return process.pid();
    }

    /** The next line of standard output (blocks), or null at its end. */
    String readLine() throws IOException {
        return lines.readLine();
    }

    void writeLine(String line) throws IOException {
        OutputStream in = process.getOutputStream();
        in.write((line + "\n").getBytes(StandardCharsets.UTF_8));
        in.flush();
    }

    /** Waits for the exit; the result holds the exit code and the rest of both outputs. */
    Result await(long seconds) throws Exception {
        stdout.complete(readAll(lines));
        if (!process.waitFor(seconds, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new AssertionError("the child JVM did not finish in " + seconds + " s; stderr: " + stderr.get());
        }
        return new Result(process.exitValue(), stdout.get(), stderr.get(5, TimeUnit.SECONDS));
    }

    /** What a child printed, and how it exited. */
    record Result(int exitCode, List<String> stdout, List<String> stderr) {
        /** The value of the first stdout line {@code key=value}, or null. */
        String value(String key) {
            for (String line : stdout) if (line.startsWith(key + "=")) return line.substring(key.length() + 1);
            return null;
        }

        /** A JVM's own warnings on stderr (dynamic agent loading and the like) are not the agent's lines. */
        List<String> agentLines() {
            return stderr.stream().filter(l -> l.startsWith("pagemark agent:")).toList();
        }

        @Override
        public String toString() {
            return "exit " + exitCode + "\nstdout:\n" + String.join("\n", stdout) + "\nstderr:\n" + String.join("\n", stderr);
        }
    }

    private static List<String> readAll(BufferedReader reader) {
        List<String> all = new ArrayList<>();
        try {
            for (String line; (line = reader.readLine()) != null; ) all.add(line);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return all;
    }
}

package io.pagemark.bench.run;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Where the pagemark agent's jar is, for the benchmark that runs under it: the path given
 * ({@code bench --agent-jar}), else {@code agent/target/pagemark-agent.jar} from the repository root
 * (the launcher's working directory) or from a module directory (the smoke test's).
 */
final class AgentJar {
    private static final List<Path> DEFAULTS = List.of(Path.of("agent", "target", "pagemark-agent.jar"),
            Path.of("..", "agent", "target", "pagemark-agent.jar"));

    /** There is no agent jar where one was looked for. */
    static final class MissingException extends IllegalStateException {
        MissingException(String message) {
            super(message);
        }
    }

    private AgentJar() {}

    /**
     * The agent jar, as an absolute path.
     *
     * @param given the jar named on the command line, or null to look in the default places
     * @throws MissingException naming the places looked at and how to build the jar, when there is none
     */
    static Path find(Path given) {
        List<Path> candidates = given != null ? List.of(given) : DEFAULTS;
        for (Path p : candidates) if (Files.isRegularFile(p)) return p.toAbsolutePath().normalize();
        throw new MissingException("the end-to-end benchmark runs the sample runtime under the pagemark agent, and there is no agent jar at "
                + String.join(" or ", candidates.stream().map(p -> p.toAbsolutePath().normalize().toString()).toList())
                + ": build it (./mvnw -q -pl agent -am package -DskipTests), name it with --agent-jar PATH, "
                + "or leave the end-to-end benchmark out (--only with a pattern that does not match EndToEndBenchmark)");
    }
}

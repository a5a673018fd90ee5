package io.pagemark.bench.report;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * What the report needs to know about a benchmark run besides the JMH results: when, where, which
 * backends ran and which were skipped (and why), and which runs failed. Written next to the JMH JSON
 * as {@value #FILE}.
 *
 * @param profile          quick, full or smoke
 * @param started          start time, ISO-8601
 * @param elapsedSeconds   wall time of the whole run
 * @param kernel           kernel release
 * @param cpu              CPU model name
 * @param cores            available processors
 * @param memoryBytes      physical memory
 * @param jvm              JVM name and version
 * @param loadAverageStart 1-minute load average when the run started (other work on the machine makes numbers noisy)
 * @param loadAverageEnd   the same when it ended
 * @param backends         backends measured
 * @param skipped          backends skipped, each with the reason the probe gave
 * @param missing          benchmark runs (method and parameters) that produced no result because they failed
 */
public record RunInfo(String profile, String started, double elapsedSeconds, String kernel, String cpu, int cores,
                      long memoryBytes, String jvm, double loadAverageStart, double loadAverageEnd,
                      List<String> backends, Map<String, String> skipped, List<String> missing) {
    public static final String FILE = "run-info.json";
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    public void write(Path dir) throws IOException {
        JSON.writeValue(dir.resolve(FILE).toFile(), this);
    }

    public static RunInfo read(Path dir) throws IOException {
        return JSON.readValue(dir.resolve(FILE).toFile(), RunInfo.class);
    }
}

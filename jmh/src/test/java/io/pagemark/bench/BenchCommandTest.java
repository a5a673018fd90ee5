package io.pagemark.bench;

import io.pagemark.bench.run.BenchCommand;
import io.pagemark.bench.run.Profile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** `pagemark bench --only REGEX` as a user mistypes it: one line saying what matched nothing and what is accepted, and the last report untouched. */
class BenchCommandTest {

    @Test
    void anOnlyThatMatchesNoBenchmarkSaysWhatIsAcceptedAndTouchesNothing(@TempDir Path out) throws Exception {
        Path histograms = Files.createDirectories(out.resolve("histograms"));
        Path earlier = Files.writeString(histograms.resolve("CollectBenchmark.collect@backend=uffd-async.1.hlog"), "an earlier run's");
        PrintStream log = new PrintStream(new ByteArrayOutputStream());
        BenchCommand.NothingToRunException e = assertThrows(BenchCommand.NothingToRunException.class,
                () -> BenchCommand.run(Profile.SMOKE, out, Pattern.compile("NoSuchBenchmark"), null, log));
        assertTrue(e.getMessage().startsWith("--only 'NoSuchBenchmark' matches no benchmark; accepted: a regular expression"), e.getMessage());
        assertTrue(e.getMessage().contains("CollectBenchmark") && e.getMessage().contains("CutBenchmark"), e.getMessage());
        assertEquals("an earlier run's", Files.readString(earlier));
    }
}

package io.pagemark.samples.runtime;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The sample runtime is the "unmodified runtime" the agent adapts from outside: none of its classes
 * may refer to pagemark (the samples module depends on the tracker for its other samples).
 */
class RuntimeKnowsNoPagemarkTest {
    private static final String OWN = "io/pagemark/samples/runtime/";

    @Test
    void noClassOfTheRuntimeRefersToPagemark() throws Exception {
        Path dir = Path.of(Heap.class.getProtectionDomain().getCodeSource().getLocation().toURI()).resolve(OWN);
        List<String> references = new ArrayList<>();
        int classes = 0;
        try (Stream<Path> files = Files.list(dir)) {
            for (Path file : files.filter(f -> f.toString().endsWith(".class")).toList()) {
                classes++;
                // Class names in a class file's constant pool are plain UTF-8: io/pagemark/..., whatever refers to them.
                String contents = new String(Files.readAllBytes(file), StandardCharsets.ISO_8859_1);
                for (int at = contents.indexOf("io/pagemark/"); at >= 0; at = contents.indexOf("io/pagemark/", at + 1)) {
                    if (!contents.startsWith(OWN, at)) {
                        references.add(file.getFileName() + " -> " + contents.substring(at, Math.min(contents.length(), at + 60)).split("[;\\x00-\\x1f]")[0]);
                    }
                }
            }
        }
        assertTrue(classes >= 10, "found only " + classes + " classes in " + dir);
        assertEquals(List.of(), references);
    }
}

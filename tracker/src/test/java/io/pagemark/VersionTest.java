package io.pagemark;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The version the build stamped is the parent pom's project version. */
class VersionTest {
    @Test
    void theStampedVersionIsThePomsVersion() throws Exception {
        String pom = Files.readString(Path.of("pom.xml"));   // surefire runs in the module's directory
        Matcher parent = Pattern.compile("<parent>.*?<version>([^<]+)</version>", Pattern.DOTALL).matcher(pom);
        assertTrue(parent.find(), "tracker/pom.xml names its parent's version");
        assertEquals(parent.group(1), Version.current());
    }
}

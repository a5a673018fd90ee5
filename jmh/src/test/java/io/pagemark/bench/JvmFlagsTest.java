package io.pagemark.bench;

import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * JvmFlags spells the run flags again because annotations need constants: this test JVM got the
 * parent pom's pagemark.runFlags (surefire's argLine), so the two must agree.
 */
class JvmFlagsTest {
    @Test
    void theForksGetTheParentPomsRunFlags() {
        List<String> given = ManagementFactory.getRuntimeMXBean().getInputArguments();
        assertTrue(given.contains(JvmFlags.NATIVE_ACCESS), () -> JvmFlags.NATIVE_ACCESS + " not among " + given);
        assertTrue(given.contains(JvmFlags.ADD_EXPORTS + "=" + JvmFlags.EXPORT_INTERNAL_MISC),
                () -> JvmFlags.ADD_EXPORTS + " " + JvmFlags.EXPORT_INTERNAL_MISC + " not among " + given);
    }
}

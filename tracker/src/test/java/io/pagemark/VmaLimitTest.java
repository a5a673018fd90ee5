package io.pagemark;

import io.pagemark.linux.Kernel;
import io.pagemark.testing.ChildJvm;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * mprotect near vm.max_map_count: each isolated writable page splits a VMA, and 40,000 random pages
 * of 1 GiB are more than this process may split (tracker/README.md, "mprotect and vm.max_map_count"). The handler must degrade to larger blocks before the limit, say that it did, and lose
 * nothing; and when its estimate is wrong and the kernel refuses a split, still lose nothing.
 */
class VmaLimitTest {
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"estimated-budget", "wrong-budget"})
    void degradesToLargerBlocksAndLosesNothing(String budget) throws Exception {
        NativeBackendsTest.assumeUsable(Backend.MPROTECT);
        long max = Kernel.maxMapCount();
        assumeTrue(max > 0 && max <= 70_000, "vm.max_map_count is " + max + ": 40,000 isolated pages would not reach it");
        List<String> cmd = ChildJvm.command(List.of(), List.of("-Xmx128m"), ChildJvm.classPath(), VmaLimitChild.class, "40000", budget);
        ChildJvm.Outcome outcome = ChildJvm.runWatched(cmd, line -> true, 60, 180);
        System.out.println(budget + ": " + outcome.output());
        assertEquals(0, outcome.exitCode(), outcome.output());
        assertTrue(outcome.output().contains("written=40000 reported="), outcome.output());
        assertTrue(outcome.output().contains(" missed=0"), "every written page is reported:\n" + outcome.output());
        assertTrue(outcome.output().contains("degraded"), "describe() says it degraded:\n" + outcome.output());
        assertTrue(outcome.output().contains("afterCollect=1 dirty page: 0"), "tracking goes on precisely after:\n" + outcome.output());
    }
}

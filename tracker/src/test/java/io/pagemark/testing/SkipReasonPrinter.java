package io.pagemark.testing;

import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.TestPlan;

/**
 * Prints every skipped or aborted test with its reason, so a test that needs something this kernel
 * lacks says so in the build output instead of only counting as "skipped".
 * Registered through META-INF/services; the other modules get it from the tracker's test jar.
 */
public final class SkipReasonPrinter implements TestExecutionListener {
    private TestPlan plan;

    @Override
    public void testPlanExecutionStarted(TestPlan testPlan) {
        this.plan = testPlan;
    }

    @Override
    public void executionSkipped(TestIdentifier test, String reason) {
        print(test, reason);
    }

    @Override
    public void executionFinished(TestIdentifier test, TestExecutionResult result) {
        if (result.getStatus() == TestExecutionResult.Status.ABORTED) {
            print(test, result.getThrowable().map(Throwable::getMessage).orElse("no reason given"));
        }
    }

    private void print(TestIdentifier test, String reason) {
        StringBuilder name = new StringBuilder(test.getDisplayName());
        for (TestIdentifier p = parent(test); p != null && p.getSource().isPresent(); p = parent(p)) {
            name.insert(0, p.getDisplayName() + " > ");
        }
        System.out.println("[SKIPPED] " + name + " -- " + reason);
    }

    private TestIdentifier parent(TestIdentifier test) {
        return plan == null ? null : plan.getParent(test).orElse(null);
    }
}

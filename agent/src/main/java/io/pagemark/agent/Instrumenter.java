package io.pagemark.agent;

import net.bytebuddy.agent.builder.AgentBuilder;
import net.bytebuddy.asm.Advice;
import net.bytebuddy.asm.MemberSubstitution;
import net.bytebuddy.description.method.MethodDescription;
import net.bytebuddy.description.type.TypeDescription;
import net.bytebuddy.dynamic.DynamicType;
import net.bytebuddy.matcher.ElementMatcher;
import net.bytebuddy.utility.JavaModule;

import java.lang.instrument.Instrumentation;

import static net.bytebuddy.matcher.ElementMatchers.any;
import static net.bytebuddy.matcher.ElementMatchers.isAnnotatedWith;
import static net.bytebuddy.matcher.ElementMatchers.isDeclaredBy;
import static net.bytebuddy.matcher.ElementMatchers.isStatic;
import static net.bytebuddy.matcher.ElementMatchers.nameStartsWith;
import static net.bytebuddy.matcher.ElementMatchers.named;
import static net.bytebuddy.matcher.ElementMatchers.none;
import static net.bytebuddy.matcher.ElementMatchers.not;
import static net.bytebuddy.matcher.ElementMatchers.takesArguments;

/**
 * Weaves the card-marking replacement into the runtime's classes with ByteBuddy, at load time and,
 * for classes already loaded (a late attach), by retransformation:
 * <ul>
 * <li>in every class of the barrier scope, each call to the barrier is removed (its arguments are
 *     dropped), so a reference store costs what an unbarriered store costs;</li>
 * <li>the heap allocation method asks {@link Hooks#reserveHeap} first;</li>
 * <li>the card-scan (and card-clear) method calls {@link Hooks} on entry.</li>
 * </ul>
 * Only method bodies change (no new members), as retransformation requires. Already loaded classes
 * are retransformed in one batch: one VM operation, so the barrier calls disappear at the same
 * instant the card-scan hook appears, and no remark can run with neither.
 */
final class Instrumenter {
    private Instrumenter() {}

    static void install(Instrumentation instrumentation, AgentOptions options, AgentStatistics statistics) {
        ElementMatcher.Junction<MethodDescription> barrier = options.barrierMethod() != null
                ? named(options.barrierMethod().methodName()).and(isDeclaredBy(named(options.barrierMethod().className())))
                : isAnnotatedWith(named(options.barrierAnnotation()));
        ElementMatcher.Junction<TypeDescription> scope = none();
        for (String prefix : options.barrierScope()) scope = scope.or(prefix.isEmpty() ? any() : nameStartsWith(prefix + "."));
        ElementMatcher.Junction<TypeDescription> inScope = scope;

        // ByteBuddy's Nexus (type initializers for generated classes) is not needed here, and setting it up touches
        // sun.misc.Unsafe, which JDK 24+ warns about. In the shaded jar this property name is relocated with ByteBuddy,
        // so an application's own ByteBuddy is not affected.
        if (System.getProperty("net.bytebuddy.nexus.disabled") == null) System.setProperty("net.bytebuddy.nexus.disabled", "true");
        AgentBuilder builder = new AgentBuilder.Default()
                .disableClassFormatChanges()
                .with(AgentBuilder.RedefinitionStrategy.RETRANSFORMATION)
                .with(AgentBuilder.RedefinitionStrategy.BatchAllocator.ForTotal.INSTANCE)
                // Advice is inlined and no helper class is generated: nothing to inject (and no sun.misc.Unsafe to touch).
                .with(AgentBuilder.InjectionStrategy.Disabled.INSTANCE)
                .with(new Problems(statistics, inScope))
                .ignore(nameStartsWith("io.pagemark.agent.").or(nameStartsWith("java.")).or(nameStartsWith("jdk."))
                        .or(nameStartsWith("sun.")).or(nameStartsWith("com.sun.")))
                .type(inScope)
                .transform((b, type, loader, module, domain) -> b.visit(
                        MemberSubstitution.relaxed().method(barrier).stub().on(type.isRecord() ? not(recordObjectMethods()) : any())))
                .type(named(options.heap().className()))
                .transform((b, type, loader, module, domain) -> b.visit(
                        Advice.to(Advices.HeapAllocation.class).on(named(options.heap().methodName()).and(AgentOptions::isHeapAllocation))))
                .type(named(options.cardScan().className()))
                .transform((b, type, loader, module, domain) -> b.visit(
                        Advice.to(Advices.CardScan.class).on(named(options.cardScan().methodName()).and(not(isStatic())))));
        if (options.cardClear() != null) {
            builder = builder.type(named(options.cardClear().className()))
                    .transform((b, type, loader, module, domain) -> b.visit(
                            Advice.to(Advices.CardClear.class).on(named(options.cardClear().methodName()).and(not(isStatic())))));
        }
        if (options.cardPreclean() != null) {
            builder = builder.type(named(options.cardPreclean().className()))
                    .transform((b, type, loader, module, domain) -> b.visit(
                            Advice.to(Advices.CardPreclean.class).on(named(options.cardPreclean().methodName()).and(not(isStatic())))));
        }
        builder.installOn(instrumentation);
    }

    /**
     * A record's generated toString, hashCode and equals: ByteBuddy 1.18's MemberSubstitution fails
     * on their invokedynamic (its field-getter method handles), and they never call a barrier.
     */
    private static ElementMatcher.Junction<MethodDescription> recordObjectMethods() {
        return named("toString").and(takesArguments(0))
                .or(named("hashCode").and(takesArguments(0)))
                .or(named("equals").and(takesArguments(1)));
    }

    /** Counts the rewritten classes and reports, in one line each, classes that could not be rewritten. */
    private static final class Problems extends AgentBuilder.Listener.Adapter {
        private final AgentStatistics statistics;
        private final ElementMatcher<TypeDescription> scope;

        Problems(AgentStatistics statistics, ElementMatcher<TypeDescription> scope) {
            this.statistics = statistics;
            this.scope = scope;
        }

        @Override
        public void onTransformation(TypeDescription type, ClassLoader loader, JavaModule module, boolean loaded, DynamicType dynamicType) {
            if (scope.matches(type)) statistics.rewrittenClasses.incrementAndGet();
        }

        @Override
        public void onError(String typeName, ClassLoader loader, JavaModule module, boolean loaded, Throwable error) {
            System.err.println("pagemark agent: could not rewrite " + typeName + ": " + error);
        }
    }
}

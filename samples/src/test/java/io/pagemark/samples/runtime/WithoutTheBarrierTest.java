package io.pagemark.samples.runtime;

import net.bytebuddy.ByteBuddy;
import net.bytebuddy.asm.MemberSubstitution;
import net.bytebuddy.dynamic.ClassFileLocator;
import net.bytebuddy.dynamic.loading.ByteArrayClassLoader;
import net.bytebuddy.pool.TypePool;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.stream.Stream;

import static net.bytebuddy.matcher.ElementMatchers.named;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The oracle has teeth: the same runtime with its write-barrier call removed from the reference
 * store (what the pagemark agent does, minus the hardware tracking that makes it correct) loses
 * live objects, and the oracle says so. The runtime's classes are loaded a second time, rewritten,
 * in a class loader of their own, so the rest of the tests keep the real runtime.
 */
class WithoutTheBarrierTest {

    @Test
    void theOracleCatchesTheObjectsACollectorWithoutItsBarrierFrees() throws Exception {
        ClassLoader rewritten = runtimeWithoutBarrier();
        Class<?> config = rewritten.loadClass(RuntimeConfig.class.getName());
        Class<?> runtimeClass = rewritten.loadClass(ManagedRuntime.class.getName());
        Object small = config.getMethod("withSeed", long.class).invoke(
                config.getMethod("withHeapBytes", long.class).invoke(config.getMethod("defaults").invoke(null), 16L << 20), 11L);
        try (AutoCloseable runtime = (AutoCloseable) runtimeClass.getConstructor(config).newInstance(small)) {
            runtimeClass.getMethod("start").invoke(runtime);
            long end = System.nanoTime() + 10_000_000_000L;
            while (System.nanoTime() < end && !(boolean) runtimeClass.getMethod("failed").invoke(runtime)) Thread.sleep(20);
            Object report = runtimeClass.getMethod("stop").invoke(runtime);
            long problems = (long) report.getClass().getMethod("oracleProblems").invoke(report);
            Object failure = report.getClass().getMethod("failure").invoke(report);
            assertTrue(problems > 0 || failure != null, "without its barrier the collector must lose live objects: " + report);
        }
    }

    /** The runtime's classes, with every call to CardTable.mark in Heap removed. */
    private static ClassLoader runtimeWithoutBarrier() throws IOException, ReflectiveOperationException {
        Path dir = Path.of(Heap.class.getProtectionDomain().getCodeSource().getLocation().getPath(),
                Heap.class.getPackageName().replace('.', '/'));
        Map<String, byte[]> classes = new HashMap<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path file : files.filter(f -> f.toString().endsWith(".class")).toList()) {
                String name = Heap.class.getPackageName() + "." + file.getFileName().toString().replace(".class", "");
                classes.put(name, Files.readAllBytes(file));
            }
        }
        ClassFileLocator locator = new ClassFileLocator.Simple(classes);
        ClassFileLocator withJdk = new ClassFileLocator.Compound(locator, ClassFileLocator.ForClassLoader.ofSystemLoader());
        TypePool pool = TypePool.Default.of(withJdk);
        byte[] heap = new ByteBuddy()
                .redefine(pool.describe(Heap.class.getName()).resolve(), withJdk)
                .visit(MemberSubstitution.relaxed().method(named("mark")).stub().on(named("storeRef")))
                .make()
                .getBytes();
        classes.put(Heap.class.getName(), heap);
        return new ByteArrayClassLoader.ChildFirst(WithoutTheBarrierTest.class.getClassLoader(), classes,
                ByteArrayClassLoader.PersistenceHandler.LATENT);
    }
}

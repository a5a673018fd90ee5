package io.pagemark.testing;

import io.pagemark.Backend;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.params.provider.AnnotationBasedArgumentsProvider;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.ArgumentsSource;
import org.junit.jupiter.params.support.ParameterDeclarations;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import java.util.List;
import java.util.stream.Stream;

/**
 * The test matrix, from the backend table: a {@code @ParameterizedTest} gets every {@link Backend}
 * that has all the traits of {@link #value} and none of {@link #without}, in the table's order (the
 * way the kernel's userfaultfd selftests declare each case's requirements in one table and let the
 * driver pick). A test still skips, with the reason, a backend this kernel cannot run.
 *
 * <pre>{@code
 * @ParameterizedTest
 * @BackendsWith(Backend.Trait.COPY_BEFORE_WRITE)
 * void snapshotEqualsTheArena(Backend backend) { ... }
 * }</pre>
 */
@Target(ElementType.METHOD)
@Retention(RetentionPolicy.RUNTIME)
@ArgumentsSource(BackendsWith.Matrix.class)
public @interface BackendsWith {
    /** The traits every backend given must have (none: every backend). */
    Backend.Trait[] value() default {};

    /** The traits no backend given may have. */
    Backend.Trait[] without() default {};

    /** Provides the backends {@link BackendsWith} selects. */
    final class Matrix extends AnnotationBasedArgumentsProvider<BackendsWith> {
        @Override
        protected Stream<? extends Arguments> provideArguments(ParameterDeclarations parameters, ExtensionContext context,
                                                               BackendsWith selection) {
            List<Backend> backends = Backend.with(selection.value()).stream()
                    .filter(b -> Stream.of(selection.without()).noneMatch(b::has))
                    .toList();
            if (backends.isEmpty()) throw new IllegalStateException("no backend has the traits " + List.of(selection.value()));
            return backends.stream().map(Arguments::of);
        }
    }
}

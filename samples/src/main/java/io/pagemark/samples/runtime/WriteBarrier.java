package io.pagemark.samples.runtime;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Marks this runtime's write barrier: the method every reference store calls right after the store.
 * Kept in the class files so that bytecode tools can find the barrier without knowing its name
 * (the pagemark agent's {@code barrier=@io.pagemark.samples.runtime.WriteBarrier}).
 */
@Documented
@Retention(RetentionPolicy.CLASS)
@Target(ElementType.METHOD)
public @interface WriteBarrier {}

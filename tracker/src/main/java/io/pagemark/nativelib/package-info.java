/**
 * pagemark's own native library (tracker/src/main/c): loading it from the jar
 * ({@link io.pagemark.nativelib.NativeLibrary}), its FFM bindings ({@link io.pagemark.nativelib.FaultPaths})
 * and the fault ring's layout checked against Agrona at load ({@link io.pagemark.nativelib.RingLayout}).
 * Internal (not exported): native addresses never leave the tracker module.
 */
package io.pagemark.nativelib;

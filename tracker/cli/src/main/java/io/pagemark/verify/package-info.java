/**
 * The no-lost-write oracle ({@link io.pagemark.verify.NoLostWriteOracle}): writers race collects on
 * an armed arena while a shadow copy records every write, and every write the collects did not
 * report is counted lost. What {@code ./pagemark verify} and the backends' invariant tests run.
 */
package io.pagemark.verify;

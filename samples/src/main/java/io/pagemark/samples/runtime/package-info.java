/**
 * A small managed runtime written without pagemark: an off-heap heap, mutators, its own software card
 * table and write barrier, an incremental collector, and an oracle that checks every reachable object
 * survived. The "unmodified runtime" the agent adapts from outside.
 */
package io.pagemark.samples.runtime;

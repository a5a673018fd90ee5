/**
 * The JMH benchmarks: first write, collect, store cost, crossover against card-table, checkpoints,
 * snapshots, end to end; and what they share (arenas, page orders, sizes, the run flags of their forks).
 */
package io.pagemark.bench;

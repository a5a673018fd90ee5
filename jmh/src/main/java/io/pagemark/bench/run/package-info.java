/** The {@code bench} command: which benchmarks and backends run here, with which profile, on which machine. */
package io.pagemark.bench.run;

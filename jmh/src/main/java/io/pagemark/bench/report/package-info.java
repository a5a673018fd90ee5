/** The benchmark report: results.json read back, the tables, the charts and the markdown. */
package io.pagemark.bench.report;

/** The {@code demo} command: the sample runtime with its own card table, then under the agent, side by side. */
package io.pagemark.samples.demo;

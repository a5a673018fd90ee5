/**
 * The tracker's JFR events, committed by the library itself (every arena, with or without the
 * agent): {@code io.pagemark.Collect}, {@code io.pagemark.Cut}, {@code io.pagemark.FaultRate},
 * {@code io.pagemark.BackendChosen}, {@code io.pagemark.Degradation}, category "Pagemark". Internal: the
 * module does not export this package. A program (or the agent) gets the events by recording them
 * by name ({@code jfr print --categories Pagemark}), never by using these classes; their names and
 * fields are documented in docs/observability.md.
 */
package io.pagemark.events;

/**
 * The java agent: replaces a runtime's software card marking with a tracked arena (ByteBuddy
 * instrumentation of the methods named by its options), reports through JFR events and an MXBean, and
 * the {@code attach} command. Uses the tracker's public API only.
 */
package io.pagemark.agent;

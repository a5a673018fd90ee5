/** The agent's JFR events: the backend chosen, each collect, the fault rate. */
package io.pagemark.agent.events;

/**
 * The launcher's tracker commands: {@code probe}, {@code verify}, {@code tour}
 * ({@link io.pagemark.cli.PagemarkCli}). Built on the tracker's public API, in the pagemark-cli
 * artifact, not in the library jar.
 */
package io.pagemark.cli;

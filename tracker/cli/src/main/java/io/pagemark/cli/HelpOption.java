package io.pagemark.cli;

import picocli.CommandLine.Option;

/** {@code -h}/{@code --help} on every command: its usage and options, exit status 0. */
final class HelpOption {
    @Option(names = {"-h", "--help"}, usageHelp = true, description = "this help")
    boolean help;
}

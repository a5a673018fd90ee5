package io.pagemark.cli;

import io.pagemark.PagemarkException;

import java.util.Arrays;
import java.util.List;

/**
 * The command line behind the {@code ./pagemark} launcher: {@code probe}, {@code verify} and
 * {@code tour}. Exit status: 0 ok, 1 the check failed (a lost write), 2 a usage error or an
 * unusable backend.
 */
public final class PagemarkCli {
    private PagemarkCli() {}

    public static void main(String[] argv) {
        System.exit(run(argv));
    }

    static int run(String[] argv) {
        if (argv.length == 0) {
            System.err.println("pagemark: a subcommand is needed: probe, verify or tour");
            return 2;
        }
        List<String> rest = Arrays.asList(argv).subList(1, argv.length);
        try {
            return switch (argv[0]) {
                case "probe" -> ProbeCommand.run(rest, System.out);
                case "verify" -> VerifyCommand.run(rest, System.out, System.err);
                case "tour" -> TourCommand.run(rest, System.out);
                default -> {
                    System.err.println("pagemark: unknown subcommand '" + argv[0] + "'; accepted: probe, verify, tour");
                    yield 2;
                }
            };
        } catch (Args.UsageError e) {
            System.err.println(e.getMessage());
            return 2;
        } catch (PagemarkException e) {
            System.err.println("pagemark " + argv[0] + ": " + e.getMessage());
            return 2;
        }
    }
}

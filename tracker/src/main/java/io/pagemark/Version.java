package io.pagemark;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Properties;

/**
 * The tracker's version, as the build stamped it (the Maven project version: {@code ./pagemark
 * --version} and {@code probe --json} print it).
 *
 * <pre>{@code
 * String v = Version.current();   // e.g. "0.1.0-SNAPSHOT"
 * }</pre>
 */
public final class Version {
    private static final String VERSION = read();

    private Version() {}

    /** The version of the tracker on the class or module path. */
    public static String current() {
        return VERSION;
    }

    private static String read() {
        try (InputStream in = Version.class.getResourceAsStream("version.properties")) {
            if (in == null) throw new IllegalStateException("io/pagemark/version.properties is missing from the tracker's classes");
            Properties p = new Properties();
            p.load(in);
            String version = p.getProperty("version");
            if (version == null || version.startsWith("${")) {
                throw new IllegalStateException("io/pagemark/version.properties was not filled in by the build: " + version);
            }
            return version;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}

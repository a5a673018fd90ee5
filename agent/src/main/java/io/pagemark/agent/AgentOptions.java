package io.pagemark.agent;

import io.pagemark.Backend;
import io.pagemark.TrackedArena;
import net.bytebuddy.description.field.FieldDescription;
import net.bytebuddy.description.method.MethodDescription;
import net.bytebuddy.description.type.TypeDefinition;
import net.bytebuddy.description.type.TypeDescription;
import net.bytebuddy.pool.TypePool;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.function.Supplier;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * The agent's configuration: the agent argument ({@code name=value,name=value,...}) parsed and
 * checked, first on its own ({@link #parse}), then against the application's class path
 * ({@link #checkClassPath}) before anything is installed. Every failure is a
 * {@link BadOptionException} whose message is one line naming the option, the bad value and the
 * accepted values. See {@link Option} for the options.
 *
 * @param barrierMethod     the barrier as a method, or null when given as an annotation
 * @param barrierAnnotation the barrier's annotation class, or null when given as a method
 * @param barrierScope      package prefixes whose classes get the barrier calls removed
 * @param cardClear         null when not given
 * @param cardPreclean      null when not given
 * @param drainingScan      the card scan clears the cards it reads ({@code scan-style=drain})
 * @param cards             field names from the card-scan receiver to the card table
 * @param covers            field names from the card-scan receiver to the covered heap segment
 * @param bulkPages         the fixed block of {@code bulk-pages}, or null for the native backends' adaptive window
 * @param reportInterval    zero when periodic reports are off
 */
record AgentOptions(Backend backend, Integer bulkPages, MethodRef barrierMethod, String barrierAnnotation, List<String> barrierScope,
                    MethodRef heap, MethodRef cardScan, MethodRef cardClear, MethodRef cardPreclean, boolean drainingScan, List<String> cards, List<String> covers,
                    int cardShift, byte dirtyCard, Duration reportInterval, boolean jfr, boolean continueOnError) {

    private static final String MEMORY_SEGMENT = "java.lang.foreign.MemorySegment";
    private static final String ARENA = "java.lang.foreign.Arena";
    private static final Pattern DURATION = Pattern.compile("(\\d{1,9})(ms|s|m)");
    private static final Pattern ON_ERROR_CONTINUE = Pattern.compile("(^|,)\\s*on-error\\s*=\\s*continue\\s*(,|$)");

    /** The hardware backends by name, for the accepted values of {@code backend}. */
    static String hardwareBackendNames() {
        return Arrays.stream(Backend.values()).filter(b -> b != Backend.AUTO && b.isHardware()).map(Backend::id).collect(Collectors.joining(", "));
    }

    /**
     * Whether the argument asks to continue untracked on errors: read on its own, so that the policy
     * is known even when another option is bad.
     */
    static boolean continueOnError(String argument) {
        return argument != null && ON_ERROR_CONTINUE.matcher(argument).find();
    }

    /**
     * Parses and checks every option on its own (syntax, ranges, names).
     *
     * @throws BadOptionException naming every bad and every missing option
     */
    static AgentOptions parse(String argument) {
        List<BadOptionException> problems = new ArrayList<>();
        Map<Option, String> given = given(argument, problems);
        String onError = attempt(problems, () -> {
            String value = given.getOrDefault(Option.ON_ERROR, Option.ON_ERROR.defaultValue);
            if (!value.equals("fail") && !value.equals("continue")) throw BadOptionException.invalid(Option.ON_ERROR, value, "unknown policy");
            return value;
        });
        Backend backend = attempt(problems, () -> backend(given.getOrDefault(Option.BACKEND, Option.BACKEND.defaultValue)));
        Integer bulkPages = given.containsKey(Option.BULK_PAGES) ? attempt(problems, () -> bulkPages(given.get(Option.BULK_PAGES))) : null;
        String barrier = attempt(problems, () -> required(given, Option.BARRIER));
        MethodRef barrierMethod = null;
        String barrierAnnotation = null;
        if (barrier != null && barrier.startsWith("@")) {
            barrierAnnotation = attempt(problems, () -> {
                String name = barrier.substring(1);
                if (!MethodRef.isQualifiedName(name)) throw BadOptionException.invalid(Option.BARRIER, barrier, "'" + name + "' is not a class name");
                return name;
            });
        } else if (barrier != null) {
            barrierMethod = attempt(problems, () -> MethodRef.parse(Option.BARRIER, barrier));
        }
        String barrierPackage = barrierMethod != null ? barrierMethod.packageName() : barrierAnnotation != null ? packageOf(barrierAnnotation) : null;
        List<String> scope = given.containsKey(Option.BARRIER_SCOPE) ? attempt(problems, () -> scope(given.get(Option.BARRIER_SCOPE)))
                : barrierPackage == null ? null : List.of(barrierPackage);
        MethodRef heap = attempt(problems, () -> MethodRef.parse(Option.HEAP, required(given, Option.HEAP)));
        MethodRef cardScan = attempt(problems, () -> MethodRef.parse(Option.CARD_SCAN, required(given, Option.CARD_SCAN)));
        MethodRef cardClear = given.containsKey(Option.CARD_CLEAR)
                ? attempt(problems, () -> MethodRef.parse(Option.CARD_CLEAR, given.get(Option.CARD_CLEAR))) : null;
        MethodRef cardPreclean = given.containsKey(Option.CARD_PRECLEAN)
                ? attempt(problems, () -> MethodRef.parse(Option.CARD_PRECLEAN, given.get(Option.CARD_PRECLEAN))) : null;
        String scanStyle = attempt(problems, () -> {
            String value = given.getOrDefault(Option.SCAN_STYLE, Option.SCAN_STYLE.defaultValue);
            if (!value.equals("read") && !value.equals("drain")) throw BadOptionException.invalid(Option.SCAN_STYLE, value, "unknown style");
            return value;
        });
        List<String> cards = attempt(problems, () -> fieldPath(Option.CARDS, required(given, Option.CARDS)));
        List<String> covers = attempt(problems, () -> fieldPath(Option.COVERS, required(given, Option.COVERS)));
        Integer cardShift = attempt(problems, () -> integer(Option.CARD_SHIFT, given.getOrDefault(Option.CARD_SHIFT, Option.CARD_SHIFT.defaultValue), 0, 30));
        Integer dirtyCard = attempt(problems, () -> integer(Option.DIRTY_CARD, given.getOrDefault(Option.DIRTY_CARD, Option.DIRTY_CARD.defaultValue), 0, 255));
        Duration interval = attempt(problems, () -> duration(given.getOrDefault(Option.REPORT_INTERVAL, Option.REPORT_INTERVAL.defaultValue)));
        Boolean jfr = attempt(problems, () -> onOff(Option.JFR, given.getOrDefault(Option.JFR, Option.JFR.defaultValue)));
        BadOptionException bad = BadOptionException.of(problems);
        if (bad != null) throw bad;
        return new AgentOptions(backend, bulkPages, barrierMethod, barrierAnnotation, scope, heap, cardScan, cardClear, cardPreclean, scanStyle.equals("drain"),
                cards, covers, cardShift, (byte) (int) dirtyCard, interval, jfr, onError.equals("continue"));
    }

    /** The options given, by option (an unknown, empty or repeated one is a problem, and is left out). */
    private static Map<Option, String> given(String argument, List<BadOptionException> problems) {
        Map<Option, String> given = new EnumMap<>(Option.class);
        if (argument == null || argument.isBlank()) return given;
        for (String item : argument.split(",")) {
            if (item.isBlank()) continue;   // a stray comma
            int eq = item.indexOf('=');
            String key = (eq < 0 ? item : item.substring(0, eq)).trim();
            String value = eq < 0 ? null : item.substring(eq + 1).trim();
            Option option = Option.byKey(key);
            if (option == null) {
                problems.add(BadOptionException.unknown(key, value));
            } else if (value == null || value.isEmpty()) {
                problems.add(BadOptionException.invalid(option, "", "no value given"));
            } else if (given.putIfAbsent(option, value) != null) {
                problems.add(new BadOptionException(option, "option " + option.key + " is given twice (" + given.get(option) + " and " + value
                        + "); accepted: one " + option.key + "=..., " + option.accepted));
            }
        }
        return given;
    }

    /** {@code parse}'s value, or null with its problem added to {@code problems}. */
    private static <T> T attempt(List<BadOptionException> problems, Supplier<T> parse) {
        try {
            return parse.get();
        } catch (BadOptionException e) {
            problems.add(e);
            return null;
        }
    }

    /**
     * The options line to start from, after {@code argument} had the problems {@code bad} names: every
     * required option and every one given, in the documented order, each with its value when that was
     * good and its placeholder otherwise.
     */
    static String template(String argument, BadOptionException bad) {
        Map<Option, String> given = given(argument, new ArrayList<>());
        StringBuilder line = new StringBuilder();
        for (Option option : Option.values()) {
            if (!option.required() && !given.containsKey(option)) continue;
            String value = given.containsKey(option) && !bad.options().contains(option) ? given.get(option) : option.placeholder;
            line.append(line.isEmpty() ? "" : ",").append(option.key).append('=').append(value);
        }
        return line.toString();
    }

    private static String required(Map<Option, String> given, Option option) {
        String value = given.get(option);
        if (value == null) throw BadOptionException.missing(option);
        return value;
    }

    private static Backend backend(String value) {
        Backend backend;
        try {
            backend = Backend.parse(value);
        } catch (IllegalArgumentException e) {
            throw new BadOptionException(Option.BACKEND, value, "unknown backend", "auto, " + hardwareBackendNames());
        }
        if (!backend.isHardware()) {
            throw new BadOptionException(Option.BACKEND, value, "card-table only sees writes made through a TrackedArena's write API,"
                    + " not the runtime's own stores", "auto, " + hardwareBackendNames());
        }
        return backend;
    }

    private static List<String> scope(String value) {
        List<String> packages = new ArrayList<>();
        for (String p : value.split(":", -1)) {
            if (!MethodRef.isQualifiedName(p)) throw BadOptionException.invalid(Option.BARRIER_SCOPE, value, "'" + p + "' is not a package name");
            packages.add(p);
        }
        return List.copyOf(packages);
    }

    private static String packageOf(String className) {
        int dot = className.lastIndexOf('.');
        return dot < 0 ? "" : className.substring(0, dot);
    }

    private static List<String> fieldPath(Option option, String value) {
        List<String> names = List.of(value.split("\\.", -1));
        for (String name : names) {
            if (!MethodRef.isIdentifier(name)) throw BadOptionException.invalid(option, value, "'" + name + "' is not a field name");
        }
        return names;
    }

    /** {@code bulk-pages}: null for {@code window}, else the block, checked as {@link TrackedArena.Builder#bulkPages} checks it. */
    private static Integer bulkPages(String value) {
        if (value.equals(Option.BULK_PAGES.defaultValue)) return null;
        int pages = integer(Option.BULK_PAGES, value, 1, Integer.MAX_VALUE);
        try {
            TrackedArena.builder().bulkPages(pages);
        } catch (IllegalArgumentException e) {
            throw BadOptionException.invalid(Option.BULK_PAGES, value, e.getMessage());
        }
        return pages;
    }

    private static int integer(Option option, String value, int min, int max) {
        int n;
        try {
            n = Integer.parseInt(value);
        } catch (NumberFormatException e) {
            throw BadOptionException.invalid(option, value, "not an integer");
        }
        if (n < min || n > max) throw BadOptionException.invalid(option, value, "out of range");
        return n;
    }

    private static Duration duration(String value) {
        if (value.equals("0")) return Duration.ZERO;
        Matcher m = DURATION.matcher(value);
        if (!m.matches()) throw BadOptionException.invalid(Option.REPORT_INTERVAL, value, "not a duration");
        long n = Long.parseLong(m.group(1));
        return switch (m.group(2)) {
            case "ms" -> Duration.ofMillis(n);
            case "s" -> Duration.ofSeconds(n);
            default -> Duration.ofMinutes(n);
        };
    }

    private static boolean onOff(Option option, String value) {
        return switch (value) {
            case "on" -> true;
            case "off" -> false;
            default -> throw BadOptionException.invalid(option, value, "neither on nor off");
        };
    }

    // ---- against the class path ----

    /**
     * Checks that the classes, methods and fields the options name exist with the right shapes, by
     * reading class files from {@code pool} (nothing is loaded or initialized).
     *
     * @throws BadOptionException naming every one that does not
     */
    void checkClassPath(TypePool pool) {
        List<BadOptionException> problems = new ArrayList<>();
        attempt(problems, () -> {
            if (barrierMethod != null) {
                method(pool, Option.BARRIER, barrierMethod);
            } else {
                TypeDescription annotation = type(pool, Option.BARRIER, "@" + barrierAnnotation, barrierAnnotation);
                if (!annotation.isAnnotation()) throw BadOptionException.invalid(Option.BARRIER, "@" + barrierAnnotation, barrierAnnotation + " is not an annotation");
            }
            return null;
        });
        attempt(problems, () -> {
            if (method(pool, Option.HEAP, heap).stream().noneMatch(AgentOptions::isHeapAllocation)) {
                throw BadOptionException.invalid(Option.HEAP, heap.toString(),
                        "no " + heap.methodName() + " in " + heap.className() + " returns MemorySegment and takes exactly one long");
            }
            return null;
        });
        TypeDescription scanner = attempt(problems, () -> instanceMethodOwner(pool, Option.CARD_SCAN, cardScan));
        if (scanner != null) {
            attempt(problems, () -> {
                TypeDescription table = fieldPathType(Option.CARDS, scanner, cards);
                if (!(table.isArray() && table.getComponentType().represents(byte.class)) && !table.getName().equals(MEMORY_SEGMENT)) {
                    throw BadOptionException.invalid(Option.CARDS, String.join(".", cards), "it leads to a " + table.getActualName()
                            + ", not a byte[] or a MemorySegment");
                }
                return null;
            });
            attempt(problems, () -> checkCovers(scanner));
        }
        if (cardClear != null) {
            TypeDescription clearer = attempt(problems, () -> instanceMethodOwner(pool, Option.CARD_CLEAR, cardClear));
            if (clearer != null) attempt(problems, () -> checkCovers(clearer));
        }
        if (cardPreclean != null) {
            TypeDescription precleaner = attempt(problems, () -> instanceMethodOwner(pool, Option.CARD_PRECLEAN, cardPreclean));
            if (precleaner != null) attempt(problems, () -> checkCovers(precleaner));
        }
        BadOptionException bad = BadOptionException.of(problems);
        if (bad != null) throw bad;
    }

    /** True for a method returning MemorySegment with exactly one long parameter (and otherwise at most Arena parameters). */
    static boolean isHeapAllocation(MethodDescription m) {
        if (!m.getReturnType().asErasure().getName().equals(MEMORY_SEGMENT)) return false;
        int longs = 0;
        for (TypeDescription p : m.getParameters().asTypeList().asErasures()) {
            if (p.represents(long.class)) longs++;
            else if (!p.getName().equals(ARENA)) return false;
        }
        return longs == 1;
    }

    private Void checkCovers(TypeDescription receiver) {
        TypeDescription covered = fieldPathType(Option.COVERS, receiver, covers);
        if (!covered.getName().equals(MEMORY_SEGMENT)) {
            throw BadOptionException.invalid(Option.COVERS, String.join(".", covers), "it leads to a " + covered.getActualName()
                    + ", not a MemorySegment");
        }
        return null;
    }

    private static TypeDescription type(TypePool pool, Option option, String value, String className) {
        TypePool.Resolution resolution = pool.describe(className);
        if (!resolution.isResolved()) throw BadOptionException.invalid(option, value, "class " + className + " is not on the class path");
        return resolution.resolve();
    }

    private static List<MethodDescription.InDefinedShape> method(TypePool pool, Option option, MethodRef ref) {
        TypeDescription type = type(pool, option, ref.toString(), ref.className());
        List<MethodDescription.InDefinedShape> found = type.getDeclaredMethods().stream()
                .filter(m -> m.isMethod() && m.getName().equals(ref.methodName())).toList();
        if (found.isEmpty()) throw BadOptionException.invalid(option, ref.toString(), ref.className() + " declares no method " + ref.methodName());
        return found;
    }

    private static TypeDescription instanceMethodOwner(TypePool pool, Option option, MethodRef ref) {
        if (method(pool, option, ref).stream().allMatch(MethodDescription::isStatic)) {
            throw BadOptionException.invalid(option, ref.toString(), ref.methodName() + " is static: the card table is found from its receiver");
        }
        return pool.describe(ref.className()).resolve();
    }

    /** The type a field path leads to from {@code start}, fields looked up in each class and its superclasses. */
    private static TypeDescription fieldPathType(Option option, TypeDescription start, List<String> path) {
        TypeDescription type = start;
        for (String name : path) {
            FieldDescription field = findField(type, name);
            if (field == null) {
                throw BadOptionException.invalid(option, String.join(".", path), type.getName() + " has no field " + name
                        + " (the path starts at " + start.getName() + ")");
            }
            type = field.getType().asErasure();
        }
        return type;
    }

    private static FieldDescription findField(TypeDescription type, String name) {
        for (TypeDefinition t = type; t != null; t = t.getSuperClass()) {
            for (FieldDescription f : t.getDeclaredFields()) if (f.getName().equals(name) && !f.isStatic()) return f;
        }
        return null;
    }
}

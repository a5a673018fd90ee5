package io.pagemark.agent;

import io.pagemark.Backend;
import io.pagemark.samples.demo.Demo;
import net.bytebuddy.dynamic.ClassFileLocator;
import net.bytebuddy.pool.TypePool;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every option is checked up front; each bad one gets its one line: the option, the bad value, what is accepted. */
class AgentOptionsTest {
    /** The sample runtime's options: every required one, valid. */
    private static final String VALID = Demo.AGENT_OPTIONS;
    private static final TypePool CLASS_PATH = TypePool.Default.of(ClassFileLocator.ForClassLoader.ofSystemLoader());

    @Test
    void theSampleRuntimesOptionsParseWithTheDocumentedDefaults() {
        AgentOptions o = AgentOptions.parse(VALID);
        o.checkClassPath(CLASS_PATH);
        assertEquals(Backend.AUTO, o.backend());
        assertNull(o.bulkPages(), "the native backends' adaptive window");
        assertEquals(new MethodRef("io.pagemark.samples.runtime.CardTable", "mark"), o.barrierMethod());
        assertEquals(List.of("io.pagemark.samples.runtime"), o.barrierScope(), "the barrier's package by default");
        assertEquals(List.of("cards"), o.cards());
        assertEquals(9, o.cardShift());
        assertEquals(1, o.dirtyCard());
        assertEquals(Duration.ofSeconds(1), o.reportInterval());
        assertTrue(o.jfr());
        assertFalse(o.continueOnError());
    }

    @Test
    void everyOptionCanBeSet() {
        AgentOptions o = AgentOptions.parse("backend=mprotect,bulk-pages=16,barrier=@io.pagemark.samples.runtime.WriteBarrier,barrier-scope=a.b:c"
                + ",heap=io.pagemark.samples.runtime.Heap#reserveMemory,card-scan=io.pagemark.samples.runtime.CardTable#drainDirty"
                + ",card-clear=io.pagemark.samples.runtime.CardTable#clear,card-preclean=io.pagemark.samples.runtime.CardTable#precleanDirty"
                + ",cards=cards,covers=covered,card-shift=12,dirty-card=0"
                + ",report-interval=250ms,jfr=off,on-error=continue");
        o.checkClassPath(CLASS_PATH);
        assertEquals(Backend.MPROTECT, o.backend());
        assertEquals(16, o.bulkPages());
        assertNull(o.barrierMethod());
        assertEquals("io.pagemark.samples.runtime.WriteBarrier", o.barrierAnnotation());
        assertEquals(List.of("a.b", "c"), o.barrierScope());
        assertEquals("precleanDirty", o.cardPreclean().methodName());
        assertEquals(12, o.cardShift());
        assertEquals(0, o.dirtyCard());
        assertEquals(Duration.ofMillis(250), o.reportInterval());
        assertFalse(o.jfr());
        assertTrue(o.continueOnError());
    }

    /** Each row: an option to add to (or replace in) the valid set, and the exact line the agent prints after "pagemark agent: ". */
    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            backend=bogus          | bad option backend=bogus: unknown backend; accepted: auto, uffd-async, uffd-sync, uffd-sigbus, mprotect, soft-dirty
            backend=card-table     | bad option backend=card-table: card-table only sees writes made through a TrackedArena's write API, not the runtime's own stores; accepted: auto, uffd-async, uffd-sync, uffd-sigbus, mprotect, soft-dirty
            barrier=CardTable      | bad option barrier=CardTable: not of the form <class>#<method>; accepted: <class>#<method> or @<annotation class> of the write barrier, e.g. com.example.CardTable#mark
            barrier=a.B#c#d        | bad option barrier=a.B#c#d: not of the form <class>#<method>; accepted: <class>#<method> or @<annotation class> of the write barrier, e.g. com.example.CardTable#mark
            barrier=@9x            | bad option barrier=@9x: '9x' is not a class name; accepted: <class>#<method> or @<annotation class> of the write barrier, e.g. com.example.CardTable#mark
            barrier-scope=a..b     | bad option barrier-scope=a..b: 'a..b' is not a package name; accepted: package prefixes separated by ':' whose classes get the barrier calls removed, e.g. com.example.rt:com.example.vm
            card-scan=x.Y#1z       | bad option card-scan=x.Y#1z: '1z' is not a method name; accepted: <class>#<method> of the instance method the collector calls, mutators stopped, before it reads its card table
            cards=table..bytes     | bad option cards=table..bytes: '' is not a field name; accepted: a field path from the card-scan receiver to the card table, a byte[] or a java.lang.foreign.MemorySegment, e.g. cards or table.bytes
            card-shift=31          | bad option card-shift=31: out of range; accepted: an integer 0..30: a card covers 2^n bytes
            card-shift=nine        | bad option card-shift=nine: not an integer; accepted: an integer 0..30: a card covers 2^n bytes
            dirty-card=256         | bad option dirty-card=256: out of range; accepted: an integer 0..255: the byte value the barrier stores into a dirty card
            report-interval=1h     | bad option report-interval=1h: not a duration; accepted: 0 (off) or a duration of whole ms, s or m, e.g. 500ms, 1s, 2m
            bulk-pages=3           | bad option bulk-pages=3: bulkPages must be a power of two from 1 to 4096, got 3; accepted: window (an adaptive window) or a power of two: the pages each fault unprotects and reports, on the backends with a native fault path (uffd-sync, uffd-sigbus, mprotect)
            bulk-pages=all         | bad option bulk-pages=all: not an integer; accepted: window (an adaptive window) or a power of two: the pages each fault unprotects and reports, on the backends with a native fault path (uffd-sync, uffd-sigbus, mprotect)
            jfr=yes                | bad option jfr=yes: neither on nor off; accepted: on or off
            on-error=ignore        | bad option on-error=ignore: unknown policy; accepted: fail (a bad option or an unusable backend stops the JVM start) or continue (the JVM runs untracked)
            colour=blue            | unknown option colour=blue; accepted options: backend, bulk-pages, barrier, barrier-scope, heap, card-scan, card-clear, card-preclean, scan-style, cards, covers, card-shift, dirty-card, report-interval, jfr, on-error
            jfr                    | bad option jfr=: no value given; accepted: on or off
            """)
    void aBadOptionGetsOneLineNamingItTheValueAndTheAcceptedValues(String option, String line) {
        BadOptionException e = assertThrows(BadOptionException.class, () -> AgentOptions.parse(with(option)));
        assertEquals(line, e.getMessage());
        assertFalse(e.getMessage().contains("\n"));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            heap                   | option heap is missing; accepted: <class>#<method> of the runtime's heap allocation: returns java.lang.foreign.MemorySegment, takes the size as its one long parameter (and optionally the java.lang.foreign.Arena that owns it)
            barrier                | option barrier is missing; accepted: <class>#<method> or @<annotation class> of the write barrier, e.g. com.example.CardTable#mark
            covers                 | option covers is missing; accepted: a field path from the card-scan (and card-clear) receiver to the java.lang.foreign.MemorySegment the card table covers, card 0 being its first bytes
            """)
    void aMissingRequiredOptionIsNamed(String option, String line) {
        String without = String.join(",", List.of(VALID.split(",")).stream().filter(item -> !item.startsWith(option + "=")).toList());
        assertEquals(line, assertThrows(BadOptionException.class, () -> AgentOptions.parse(without)).getMessage());
    }

    @Test
    void anOptionGivenTwiceIsRefused() {
        assertEquals("option jfr is given twice (on and off); accepted: one jfr=..., on or off",
                assertThrows(BadOptionException.class, () -> AgentOptions.parse(VALID + ",jfr=on,jfr=off")).getMessage());
    }

    /** Checked against the class files on the class path, before anything is loaded or woven. */
    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            barrier=io.pagemark.samples.runtime.Nope#mark              | bad option barrier=io.pagemark.samples.runtime.Nope#mark: class io.pagemark.samples.runtime.Nope is not on the class path; accepted: <class>#<method> or @<annotation class> of the write barrier, e.g. com.example.CardTable#mark
            barrier=io.pagemark.samples.runtime.CardTable#marc         | bad option barrier=io.pagemark.samples.runtime.CardTable#marc: io.pagemark.samples.runtime.CardTable declares no method marc; accepted: <class>#<method> or @<annotation class> of the write barrier, e.g. com.example.CardTable#mark
            barrier=@io.pagemark.samples.runtime.CardTable             | bad option barrier=@io.pagemark.samples.runtime.CardTable: io.pagemark.samples.runtime.CardTable is not an annotation; accepted: <class>#<method> or @<annotation class> of the write barrier, e.g. com.example.CardTable#mark
            heap=io.pagemark.samples.runtime.Heap#capacity             | bad option heap=io.pagemark.samples.runtime.Heap#capacity: no capacity in io.pagemark.samples.runtime.Heap returns MemorySegment and takes exactly one long; accepted: <class>#<method> of the runtime's heap allocation: returns java.lang.foreign.MemorySegment, takes the size as its one long parameter (and optionally the java.lang.foreign.Arena that owns it)
            card-scan=io.pagemark.samples.runtime.Heap#reserveMemory   | bad option card-scan=io.pagemark.samples.runtime.Heap#reserveMemory: reserveMemory is static: the card table is found from its receiver; accepted: <class>#<method> of the instance method the collector calls, mutators stopped, before it reads its card table
            cards=covered.bytes                                        | bad option cards=covered.bytes: java.lang.foreign.MemorySegment has no field bytes (the path starts at io.pagemark.samples.runtime.CardTable); accepted: a field path from the card-scan receiver to the card table, a byte[] or a java.lang.foreign.MemorySegment, e.g. cards or table.bytes
            cards=table                                                | bad option cards=table: io.pagemark.samples.runtime.CardTable has no field table (the path starts at io.pagemark.samples.runtime.CardTable); accepted: a field path from the card-scan receiver to the card table, a byte[] or a java.lang.foreign.MemorySegment, e.g. cards or table.bytes
            covers=cards                                               | bad option covers=cards: it leads to a byte[], not a MemorySegment; accepted: a field path from the card-scan (and card-clear) receiver to the java.lang.foreign.MemorySegment the card table covers, card 0 being its first bytes
            card-preclean=io.pagemark.samples.runtime.CardTable#preclean | bad option card-preclean=io.pagemark.samples.runtime.CardTable#preclean: io.pagemark.samples.runtime.CardTable declares no method preclean; accepted: <class>#<method> of the instance method the collector calls, mutators running, before it reads its card table concurrently ahead of the card scan (a preclean)
            """)
    void classesMethodsAndFieldsAreCheckedAgainstTheClassPath(String option, String line) {
        AgentOptions parsed = AgentOptions.parse(with(option));
        assertEquals(line, assertThrows(BadOptionException.class, () -> parsed.checkClassPath(CLASS_PATH)).getMessage());
    }

    @Test
    void everyBadAndMissingOptionIsReportedAtOnceWithATemplateOfTheOptionsLine() {
        String argument = "barrier=io.pagemark.samples.runtime.CardTable#mark,card-shift=99,jfr=maybe,colour=blue,cards=cards";
        BadOptionException e = assertThrows(BadOptionException.class, () -> AgentOptions.parse(argument));
        assertEquals(List.of(
                "unknown option colour=blue; accepted options: " + Option.keys(),
                "option heap is missing; accepted: " + Option.HEAP.accepted,
                "option card-scan is missing; accepted: " + Option.CARD_SCAN.accepted,
                "option covers is missing; accepted: " + Option.COVERS.accepted,
                "bad option card-shift=99: out of range; accepted: " + Option.CARD_SHIFT.accepted,
                "bad option jfr=maybe: neither on nor off; accepted: on or off"), e.problems());
        assertEquals("barrier=io.pagemark.samples.runtime.CardTable#mark,heap=<class>#<method>,card-scan=<class>#<method>,cards=cards"
                + ",covers=<field path>,card-shift=9,jfr=on", AgentOptions.template(argument, e));
    }

    @Test
    void everyClassPathProblemIsReportedAtOnce() {
        AgentOptions parsed = AgentOptions.parse(VALID.replace("Heap#reserveMemory", "Heap#capacity").replace("cards=cards", "cards=table"));
        BadOptionException e = assertThrows(BadOptionException.class, () -> parsed.checkClassPath(CLASS_PATH));
        assertEquals(2, e.problems().size(), e::getMessage);
        assertTrue(e.problems().get(0).startsWith("bad option heap=io.pagemark.samples.runtime.Heap#capacity: no capacity in"), e::getMessage);
        assertTrue(e.problems().get(1).startsWith("bad option cards=table: io.pagemark.samples.runtime.CardTable has no field table"), e::getMessage);
    }

    @Test
    void theScanStyleIsReadOrDrain() {
        assertFalse(AgentOptions.parse(VALID).drainingScan());
        assertTrue(AgentOptions.parse(VALID + ",scan-style=drain").drainingScan());
        assertEquals("bad option scan-style=sweep: unknown style; accepted: " + Option.SCAN_STYLE.accepted,
                assertThrows(BadOptionException.class, () -> AgentOptions.parse(VALID + ",scan-style=sweep")).getMessage());
    }

    @Test
    void theErrorPolicyIsReadEvenWhenAnotherOptionIsBad() {
        assertTrue(AgentOptions.continueOnError("backend=bogus,on-error=continue"));
        assertTrue(AgentOptions.continueOnError("on-error = continue ,jfr=maybe"));
        assertFalse(AgentOptions.continueOnError("backend=bogus"));
        assertFalse(AgentOptions.continueOnError("on-error=fail"));
        assertFalse(AgentOptions.continueOnError(null));
    }

    /** The valid options with {@code option} replacing the one of the same name (or added). */
    private static String with(String option) {
        String key = option.contains("=") ? option.substring(0, option.indexOf('=')) : option;
        String rest = String.join(",", List.of(VALID.split(",")).stream().filter(item -> !item.startsWith(key + "=")).toList());
        return rest + "," + option;
    }

    /** A fixed block needs a native fault path: on uffd-async the agent refuses to start, naming the option. */
    @Test
    void aFixedBlockOnABackendWithoutANativeFaultPathIsRefused() {
        PagemarkAgent.checkBulkPages(null, Backend.UFFD_ASYNC);
        PagemarkAgent.checkBulkPages(1, Backend.UFFD_SYNC);
        BadOptionException e = assertThrows(BadOptionException.class, () -> PagemarkAgent.checkBulkPages(1, Backend.UFFD_ASYNC));
        assertTrue(e.getMessage().startsWith("bad option bulk-pages=1: the backend is uffd-async, which has no native fault path; accepted: window"), e.getMessage());
    }
}

package io.pagemark.agent;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertSame;

/** A path of final fields is read once per owner; a path through a field that is not final is read at every call. */
class FieldPathTest {
    static final class Fixed {
        final byte[] cards;

        Fixed(byte[] cards) {
            this.cards = cards;
        }
    }

    static final class Replaceable {
        byte[] cards = new byte[1];
    }

    static final class Holder {
        final Replaceable table = new Replaceable();
    }

    @Test
    void finalFieldsGiveEachOwnerItsOwnValue() {
        FieldPath path = new FieldPath(Option.CARDS, List.of("cards"));
        Fixed a = new Fixed(new byte[1]), b = new Fixed(new byte[2]);
        assertSame(a.cards, path.read(a));
        assertSame(a.cards, path.read(a));
        assertSame(b.cards, path.read(b));
        assertSame(a.cards, path.read(a));
    }

    @Test
    void aFieldThatIsNotFinalIsReadAgain() {
        FieldPath path = new FieldPath(Option.CARDS, List.of("cards"));
        Replaceable owner = new Replaceable();
        assertSame(owner.cards, path.read(owner));
        owner.cards = new byte[2];
        assertSame(owner.cards, path.read(owner), "the table was replaced");
    }

    @Test
    void aPathIsFinalOnlyWhenEveryFieldOfItIs() {
        FieldPath path = new FieldPath(Option.CARDS, List.of("table", "cards"));
        Holder owner = new Holder();
        assertSame(owner.table.cards, path.read(owner));
        owner.table.cards = new byte[2];
        assertSame(owner.table.cards, path.read(owner), "the table was replaced behind a final field");
    }
}

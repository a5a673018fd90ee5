package io.pagemark.agent;

import net.bytebuddy.asm.Advice;

import java.lang.foreign.MemorySegment;

/** The advice ByteBuddy inlines into the runtime's methods; each one only calls into {@link Hooks}. */
final class Advices {
    private Advices() {}

    /** Around the heap allocation: when the agent returns tracked memory, the original body is skipped. */
    static final class HeapAllocation {
        @Advice.OnMethodEnter(skipOn = Advice.OnNonDefaultValue.class)
        static MemorySegment enter(@Advice.AllArguments Object[] arguments) {
            return Hooks.reserveHeap(arguments);
        }

        @Advice.OnMethodExit
        static void exit(@Advice.Enter MemorySegment tracked, @Advice.Return(readOnly = false) MemorySegment heap) {
            if (tracked != null) heap = tracked;
        }
    }

    /** On entry of the method the collector calls before reading its card table. */
    static final class CardScan {
        @Advice.OnMethodEnter
        static void enter(@Advice.This Object cardTableOwner) {
            Hooks.beforeCardScan(cardTableOwner);
        }
    }

    /** On entry of the method the collector calls, mutators running, before it precleans its card table. */
    static final class CardPreclean {
        @Advice.OnMethodEnter
        static void enter(@Advice.This Object cardTableOwner) {
            Hooks.beforeCardPreclean(cardTableOwner);
        }
    }

    /** On entry of the method the collector calls to clear its card table. */
    static final class CardClear {
        @Advice.OnMethodEnter
        static void enter(@Advice.This Object cardTableOwner) {
            Hooks.beforeCardClear(cardTableOwner);
        }
    }
}

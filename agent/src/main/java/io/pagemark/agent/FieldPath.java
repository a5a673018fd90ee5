package io.pagemark.agent;

import java.lang.ref.WeakReference;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Reads a chain of instance fields ({@code table.bytes}) from an object, the way the {@code cards}
 * and {@code covers} options name them. Fields are looked up once per class, in the class and its
 * superclasses, and read reflectively (the hooks run once per collector phase, not per store).
 * <p>
 * A path of final fields only is read once per owner object: the hooks run in the collector's pause,
 * and so rarely that the JIT never compiles a reflective read, which then costs tens of microseconds
 * in the interpreter every time (docs/agent.md). A runtime that replaces its card table does so in a
 * field that is not final, and a path through it is read at every call.
 */
final class FieldPath {
    private final Option option;
    private final List<String> names;
    private final ClassValue<Map<String, Field>> fields = new ClassValue<>() {
        @Override
        protected Map<String, Field> computeValue(Class<?> type) {
            return new ConcurrentHashMap<>();
        }
    };

    /** The last owner whose path was all final fields, and the value it led to; weak, so as to keep neither alive. */
    private record Resolved(WeakReference<Object> owner, WeakReference<Object> value) {}

    /** Written and read by the hooks' threads: a whole record or null, never half of one. */
    private volatile Resolved lastFinal;

    FieldPath(Option option, List<String> names) {
        this.option = option;
        this.names = names;
    }

    /** The value at the end of the path, never null. */
    Object read(Object start) {
        Resolved last = lastFinal;
        if (last != null && last.owner.get() == start) {
            Object value = last.value.get();
            if (value != null) return value;   // (the owner is alive, so is what its final fields hold)
        }
        boolean allFinal = true;
        Object current = start;
        for (String name : names) {
            Class<?> type = current.getClass();
            Field field = fields.get(type).computeIfAbsent(name, n -> find(type, n, start));
            allFinal &= Modifier.isFinal(field.getModifiers());
            try {
                current = field.get(current);
            } catch (IllegalAccessException e) {
                throw new IllegalStateException("pagemark agent: cannot read " + field + " (option " + option.key + "): " + e.getMessage(), e);
            }
            if (current == null) {
                throw new IllegalStateException("pagemark agent: " + option.key + "=" + String.join(".", names) + " reached a null "
                        + name + " from a " + start.getClass().getName());
            }
        }
        if (allFinal) lastFinal = new Resolved(new WeakReference<>(start), new WeakReference<>(current));
        return current;
    }

    private Field find(Class<?> type, String name, Object start) {
        for (Class<?> c = type; c != null; c = c.getSuperclass()) {
            try {
                Field f = c.getDeclaredField(name);
                f.setAccessible(true);
                return f;
            } catch (NoSuchFieldException e) {
                // look in the superclass
            }
        }
        throw new IllegalStateException("pagemark agent: " + option.key + "=" + String.join(".", names) + ": no field " + name
                + " on the way from a " + start.getClass().getName());
    }
}

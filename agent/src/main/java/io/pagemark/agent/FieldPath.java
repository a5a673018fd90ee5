package io.pagemark.agent;

import java.lang.reflect.Field;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Reads a chain of instance fields ({@code table.bytes}) from an object, the way the {@code cards}
 * and {@code covers} options name them. Fields are looked up once per class, in the class and its
 * superclasses, and read reflectively (the hooks run once per collector phase, not per store).
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

    FieldPath(Option option, List<String> names) {
        this.option = option;
        this.names = names;
    }

    /** The value at the end of the path, never null. */
    Object read(Object start) {
        Object current = start;
        for (String name : names) {
            Class<?> type = current.getClass();
            Field field = fields.get(type).computeIfAbsent(name, n -> find(type, n, start));
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

package io.pagemark.samples.runtime;

import java.util.Arrays;

/** A growable list of ints without boxing: dirty card indices, block stacks. */
public final class IntList {
    private int[] values = new int[64];
    private int size;

    public void add(int value) {
        if (size == values.length) values = Arrays.copyOf(values, size * 2);
        values[size++] = value;
    }

    public int get(int index) {
        if (index >= size) throw new IndexOutOfBoundsException(index + " >= " + size);
        return values[index];
    }

    /** Removes and returns the last value, or -1 when empty. */
    int pop() {
        return size == 0 ? -1 : values[--size];
    }

    public int size() {
        return size;
    }

    public void clear() {
        size = 0;
    }
}

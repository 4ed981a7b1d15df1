package org.platformmemory.api.internal;

/**
 * One stripe of a {@link LiveBlockSet}: an open-addressing hash set of addresses, its ring of recently
 * removed ones and its event counts, all guarded by {@link #lock} (taken by the set through a VarHandle).
 * Padded so that two stripes' hot fields never share a cache line.
 */
final class LiveStripe {

    static final int INITIAL_CAPACITY = 64;
    static final int RECENT = 64;

    // keeps two stripes' hot fields off one cache line
    @SuppressWarnings("unused")
    long p0, p1, p2, p3, p4, p5, p6;
    volatile int lock;
    int size;
    long[] table = new long[INITIAL_CAPACITY];
    // the event counts as fields, not an array: the facade's calls pass a constant event, so each count
    // is one increment of a field of the stripe already in hand (no array load, no bounds check)
    long allocated;
    long freed;
    long reallocated;
    /** Bytes that blocks were added with or grew by ({@link LiveBlockSet#add(long, int, long, long)}). */
    long bytesIn;
    final long[] recent = new long[RECENT];
    int recentNext;
    /** This stripe's blocks of {@link LiveBlockSet#NEAR} bytes or more, by region; made at the first one. */
    LargeBlockIndex large;
    @SuppressWarnings("unused")
    long q0, q1, q2, q3, q4, q5, q6;

    void count(int event) {
        switch (event) {
            case LiveBlockSet.ALLOCATED -> allocated++;
            case LiveBlockSet.FREED -> freed++;
            case LiveBlockSet.REALLOCATED -> reallocated++;
            case LiveBlockSet.FREE_UNDONE -> freed--;
            default -> { } // NONE: nothing to count
        }
    }

    /** How many times {@code event} was counted here. */
    long counted(int event) {
        return switch (event) {
            case LiveBlockSet.ALLOCATED -> allocated;
            case LiveBlockSet.FREED -> freed;
            case LiveBlockSet.REALLOCATED -> reallocated;
            default -> 0;
        };
    }

    int find(long address, long hash) {
        long[] t = table;
        int m = t.length - 1;
        for (int i = (int) (hash >>> 40) & m; ; i = (i + 1) & m) {
            long a = t[i];
            if (a == address) {
                return i;
            }
            if (a == 0) {
                return -1;
            }
        }
    }

    void insert(long address, long hash) {
        if ((size + 1) * 2 > table.length) {
            grow();
        }
        long[] t = table;
        int m = t.length - 1;
        int i = (int) (hash >>> 40) & m;
        while (t[i] != 0) {
            if (t[i] == address) {
                return;
            }
            i = (i + 1) & m;
        }
        t[i] = address;
        size++;
    }

    boolean delete(long address, long hash) {
        int i = find(address, hash);
        if (i < 0) {
            return false;
        }
        long[] t = table;
        int m = t.length - 1;
        // backward-shift deletion keeps probe chains whole without tombstones
        int hole = i;
        for (int j = (hole + 1) & m; t[j] != 0; j = (j + 1) & m) {
            int home = (int) (LiveBlockSet.mix(t[j]) >>> 40) & m;
            if (((j - home) & m) >= ((j - hole) & m)) {
                t[hole] = t[j];
                hole = j;
            }
        }
        t[hole] = 0;
        size--;
        recent[recentNext] = address;
        recentNext = (recentNext + 1) & (RECENT - 1);
        return true;
    }

    private void grow() {
        rehash(table.length * 2);
    }

    /** Halves the table while it is at most an eighth full (a table never shrinks by itself). */
    void shrink() {
        int capacity = table.length;
        while (capacity > INITIAL_CAPACITY && (long) size * 8 <= capacity) {
            capacity /= 2;
        }
        if (capacity < table.length) {
            rehash(capacity);
        }
    }

    private void rehash(int capacity) {
        long[] old = table;
        long[] t = new long[capacity];
        int m = t.length - 1;
        for (long a : old) {
            if (a != 0) {
                int i = (int) (LiveBlockSet.mix(a) >>> 40) & m;
                while (t[i] != 0) {
                    i = (i + 1) & m;
                }
                t[i] = a;
            }
        }
        table = t;
    }
}

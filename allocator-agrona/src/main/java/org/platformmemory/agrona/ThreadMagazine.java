package org.platformmemory.agrona;

import java.lang.ref.WeakReference;

/**
 * One thread's magazines: a small stack of free slot addresses per size class, all in one array, and
 * the thread's share of the bytes requested for live blocks, per class.
 *
 * <p>Only the owner thread changes it while that thread lives, with plain reads and writes; other
 * threads read the counts racily, for statistics only. Once the owner has ended (its end happens-before
 * another thread sees {@code isAlive() == false}), {@link Magazines} retires it. The owner is held
 * weakly, so a registered magazine never keeps an ended thread reachable.
 */
final class ThreadMagazine {

    private final WeakReference<Thread> owner;
    final long[] slots;
    final int[] start;
    final int[] count;
    final int[] capacity;
    /** Bytes requested minus bytes freed by this thread, per class: may go negative. */
    final long[] requested;
    int misses;

    ThreadMagazine(Thread owner, int[] capacity) {
        this.owner = new WeakReference<>(owner);
        this.capacity = capacity;
        this.start = new int[capacity.length];
        this.count = new int[capacity.length];
        this.requested = new long[capacity.length];
        int total = 0;
        for (int c = 0; c < capacity.length; c++) {
            start[c] = total;
            total += capacity[c];
        }
        this.slots = new long[total];
    }

    /** @return a cached slot of class {@code c}, or 0 when its magazine is empty */
    long pop(int c) {
        int n = count[c];
        if (n == 0) {
            return 0;
        }
        count[c] = --n;
        return slots[start[c] + n];
    }

    /** @return whether the slot was cached; false when the magazine of class {@code c} is full */
    boolean push(int c, long address) {
        int n = count[c];
        if (n == capacity[c]) {
            return false;
        }
        slots[start[c] + n] = address;
        count[c] = n + 1;
        return true;
    }

    /** Whether the owner thread has ended (or is gone altogether). */
    boolean ownerEnded() {
        Thread thread = owner.get();
        return thread == null || !thread.isAlive();
    }
}

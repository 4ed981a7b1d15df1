package org.platformmemory.api.kit;

import java.util.Arrays;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Per-thread stacks of free blocks, one per size class, in front of a shared {@link Backing}: a thread
 * allocates from and frees into its own {@link Stacks}, touching no lock, no shared atomic and no Java
 * heap. An empty stack takes half its capacity from the backing in one batch; a full one gives its
 * older half back in one batch (the newer, warmer blocks stay).
 *
 * <p>Blocks are addresses, never 0. A block in a stack is free to callers but off the backing's books
 * until it goes back: when a stack spills, when its thread calls {@link #flushCurrent()}, at its
 * thread's next refill or spill after a {@link #flushAll()}, and once its thread has ended (the
 * {@link PerThread} policy: retired when another thread registers, every 256 refills of any thread, and
 * on {@link #retireEnded()}), so nothing waits for a GC and thread churn leaks nothing. Live threads'
 * stacks are never drained by another thread.
 *
 * <p>Each thread also keeps a signed tally per class that the backend may use (e.g. bytes requested),
 * added up over live and retired threads by {@link #totals}.
 *
 * <p>The stacks are a {@link PerThread} of their own: {@link #current()} is the calling thread's
 * {@link Stacks}, one thread-local lookup straight from the backend's field (see {@link PerThread} for
 * why it is not a field of this object).
 *
 * <p>Thread-safe as described; a class with capacity 0 passes every block straight through.
 */
public final class ThreadStacks extends PerThread<ThreadStacks.Stacks> {

    /**
     * Where the stacks refill from and spill to. Called by the thread that owns the stack, or by the one
     * retiring an ended thread's stacks; never under a lock of {@link ThreadStacks}.
     */
    public interface Backing {

        /**
         * Moves up to {@code max} (at least 1) free blocks of {@code sizeClass} into
         * {@code into[at..at + max)}.
         *
         * @return how many were moved; 0 when none can be had (memory is out)
         */
        int take(int sizeClass, long[] into, int at, int max);

        /** Takes back the {@code count} blocks of {@code sizeClass} at {@code from[at..at + count)}. */
        void give(int sizeClass, long[] from, int at, int count);
    }

    private static final int RETIRE_EVERY_REFILLS = 256;

    private final Backing backing;
    private final int[] capacity;
    // guarded by itself: the tallies of retired threads
    private final long[] retiredTally;
    /** Bumped by {@link #flushAll()}; a thread's stacks flush when they find it changed. */
    private final AtomicInteger generation = new AtomicInteger();

    /**
     * @param capacity blocks each thread's stack of class {@code c} holds at most, 0 or more, one per class
     * @param backing  the shared store of free blocks
     */
    public ThreadStacks(int[] capacity, Backing backing) {
        this.backing = backing;
        this.capacity = capacity.clone();
        for (int c = 0; c < capacity.length; c++) {
            if (capacity[c] < 0) {
                throw new IllegalArgumentException("capacity of class " + c + ": " + capacity[c]);
            }
        }
        this.retiredTally = new long[capacity.length];
    }

    // the calling thread's stacks, on its first current(): the hot path is then one thread-local lookup
    @Override
    Stacks create() {
        return new Stacks(this);
    }

    /** Gives every block in the calling thread's stacks back to the backing. */
    public void flushCurrent() {
        drain(current());
    }

    /**
     * Asks every thread for its blocks back: the calling thread's go back now, every other thread's the
     * next time one of its stacks runs empty or full (a refill or a spill). The check sits on those slow
     * paths only, so a pop or push that its stack serves pays nothing for it (measured, issue 10: a check
     * on every call cost netty's backend about 5%); until then a thread keeps at most its stacks' capacity.
     * Netty's trim uses it, so that cached buffers stop holding Netty's chunks.
     */
    public void flushAll() {
        generation.incrementAndGet();
        flushIfAsked(current());
    }

    // on a refill or a spill: the stacks give everything back once after each flushAll
    private void flushIfAsked(Stacks s) {
        int asked = generation.get();
        if (s.flushed != asked) {
            s.flushed = asked;
            drain(s);
        }
    }

    /**
     * Fills {@code tally} with each class's tally over every thread that ever had stacks, and
     * {@code cached} with the blocks sitting in stacks per class. Racy: exact only while no other thread
     * allocates or frees.
     */
    public void totals(long[] tally, long[] cached) {
        Arrays.fill(cached, 0);
        synchronized (retiredTally) {
            System.arraycopy(retiredTally, 0, tally, 0, tally.length);
        }
        forEach(s -> {
            for (int c = 0; c < capacity.length; c++) {
                tally[c] += s.tally[c];
                cached[c] += s.count[c];
            }
        });
    }

    /** Forgets every thread's stacks without giving anything back: the memory is about to go. */
    public void close() {
        forgetAll();
    }

    private void drain(Stacks s) {
        for (int c = 0; c < capacity.length; c++) {
            int n = s.count[c];
            if (n > 0) {
                s.count[c] = 0;
                backing.give(c, s.stacks[c], 0, n);
            }
        }
    }

    // an ended thread's stacks (or every thread's at retireAll): the blocks go back, the tally stays
    @Override
    void retire(Stacks s) {
        drain(s);
        synchronized (retiredTally) {
            for (int c = 0; c < capacity.length; c++) {
                retiredTally[c] += s.tally[c];
            }
        }
    }

    // the stack of class c is empty: take half a stack from the backing
    private long refill(Stacks s, int c) {
        if (++s.misses % RETIRE_EVERY_REFILLS == 0) {
            retireEnded();
        }
        flushIfAsked(s);
        long[] stack = s.stacks[c];
        if (stack.length == 0) { // a class of capacity 0: one block through the spare element
            return backing.take(c, s.one, 0, 1) == 0 ? 0 : s.one[0];
        }
        int taken = backing.take(c, stack, 0, Math.max(1, stack.length >> 1));
        if (taken == 0) {
            return 0;
        }
        s.count[c] = taken - 1;
        return stack[taken - 1];
    }

    // the stack of class c is full: the older half goes back, the newer stays, then the block goes on top
    private void spill(Stacks s, int c, long address) {
        flushIfAsked(s);
        long[] stack = s.stacks[c];
        int n = s.count[c];
        if (stack.length == 0) { // a class of capacity 0: the block goes straight back
            s.one[0] = address;
            backing.give(c, s.one, 0, 1);
            return;
        }
        if (n < stack.length) { // the flush emptied it: room again
            stack[n] = address;
            s.count[c] = n + 1;
            return;
        }
        int half = (n + 1) >> 1;
        backing.give(c, stack, 0, half);
        System.arraycopy(stack, half, stack, 0, n - half);
        stack[n - half] = address;
        s.count[c] = n - half + 1;
    }

    /**
     * One thread's stacks. Only its thread may call its methods; none blocks or allocates unless the
     * backing does.
     */
    public static final class Stacks {

        private final ThreadStacks owner;
        // one array a class, as long as its capacity: a pop or push reads the class's array and count only
        private final long[][] stacks;
        private final int[] count;
        // the spare element a block of a class of capacity 0 passes through
        private final long[] one = new long[1];
        private final long[] tally;
        private int misses;
        // the generation of the last flushAll these stacks gave their blocks back for
        private int flushed;

        private Stacks(ThreadStacks owner) {
            this.owner = owner;
            this.stacks = new long[owner.capacity.length][];
            for (int c = 0; c < stacks.length; c++) {
                stacks[c] = new long[owner.capacity[c]];
            }
            this.count = new int[owner.capacity.length];
            this.tally = new long[owner.capacity.length];
        }

        /** A free block of class {@code sizeClass}, from this stack or else the backing; 0 when memory is out. */
        public long pop(int sizeClass) {
            int n = count[sizeClass];
            if (n == 0) {
                return owner.refill(this, sizeClass);
            }
            count[sizeClass] = --n;
            return stacks[sizeClass][n];
        }

        /** Frees {@code address}, a block of class {@code sizeClass} from any thread's {@link #pop}. */
        public void push(int sizeClass, long address) {
            int n = count[sizeClass];
            long[] stack = stacks[sizeClass];
            if (n == stack.length) {
                owner.spill(this, sizeClass, address);
                return;
            }
            stack[n] = address;
            count[sizeClass] = n + 1;
        }

        /** Adds {@code delta} to this thread's tally of class {@code sizeClass}; see {@link #totals}. */
        public void tally(int sizeClass, long delta) {
            tally[sizeClass] += delta;
        }

        /** How many free blocks of class {@code sizeClass} this stack holds now. */
        public int count(int sizeClass) {
            return count[sizeClass];
        }
    }
}

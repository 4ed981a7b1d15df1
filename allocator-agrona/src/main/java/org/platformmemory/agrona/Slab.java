package org.platformmemory.agrona;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;

import org.agrona.BufferUtil;
import org.agrona.concurrent.UnsafeBuffer;
import org.platformmemory.api.kit.FieldHandles;

/**
 * One page-aligned off-heap buffer cut into equal slots, with a stack of its free slots.
 *
 * <p>The stack's links live on the Java heap ({@code int[]}), never in the slots: a thread that read
 * the head just before the slab was released only ever touches the array, so releasing a slab can
 * never make another thread read unmapped memory. The head is one {@code long} changed by CAS:
 * <pre>
 *   bits  0..20  top of the stack: slot index + 1, 0 when no slot is free
 *   bits 21..41  free slots
 *   bit  42      QUEUED: the slab sits in its class's queue of slabs with free slots
 *   bit  43      RETIRED: the memory is gone; the stack is empty for ever
 * </pre>
 *
 * <h2>Why there is no ABA hazard (and no tag)</h2>
 * A lock-free pop reads the top slot A and its link B, then swaps the head from A to B. If meanwhile
 * other threads popped A, popped B and pushed A back, the head shows A again and the swap succeeds with
 * the stale B: B now has two owners. The classic cure is a tag in the head word, bumped by every change;
 * this class used to have one of 20 bits, which a thread held up for 2^20 changes (a few tens of
 * milliseconds of other threads' traffic: an ordinary preemption) could see wrap round. No tag width that
 * fits beside two 21-bit fields in 64 bits makes a wrap impossible, only rarer.
 *
 * <p>So pops are serialised instead: {@link #pop} and {@link #pop(long[], int, int)} run under this slab's
 * monitor, while {@link #push} and the flag changes stay lock-free CASes. With one popper at a time the
 * hazard cannot arise. While a pop holds the monitor, slot A sits on the stack and nobody else may take
 * it, so nobody can push it either; every push puts a slot that is not on the stack on top, and only a
 * pop could bring A back to the top. Hence if the head still shows A at the CAS, nothing was pushed or
 * popped since it was read, and the links read below A are still the stack. The other changes
 * (QUEUED cleared by {@link #unqueue}, RETIRED set by {@link #retireIfEmpty}) alter the word, so the CAS
 * fails and the pop reads again; a retired slab never changes back. The whole word therefore identifies
 * the stack while a pop runs, without a tag.
 *
 * <p>The monitor costs a pop two more atomic operations when nobody contends, and pops are rare: the
 * backend's per-thread magazines take and give slots in batches (one pop per half magazine), and only
 * with {@code magazineSize=0} does every allocation pop. Frees never wait: a push never takes the
 * monitor. The monitor is Java's own ({@code synchronized}): it allocates nothing on the Java heap, and a
 * popper descheduled while holding it only delays other poppers of this one slab.
 *
 * <p>{@link #pop}, {@link #pop(long[], int, int)} and {@link #push} are thread-safe and allocate nothing.
 */
final class Slab {

    /** Slabs are aligned to a page, so a slot whose size is a multiple of A (A up to a page) is A-aligned. */
    static final int PAGE = 4096;
    /** The most slots one slab can have (21 bits). */
    static final int MAX_SLOTS = (1 << 21) - 1;

    /** {@link #push} result: the slab went from no free slot to one and must be queued by the caller. */
    static final int BECAME_AVAILABLE = 1;
    /** {@link #push} result: every slot is free now. */
    static final int BECAME_EMPTY = 2;

    private static final long FIELD = (1L << 21) - 1;
    private static final int FREE_SHIFT = 21;
    private static final long QUEUED = 1L << 42;
    private static final long RETIRED = 1L << 43;
    private static final long STACK = FIELD | (FIELD << FREE_SHIFT);

    private static final VarHandle HEAD = FieldHandles.field(MethodHandles.lookup(), Slab.class, "head", long.class);

    private final ByteBuffer memory;
    private final UnsafeBuffer slots;
    private final long base;
    private final int slotSize;
    private final int slotCount;
    private final int[] links;
    @SuppressWarnings("unused") // accessed through HEAD
    private volatile long head;
    private volatile long emptySince;

    private Slab(ByteBuffer memory, long base, int slabSize, int slotSize) {
        this.memory = memory;
        this.slots = new UnsafeBuffer(base, slabSize);
        this.base = base;
        this.slotSize = slotSize;
        this.slotCount = slabSize / slotSize;
        this.links = new int[slotCount];
        for (int i = 0; i < slotCount; i++) {
            links[i] = i + 2 <= slotCount ? i + 2 : 0; // slot i is followed by slot i + 1
        }
        this.head = 1 | ((long) slotCount << FREE_SHIFT);
    }

    /**
     * Reserves a page-aligned buffer of {@code slabSize} bytes and cuts it into slots.
     *
     * @return the slab, or {@code null} when the JVM cannot reserve the direct memory
     */
    static Slab allocate(int slabSize, int slotSize, long now) {
        ByteBuffer memory;
        try {
            memory = ByteBuffer.allocateDirect(slabSize + PAGE);
        } catch (OutOfMemoryError e) {
            return null;
        }
        long address = BufferUtil.address(memory);
        long aligned = (address + PAGE - 1) & -PAGE;
        Slab slab = new Slab(memory, aligned, slabSize, slotSize);
        slab.emptySince = now;
        return slab;
    }

    /** The first byte of the slot area. */
    long base() {
        return base;
    }

    /** A view of the slot area, for reading and writing blocks by offset. */
    UnsafeBuffer buffer() {
        return slots;
    }

    int slotSize() {
        return slotSize;
    }

    int slotCount() {
        return slotCount;
    }

    /** The address of slot {@code index}. */
    long address(int index) {
        return base + (long) index * slotSize;
    }

    /** The index of the slot at {@code address}, which lies inside this slab. */
    int indexOf(long address) {
        return (int) (address - base) / slotSize;
    }

    /** @return the index of a slot taken off the free stack, or -1 when none is free (or retired) */
    int pop() {
        synchronized (this) { // one popper at a time: see the class comment
            long h = (long) HEAD.getVolatile(this);
            while (true) {
                int top = (int) (h & FIELD);
                if (top == 0) {
                    return -1;
                }
                int next = links[top - 1];
                long updated = (h & ~STACK) | next | ((((h >>> FREE_SHIFT) & FIELD) - 1) << FREE_SHIFT);
                long witness = (long) HEAD.compareAndExchange(this, h, updated);
                if (witness == h) {
                    return top - 1;
                }
                h = witness; // a push or a flag changed the word: read the new top
            }
        }
    }

    /**
     * Takes up to {@code n} slots off the free stack with one CAS and writes their addresses to
     * {@code dest[at..]}.
     *
     * @return how many were taken: 0 when none is free (or the slab is retired)
     */
    int pop(long[] dest, int at, int n) {
        synchronized (this) { // one popper at a time: see the class comment
            long h = (long) HEAD.getVolatile(this);
            while (true) {
                int free = (int) ((h >>> FREE_SHIFT) & FIELD);
                int taken = Math.min(n, free);
                if (taken == 0) {
                    return 0;
                }
                // no other pop runs, so the chain below the top read here stays as it is; a push meanwhile
                // changes the top and fails the CAS, and the walk starts again from the new top
                int top = (int) (h & FIELD);
                for (int i = 0; i < taken; i++) {
                    dest[at + i] = address(top - 1);
                    top = links[top - 1];
                }
                long updated = (h & ~STACK) | top | ((long) (free - taken) << FREE_SHIFT);
                long witness = (long) HEAD.compareAndExchange(this, h, updated);
                if (witness == h) {
                    return taken;
                }
                h = witness;
            }
        }
    }

    /**
     * Puts slot {@code index} back on the free stack.
     *
     * @return a mask of {@link #BECAME_AVAILABLE} (this call marked the slab QUEUED: the caller queues
     *         it) and {@link #BECAME_EMPTY}
     */
    int push(int index) {
        long h = (long) HEAD.getVolatile(this);
        while (true) {
            long free = (h >>> FREE_SHIFT) & FIELD;
            links[index] = (int) (h & FIELD); // published by the CAS below
            boolean queue = free == 0 && (h & QUEUED) == 0;
            long updated = (h & ~STACK) | (index + 1) | ((free + 1) << FREE_SHIFT) | (queue ? QUEUED : 0);
            long witness = (long) HEAD.compareAndExchange(this, h, updated);
            if (witness == h) {
                return (queue ? BECAME_AVAILABLE : 0) | (free + 1 == slotCount ? BECAME_EMPTY : 0);
            }
            h = witness;
        }
    }

    /**
     * Clears QUEUED after the slab was taken from its class's queue.
     *
     * @return false if the slab is retired and must be dropped
     */
    boolean unqueue() {
        long h = (long) HEAD.getVolatile(this);
        while (true) {
            if ((h & RETIRED) != 0) {
                return false;
            }
            long witness = (long) HEAD.compareAndExchange(this, h, h & ~QUEUED);
            if (witness == h) {
                return true;
            }
            h = witness;
        }
    }

    /** Free slots now; a snapshot. */
    int freeSlots() {
        return (int) (((long) HEAD.getVolatile(this) >>> FREE_SHIFT) & FIELD);
    }

    boolean isRetired() {
        return ((long) HEAD.getVolatile(this) & RETIRED) != 0;
    }

    /** When the slab last became empty, in {@link System#nanoTime()} units. */
    long emptySince() {
        return emptySince;
    }

    void markEmpty(long now) {
        emptySince = now;
    }

    /**
     * Retires the slab if every slot is free: from then on {@link #pop} finds nothing.
     *
     * @return whether it was retired; the caller then calls {@link #release()}
     */
    boolean retireIfEmpty() {
        long h = (long) HEAD.getVolatile(this);
        while (true) {
            if ((h & RETIRED) != 0 || ((h >>> FREE_SHIFT) & FIELD) != slotCount) {
                return false;
            }
            long witness = (long) HEAD.compareAndExchange(this, h, (h & ~STACK) | RETIRED);
            if (witness == h) {
                return true;
            }
            h = witness;
        }
    }

    /** Returns the memory to the JVM now rather than at the next GC. Only after {@link #retireIfEmpty()}. */
    void release() {
        BufferUtil.free(memory);
    }
}

package org.platformmemory.api.internal;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Arrays;

import org.platformmemory.api.kit.FieldHandles;

/**
 * The addresses of live blocks: a lock-striped, open-addressing hash set of {@code long}s with no boxing
 * and no allocation except when a stripe grows.
 *
 * <p>It answers "is this a block we handed out and have not freed?" without touching the memory at the
 * address, so a foreign or stale pointer (even one into unmapped memory) is recognised without a crash,
 * and {@link #remove} is the single atomic claim that stops two threads freeing one block. Each stripe
 * also remembers its most recently removed addresses, which tells a double free from a foreign pointer,
 * and counts the events the facade reports ({@link #ALLOCATED}, {@link #FREED}...) under the lock it
 * takes anyway, so exact counts cost no extra atomic operation.
 *
 * <p>Each stripe is guarded by a small spin lock (one compare-and-set to enter, a release store to
 * leave): the critical sections are a few loads and stores.
 *
 * <p>Built with a size reader, it also answers "which live block holds this address?" in bounded time
 * ({@link #blockAround}): it probes the 16-byte steps before the address up to {@link #NEAR} bytes back,
 * and files blocks of {@link #NEAR} bytes or more in its stripe's {@link LargeBlockIndex} (no object per
 * block, changed under the stripe lock the block's add or remove holds anyway), so no question walks every
 * live block.
 */
public final class LiveBlockSet {

    /** Count nothing. */
    public static final int NONE = 0;
    /** Counts a new block ({@link #add}). */
    public static final int ALLOCATED = 1;
    /** Counts a block freed ({@link #remove}, {@link #drain}). */
    public static final int FREED = 2;
    /** Counts a block that moved or changed size ({@link #add}). */
    public static final int REALLOCATED = 3;
    /** Takes back a {@link #FREED} count ({@link #add} of a block whose free was abandoned). */
    public static final int FREE_UNDONE = 4;

    /** Reads a live block under its stripe's lock, see {@link #readIfLive}. */
    @FunctionalInterface
    public interface Reader {
        long read(long address);
    }

    /** Called for each address by {@link #forEach}, under the stripe's lock. */
    @FunctionalInterface
    public interface Visitor {
        void visit(long address);
    }

    private static final VarHandle LOCK = FieldHandles.field(MethodHandles.lookup(), LiveStripe.class, "lock", int.class);

    /** How far back {@link #blockAround} probes; blocks at least this large are also filed by region. */
    public static final long NEAR = LargeBlockIndex.SMALLEST;

    private final LiveStripe[] stripes;
    private final int mask;
    private final Reader sizeOf;

    /** @param concurrency the number of stripes, rounded up to a power of two */
    public LiveBlockSet(int concurrency) {
        this(concurrency, null);
    }

    /**
     * A set that can also say which live block holds an address ({@link #blockAround}).
     *
     * @param sizeOf reads a live block's size (called under its stripe's lock); null: no such answers
     */
    public LiveBlockSet(int concurrency, Reader sizeOf) {
        this.sizeOf = sizeOf;
        int n = Integer.highestOneBit(Math.max(1, concurrency - 1)) << 1;
        stripes = new LiveStripe[n];
        for (int i = 0; i < n; i++) {
            stripes[i] = new LiveStripe();
        }
        mask = n - 1;
    }

    static long mix(long address) {
        long h = (address >>> 4) * 0x9E3779B97F4A7C15L;
        return h ^ (h >>> 32);
    }

    private LiveStripe stripe(long hash) {
        return stripes[(int) hash & mask];
    }

    private static void lock(LiveStripe s) {
        if (!LOCK.compareAndSet(s, 0, 1)) {
            lockContended(s);
        }
    }

    private static void lockContended(LiveStripe s) {
        int spins = 0;
        while (!LOCK.compareAndSet(s, 0, 1)) {
            if (++spins < 64) {
                Thread.onSpinWait();
            } else {
                Thread.yield();
            }
        }
    }

    private static void unlock(LiveStripe s) {
        LOCK.setRelease(s, 0);
    }

    /** Adds a live block's address (never 0) and counts {@code event}. */
    public void add(long address, int event) {
        add(address, event, sizeOf != null ? sizeOf.read(address) : 0, 0);
    }

    /**
     * As {@link #add(long, int)}, for a caller that knows the block's {@code size} (no header read), and
     * counts {@code bytesIn} (the bytes a new block takes or a resized one grew by) beside the event, under
     * the lock taken anyway: with the live total, that gives the bytes given back, with no atomic of its own.
     */
    public void add(long address, int event, long size, long bytesIn) {
        if (size >= NEAR && sizeOf != null) {
            addFiled(address, event, size, bytesIn);
            return;
        }
        // the common case, spelled out rather than shared with addFiled: the stripe's critical section is
        // only the insert and two counts (with the large-block test inside it, or behind one more call, the
        // facade's 64-byte pair on system measured 2-7% slower in FacadeAB)
        long h = mix(address);
        LiveStripe s = stripe(h);
        lock(s);
        try {
            s.insert(address, h);
            s.count(event);
            s.bytesIn += bytesIn;
        } finally {
            unlock(s);
        }
    }

    /** {@link #add(long, int, long, long)} of a block of {@link #NEAR} bytes or more: also filed by region. */
    private void addFiled(long address, int event, long size, long bytesIn) {
        long h = mix(address);
        LiveStripe s = stripe(h);
        lock(s);
        try {
            s.insert(address, h);
            s.count(event);
            s.bytesIn += bytesIn;
            if (s.large == null) {
                s.large = new LargeBlockIndex();
            }
            s.large.add(address, size);
        } finally {
            unlock(s);
        }
    }

    /**
     * Removes {@code address} if it is live and counts {@code event}; the caller that gets {@code true}
     * owns the block now.
     */
    public boolean remove(long address, int event) {
        long h = mix(address);
        LiveStripe s = stripe(h);
        lock(s);
        try {
            if (!s.delete(address, h)) {
                return false;
            }
            s.count(event);
            LargeBlockIndex large = s.large;
            if (large != null && !large.isEmpty()) {
                unfile(large, address);
            }
            return true;
        } finally {
            unlock(s);
        }
    }

    /** Takes a block being removed out of its stripe's index of large blocks, if it is large; under that stripe's lock. */
    private void unfile(LargeBlockIndex large, long address) {
        long size = sizeOf.read(address);
        if (size >= NEAR) {
            large.remove(address, size);
        }
    }

    /** Counts {@code event} for {@code address} without adding or removing it. */
    public void record(long address, int event) {
        LiveStripe s = stripe(mix(address));
        lock(s);
        try {
            s.count(event);
        } finally {
            unlock(s);
        }
    }

    /** Whether {@code address} is a live block. */
    public boolean contains(long address) {
        long h = mix(address);
        LiveStripe s = stripe(h);
        lock(s);
        try {
            return s.find(address, h) >= 0;
        } finally {
            unlock(s);
        }
    }

    /**
     * {@code reader.read(address)} if {@code address} is live, under the stripe's lock so that the block
     * cannot be freed meanwhile; otherwise {@code otherwise}.
     */
    public long readIfLive(long address, Reader reader, long otherwise) {
        long h = mix(address);
        LiveStripe s = stripe(h);
        lock(s);
        try {
            return s.find(address, h) >= 0 ? reader.read(address) : otherwise;
        } finally {
            unlock(s);
        }
    }

    /** Whether {@code address} is among the most recently removed (and is not live again). */
    public boolean recentlyRemoved(long address) {
        long h = mix(address);
        LiveStripe s = stripe(h);
        lock(s);
        try {
            if (s.find(address, h) >= 0) {
                return false;
            }
            for (long r : s.recent) {
                if (r == address) {
                    return true;
                }
            }
            return false;
        } finally {
            unlock(s);
        }
    }

    /**
     * The live block that holds {@code address} past its first byte (an interior pointer), or 0; in
     * bounded time whatever the number of live blocks. Blocks never overlap, so the nearest live start
     * before {@code address} is the only candidate: found by probing up to {@link #NEAR} bytes back, else
     * in the stripes' indexes of large blocks (at most 90 lookups each: with 100,000 large blocks, 11 us
     * for 16 stripes, 0.03-0.06 ms for 128, 0.1-0.23 ms for 512). Needs a set built with a size reader.
     */
    public long blockAround(long address) {
        long lowest = Math.max(16, address - NEAR);
        for (long q = (address - 1) & ~15L; q >= lowest && q > 0; q -= 16) {
            long size = readIfLive(q, sizeOf, -1);
            if (size >= 0) {
                return address - q < size ? q : 0;
            }
        }
        // no block starts within NEAR bytes before it: only a block of NEAR bytes or more can hold it, filed
        // in its stripe's index (a filed block is live, and stays so while its stripe's lock is held)
        LargeBlockIndex.Candidate holds = candidate -> address - candidate < sizeOf.read(candidate);
        for (LiveStripe s : stripes) {
            lock(s);
            try {
                LargeBlockIndex large = s.large;
                long start = large == null || large.isEmpty() ? 0 : large.holderOf(address, holds);
                if (start != 0) {
                    return start;
                }
            } finally {
                unlock(s);
            }
        }
        return 0;
    }

    /** The slots of every stripe's table: the room the set holds (for tests and reports). */
    long capacity() {
        long total = 0;
        for (LiveStripe s : stripes) {
            lock(s);
            try {
                total += s.table.length;
            } finally {
                unlock(s);
            }
        }
        return total;
    }

    /**
     * Gives back the room that many blocks once needed: each stripe's table shrinks while it is at most an
     * eighth full, one stripe at a time under its lock. For a trim, not a hot path.
     */
    public void compact() {
        for (LiveStripe s : stripes) {
            lock(s);
            try {
                s.shrink();
            } finally {
                unlock(s);
            }
        }
    }

    /**
     * Visits every live address, one stripe at a time under that stripe's lock, so that no visited block
     * can be freed while it is being looked at. The visitor must not call back into this set.
     */
    public void forEach(Visitor visitor) {
        for (LiveStripe s : stripes) {
            lock(s);
            try {
                for (long a : s.table) {
                    if (a != 0) {
                        visitor.visit(a);
                    }
                }
            } finally {
                unlock(s);
            }
        }
    }

    /** The number of live addresses (exact when no other thread is changing the set). */
    public long size() {
        return sum((s, unused) -> s.size, 0);
    }

    /** How many times {@code event} was counted (exact when no other thread is changing the set). */
    public long count(int event) {
        return sum(LiveStripe::counted, event);
    }

    /** The bytes counted in by {@link #add(long, int, long, long)} (exact when no other thread is changing the set). */
    public long bytesIn() {
        return sum((s, unused) -> s.bytesIn, 0);
    }

    /** A figure of one stripe, read under its lock; {@code arg} keeps the lambdas non-capturing (no garbage). */
    private interface StripeFigure {
        long of(LiveStripe stripe, int arg);
    }

    private long sum(StripeFigure figure, int arg) {
        long n = 0;
        for (LiveStripe s : stripes) {
            lock(s);
            n += figure.of(s, arg);
            unlock(s);
        }
        return n;
    }

    /** Removes and returns every live address, counting each as {@code event}. */
    public long[] drain(int event) {
        long[] all = new long[0];
        int count = 0;
        for (LiveStripe s : stripes) {
            lock(s);
            try {
                if (count + s.size > all.length) {
                    all = Arrays.copyOf(all, count + s.size);
                }
                for (long a : s.table) {
                    if (a != 0) {
                        all[count++] = a;
                        s.count(event);
                    }
                }
                s.table = new long[LiveStripe.INITIAL_CAPACITY];
                s.size = 0;
                s.large = null; // every address it held has just been drained
            } finally {
                unlock(s);
            }
        }
        return Arrays.copyOf(all, count);
    }
}

package org.platformmemory.bench.ab;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import org.platformmemory.api.Allocator;
import org.platformmemory.api.AllocatorConfig;
import org.platformmemory.api.Backends;
import org.platformmemory.api.TrackedAllocator;

/**
 * The loop {@link FacadeAB} times, loaded once into each build's class loader so that every build runs
 * its own compiled copy against its own facade: the same work as {@code FacadeBenchmark} (one 64-byte
 * allocate and free per pair, through the facade in counters mode or through the bare backend), and the
 * same with each block written and kept for 64 allocations ({@link #ring}, {@link #bareRing}).
 * Public and static so it can be called reflectively from another loader.
 */
public final class FacadePairs {

    private static TrackedAllocator counters;
    private static Allocator bare;
    /** What the facade asks its backend for a 64-byte block: the block and its 16-byte header. */
    private static final long BARE_BYTES = 64 + 16;
    // the blocks the ring loops keep: each is freed 64 allocations after it was made
    private static final long[] RING = new long[64];
    private static final long[] BARE_RING = new long[64];
    /** Every address, to write a block's first bytes (needs native access, as the facade does). */
    private static final MemorySegment MEMORY = MemorySegment.NULL.reinterpret(Long.MAX_VALUE);

    private FacadePairs() {
    }

    /** Opens the facade (counters) and the bare backend named {@code backend}. */
    public static void open(String backend) {
        counters = TrackedAllocator.open(AllocatorConfig.parse("backend=" + backend + ";tracking=counters"));
        bare = Backends.create(AllocatorConfig.parse("backend=" + backend));
    }

    /** {@code n} pairs through the facade; returns a digest of the addresses so the JIT keeps the work. */
    public static long counters(int n) {
        TrackedAllocator facade = counters;
        long digest = 0;
        for (int i = 0; i < n; i++) {
            long p = facade.allocate(64, 0);
            facade.free(p, 0);
            digest += p;
        }
        return digest;
    }

    /**
     * {@code n} pairs through the facade as a program makes them: each new block is written (its first 8
     * bytes) and freed 64 allocations later, so an allocation and the free after it touch different blocks.
     */
    public static long ring(int n) {
        TrackedAllocator facade = counters;
        long[] ring = RING;
        long digest = 0;
        for (int i = 0; i < n; i++) {
            int slot = i & (ring.length - 1);
            facade.free(ring[slot], 0);
            long p = facade.allocate(64, 0);
            MEMORY.set(ValueLayout.JAVA_LONG, p, i);
            ring[slot] = p;
            digest += p;
        }
        return digest;
    }

    /** {@link #ring} through the bare backend (80-byte blocks, as the facade would ask for them). */
    public static long bareRing(int n) {
        Allocator backend = bare;
        long[] ring = BARE_RING;
        long digest = 0;
        for (int i = 0; i < n; i++) {
            int slot = i & (ring.length - 1);
            if (ring[slot] != 0) {
                backend.free(ring[slot], BARE_BYTES, Allocator.MIN_ALIGNMENT);
            }
            long p = backend.allocate(BARE_BYTES, Allocator.MIN_ALIGNMENT);
            MEMORY.set(ValueLayout.JAVA_LONG, p, i);
            ring[slot] = p;
            digest += p;
        }
        return digest;
    }

    /** {@code n} pairs of what the facade would ask the backend for (64 bytes and the 16-byte header). */
    public static long bare(int n) {
        Allocator backend = bare;
        long digest = 0;
        for (int i = 0; i < n; i++) {
            long p = backend.allocate(BARE_BYTES, Allocator.MIN_ALIGNMENT);
            backend.free(p, BARE_BYTES, Allocator.MIN_ALIGNMENT);
            digest += p;
        }
        return digest;
    }

    /** Closes both. */
    public static void close() {
        for (int i = 0; i < RING.length; i++) {
            counters.free(RING[i], 0);
            RING[i] = 0;
            if (BARE_RING[i] != 0) {
                bare.free(BARE_RING[i], BARE_BYTES, Allocator.MIN_ALIGNMENT);
                BARE_RING[i] = 0;
            }
        }
        counters.close();
        bare.close();
    }
}

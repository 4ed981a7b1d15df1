package org.platformmemory.bench.ab;

import org.platformmemory.api.Allocator;
import org.platformmemory.api.AllocatorConfig;
import org.platformmemory.api.Backends;
import org.platformmemory.api.TrackedAllocator;

/**
 * The loop {@link FacadeAB} times, loaded once into each build's class loader so that every build runs
 * its own compiled copy against its own facade: the same work as {@code FacadeBenchmark} (one 64-byte
 * allocate and free per pair, through the facade in counters mode or through the bare backend).
 * Public and static so it can be called reflectively from another loader.
 */
public final class FacadePairs {

    private static TrackedAllocator counters;
    private static Allocator bare;

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

    /** {@code n} pairs of what the facade would ask the backend for (64 bytes and the 16-byte header). */
    public static long bare(int n) {
        Allocator backend = bare;
        long digest = 0;
        for (int i = 0; i < n; i++) {
            long p = backend.allocate(80, Allocator.MIN_ALIGNMENT);
            backend.free(p, 80, Allocator.MIN_ALIGNMENT);
            digest += p;
        }
        return digest;
    }

    /** Closes both. */
    public static void close() {
        counters.close();
        bare.close();
    }
}

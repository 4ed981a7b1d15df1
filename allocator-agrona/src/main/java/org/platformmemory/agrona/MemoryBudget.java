package org.platformmemory.agrona;

import java.util.concurrent.atomic.AtomicLong;

/**
 * What the backend holds from the JVM (slabs and large buffers), against {@code allocator.limit}.
 *
 * <p>The facade owns the hard budget on the bytes callers asked for. Slabs hold more than that (free
 * slots, rounding, headers), so the backend honours the limit by never caching above it: once held
 * memory would exceed the limit, empty slabs are released at once instead of after the reclaim delay.
 * Thread-safe.
 */
final class MemoryBudget {

    private final long limit;
    private final AtomicLong held = new AtomicLong();

    /** @param limit bytes, or 0 for none */
    MemoryBudget(long limit) {
        this.limit = limit;
    }

    long limit() {
        return limit;
    }

    long held() {
        return held.get();
    }

    void add(long bytes) {
        held.addAndGet(bytes);
    }

    void remove(long bytes) {
        held.addAndGet(-bytes);
    }

    /** Whether taking {@code bytes} more would go over the limit (never, without one). */
    boolean wouldExceed(long bytes) {
        return limit > 0 && held.get() + bytes > limit;
    }

    /** Whether the backend holds more than the limit now, so empty slabs must not be kept. */
    boolean exceeded() {
        return limit > 0 && held.get() > limit;
    }
}

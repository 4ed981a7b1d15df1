package org.platformmemory.api.internal;

import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

import org.platformmemory.api.Allocator;

/**
 * A libc-backed backend for the room tests: it knows every block it has out, can be told to have no
 * memory, and (when asked) gives out heaps of its own whose close takes back every block still in them.
 */
final class TestBackend implements Allocator {

    private final Allocator libc = new SystemAllocator();
    private final Set<Long> outstanding = ConcurrentHashMap.newKeySet();
    private final boolean nativeHeaps;
    final List<TestBackend> heapsCreated = new CopyOnWriteArrayList<>();
    final AtomicInteger frees = new AtomicInteger();
    final AtomicInteger closes = new AtomicInteger();
    volatile boolean refuse;
    volatile boolean throwOnCreateHeap;

    TestBackend(boolean nativeHeaps) {
        this.nativeHeaps = nativeHeaps;
    }

    @Override
    public String name() {
        return "test";
    }

    @Override
    public long allocate(long size, long alignment) {
        if (refuse) {
            return 0;
        }
        long p = libc.allocate(size, alignment);
        if (p != 0) {
            outstanding.add(p);
        }
        return p;
    }

    @Override
    public void free(long address, long size, long alignment) {
        if (!outstanding.remove(address)) {
            throw new IllegalStateException("free of " + address + ", which is not out");
        }
        frees.incrementAndGet();
        libc.free(address, size, alignment);
    }

    @Override
    public long reallocate(long address, long oldSize, long newSize, long alignment) {
        if (refuse) {
            return 0;
        }
        if (!outstanding.contains(address)) {
            throw new IllegalStateException("reallocate of " + address + ", which is not out");
        }
        long moved = libc.reallocate(address, oldSize, newSize, alignment);
        if (moved != 0) {
            outstanding.remove(address);
            outstanding.add(moved);
        }
        return moved;
    }

    @Override
    public Allocator createHeap() {
        if (throwOnCreateHeap) {
            throw new IllegalStateException("heap boom");
        }
        if (!nativeHeaps) {
            return null;
        }
        TestBackend heap = new TestBackend(false);
        heapsCreated.add(heap);
        return heap;
    }

    /** Takes back every block still out, as a native heap's destroy does. */
    @Override
    public void close() {
        closes.incrementAndGet();
        for (long p : outstanding) {
            libc.free(p, 0, MIN_ALIGNMENT);
        }
        outstanding.clear();
    }

    int outstanding() {
        return outstanding.size();
    }
}

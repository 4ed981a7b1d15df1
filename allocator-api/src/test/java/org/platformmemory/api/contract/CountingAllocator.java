package org.platformmemory.api.contract;

import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

import org.platformmemory.api.Allocator;

/** Wraps a backend and counts what is outstanding at the backend, to prove the facade gives everything back. */
public final class CountingAllocator implements Allocator {

    private final Allocator backend;
    private final AtomicLong outstandingBytes = new AtomicLong();
    private final AtomicLong outstandingBlocks = new AtomicLong();
    private volatile boolean closed;

    public CountingAllocator(Allocator backend) {
        this.backend = backend;
    }

    @Override
    public String name() {
        return backend.name();
    }

    @Override
    public long allocate(long size, long alignment) {
        long p = backend.allocate(size, alignment);
        if (p != 0) {
            outstandingBytes.addAndGet(size);
            outstandingBlocks.incrementAndGet();
        }
        return p;
    }

    @Override
    public void free(long address, long size, long alignment) {
        backend.free(address, size, alignment);
        outstandingBytes.addAndGet(-size);
        outstandingBlocks.decrementAndGet();
    }

    @Override
    public long reallocate(long address, long oldSize, long newSize, long alignment) {
        long p = backend.reallocate(address, oldSize, newSize, alignment);
        if (p != 0) {
            outstandingBytes.addAndGet(newSize - oldSize);
        }
        return p;
    }

    @Override
    public Map<String, Long> statistics() {
        return backend.statistics();
    }

    @Override
    public void close() {
        closed = true;
        backend.close();
    }

    public long outstandingBytes() {
        return outstandingBytes.get();
    }

    public long outstandingBlocks() {
        return outstandingBlocks.get();
    }

    public boolean closed() {
        return closed;
    }
}

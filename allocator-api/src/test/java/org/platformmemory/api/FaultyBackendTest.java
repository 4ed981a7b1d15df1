package org.platformmemory.api;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.platformmemory.api.contract.BlockPattern;
import org.platformmemory.api.contract.RecordingErrorHandler;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A backend that throws or returns nonsense is contained: the caller gets 0, the statistics stay true. */
class FaultyBackendTest {

    /** Delegates to the system backend until told to misbehave. */
    private static final class FaultyBackend implements Allocator {
        final Allocator real = Backends.create(AllocatorConfig.of(java.util.Map.of("backend", "system")));
        volatile boolean throwOnAllocate;
        volatile boolean misalign;
        volatile boolean throwOnFree;
        volatile boolean throwOnReallocate;
        volatile boolean throwOnClose;
        int misalignedFreed;

        @Override
        public String name() {
            return "faulty";
        }

        @Override
        public long allocate(long size, long alignment) {
            if (throwOnAllocate) {
                throw new IllegalStateException("boom");
            }
            long p = real.allocate(size + 64, alignment);
            return misalign ? p + 8 : p;
        }

        @Override
        public void free(long address, long size, long alignment) {
            if (throwOnFree) {
                throw new IllegalStateException("free boom");
            }
            if ((address & 15) == 8) {
                misalignedFreed++;
                address -= 8;
            }
            real.free(address, size + 64, alignment);
        }

        @Override
        public long reallocate(long address, long oldSize, long newSize, long alignment) {
            if (throwOnReallocate) {
                throw new OutOfMemoryError("realloc boom");
            }
            return real.reallocate(address, oldSize + 64, newSize + 64, alignment);
        }

        @Override
        public void close() {
            if (throwOnClose) {
                throw new IllegalStateException("close boom");
            }
        }
    }

    private FaultyBackend backend;
    private TrackedAllocator memory;
    private RecordingErrorHandler errors;
    private long canary;

    @BeforeEach
    void open() {
        backend = new FaultyBackend();
        memory = TrackedAllocator.wrap(backend, Tracking.COUNTERS, 0);
        errors = new RecordingErrorHandler();
        memory.setErrorHandler(errors);
        canary = memory.allocate(256, 0);
        BlockPattern.fill(canary, 256, 42);
    }

    @AfterEach
    void close() {
        if (canary != 0) {
            assertTrue(BlockPattern.holds(canary, 256, 42), "the other block is untouched");
        }
        backend.throwOnAllocate = false;
        backend.throwOnFree = false;
        memory.close();
    }

    @Test
    void shouldReturnNullWhenTheBackendThrowsOnAllocate() {
        backend.throwOnAllocate = true;
        assertEquals(0, memory.allocate(64, MemoryFlags.CLEAR));
        assertEquals(ErrorCode.BACKEND_FAILURE, errors.errors().get(0));
        assertTrue(errors.reports().get(0).message().contains("boom"));
        assertEquals(256, memory.liveBytes());
        assertEquals(1, memory.liveBlocks());
        assertEquals(1, memory.failedAllocations());
        assertEquals(0, memory.callerErrors(), "a backend failure is not the caller's error");
    }

    @Test
    void shouldGiveBackAMisalignedBlockAndReturnNull() {
        backend.misalign = true;
        assertEquals(0, memory.allocate(64, 0));
        assertEquals(ErrorCode.BACKEND_FAILURE, errors.errors().get(0));
        assertTrue(errors.reports().get(0).message().contains("not aligned"), errors.reports().get(0).message());
        assertEquals(1, backend.misalignedFreed, "the bad block went back to the backend");
        assertEquals(256, memory.liveBytes());
        backend.misalign = false;
    }

    @Test
    void shouldCountAFreeEvenWhenTheBackendThrows() {
        long p = memory.allocate(100, 0);
        backend.throwOnFree = true;
        memory.free(p, 0);
        assertEquals(ErrorCode.BACKEND_FAILURE, errors.last().error());
        assertEquals(256, memory.liveBytes(), "the block is gone from the caller's view");
        assertEquals(0, memory.sizeOf(p));
        backend.throwOnFree = false;
    }

    @Test
    void shouldKeepTheOldBlockWhenTheBackendThrowsOnReallocate() {
        long p = memory.allocate(100, 0);
        BlockPattern.fill(p, 100, 1);
        backend.throwOnReallocate = true;
        assertEquals(0, memory.reallocate(p, 100, 5000));
        assertEquals(ErrorCode.BACKEND_FAILURE, errors.errors().get(0));
        assertTrue(BlockPattern.holds(p, 100, 1));
        assertEquals(100, memory.sizeOf(p));
        assertEquals(356, memory.liveBytes());
        assertEquals(0, memory.reallocations());
        backend.throwOnReallocate = false;
        long q = memory.reallocate(p, 100, 5000);
        assertNotEquals(0, q);
        assertTrue(BlockPattern.holds(q, 100, 1));
        memory.free(q, 0);
        assertEquals(256, memory.liveBytes());
    }

    @Test
    void shouldContainAnErrorHandlerThatThrows() {
        memory.setErrorHandler((error, message, address) -> {
            throw new IllegalStateException("handler boom");
        });
        memory.free(0x7f00_dead_bee0L, 0);
        assertEquals(1, memory.callerErrors());
    }

    @Test
    void shouldReportABackendThatThrowsOnClose() {
        backend.throwOnClose = true;
        memory.close();
        assertEquals(ErrorCode.BACKEND_FAILURE, errors.last().error());
        assertEquals(0, memory.liveBytes());
        backend.throwOnClose = false;
        canary = 0;
    }
}

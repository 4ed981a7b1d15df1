package org.platformmemory.api.internal;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.platformmemory.api.Allocator;
import org.platformmemory.api.ErrorCode;
import org.platformmemory.api.contract.RecordingErrorHandler;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CheckedBackendTest {

    /** A backend that touches no memory: it returns what it is told to and records what it is given. */
    private static final class Scripted implements Allocator {
        long result;
        Throwable failure;
        boolean throwOnFree;
        boolean throwOnClose;
        Allocator heap;
        boolean throwOnCreateHeap;
        final List<long[]> freed = new ArrayList<>();
        final List<long[]> calls = new ArrayList<>();
        final CountDownLatch closed = new CountDownLatch(1);
        volatile int closes;

        @Override
        public String name() {
            return "scripted";
        }

        @Override
        public long allocate(long size, long alignment) {
            calls.add(new long[] {size, alignment});
            sneakyThrow();
            return result;
        }

        @Override
        public void free(long address, long size, long alignment) {
            if (throwOnFree) {
                throw new IllegalStateException("free boom");
            }
            freed.add(new long[] {address, size, alignment});
        }

        @Override
        public long reallocate(long address, long oldSize, long newSize, long alignment) {
            calls.add(new long[] {address, oldSize, newSize, alignment});
            sneakyThrow();
            return result;
        }

        @Override
        public Allocator createHeap() {
            if (throwOnCreateHeap) {
                throw new UnsupportedOperationException("no heaps today");
            }
            return heap;
        }

        @Override
        public void close() {
            closes++;
            closed.countDown();
            if (throwOnClose) {
                throw new IllegalStateException("close boom");
            }
        }

        private void sneakyThrow() {
            if (failure instanceof RuntimeException e) {
                throw e;
            }
            if (failure instanceof Error e) {
                throw e;
            }
        }
    }

    private final ErrorReporter errors = new ErrorReporter();
    private final RecordingErrorHandler handler = new RecordingErrorHandler();
    private final Scripted scripted = new Scripted();
    private final CheckedBackend backend = new CheckedBackend(scripted, errors);

    @BeforeEach
    void listen() {
        errors.setHandler(handler);
    }

    @Test
    void shouldReportABackendThatThrowsOnAllocateAndReturnZero() {
        scripted.failure = new OutOfMemoryError("boom");
        assertEquals(0, backend.allocate(scripted, 80, 16));
        RecordingErrorHandler.Report report = handler.last();
        assertEquals(ErrorCode.BACKEND_FAILURE, report.error());
        assertEquals(0, report.address());
        assertTrue(report.message().startsWith("backend 'scripted' threw allocating 80 bytes: "), report.message());
        assertTrue(report.message().contains("boom"), report.message());
        assertEquals(1, handler.reports().size());
        assertEquals(0, errors.callerErrors(), "the backend's failure is not the caller's");
    }

    @Test
    void shouldGiveBackAnAddressThatIsNotAlignedAsAskedOrNegative() {
        scripted.result = 0x10010; // 16-aligned, not 64-aligned
        assertEquals(0, backend.allocate(scripted, 96, 64));
        assertEquals(ErrorCode.BACKEND_FAILURE, handler.last().error());
        assertEquals(0x10010, handler.last().address());
        assertEquals("backend 'scripted' returned 0x10010, which is not aligned to 64; gave it back", handler.last().message());
        scripted.result = -4096; // aligned, but no user-space address
        assertEquals(0, backend.allocate(scripted, 32, 16));
        assertEquals(-4096, handler.last().address());
        assertEquals(2, scripted.freed.size());
        assertArrayEquals(new long[] {0x10010, 96, 64}, scripted.freed.get(0), "given back with its exact size and alignment");
        assertArrayEquals(new long[] {-4096, 32, 16}, scripted.freed.get(1));
    }

    @Test
    void shouldPassOnAnAlignedAddressAndAnOutOfMemoryZeroWithoutAReport() {
        Scripted heap = new Scripted();
        heap.result = 0x40000;
        assertEquals(0x40000, backend.allocate(heap, 128, 64), "the source it is given, not the backend");
        assertEquals(0, scripted.calls.size());
        assertArrayEquals(new long[] {128, 64}, heap.calls.get(0));
        heap.result = 0;
        assertEquals(0, backend.allocate(heap, 128, 64));
        assertEquals(0, backend.reallocate(heap, 0x40000, 128, 256, 64));
        heap.result = 0x80000;
        assertEquals(0x80000, backend.reallocate(heap, 0x40000, 128, 256, 64));
        assertArrayEquals(new long[] {0x40000, 128, 256, 64}, heap.calls.getLast());
        assertEquals(List.of(), handler.reports());
        assertEquals(List.of(), heap.freed);
    }

    @Test
    void shouldReportAThrowingReallocateAgainstTheOldAddress() {
        scripted.failure = new IllegalStateException("realloc boom");
        assertEquals(0, backend.reallocate(scripted, 0x10000, 64, 4096, 16));
        assertEquals(ErrorCode.BACKEND_FAILURE, handler.last().error());
        assertEquals(0x10000, handler.last().address());
        assertTrue(handler.last().message().startsWith("backend 'scripted' threw reallocating 0x10000 to 4096 bytes: "),
            handler.last().message());
    }

    @Test
    void shouldLoseRatherThanFreeAMisalignedBlockFromReallocate() {
        scripted.result = 0x30008;
        assertEquals(0, backend.reallocate(scripted, 0x10000, 64, 4096, 16));
        assertEquals(ErrorCode.BACKEND_FAILURE, handler.last().error());
        assertEquals(0x30008, handler.last().address());
        assertTrue(handler.last().message().contains("0x30008 from reallocate, which is not aligned to 16"));
        assertEquals(List.of(), scripted.freed, "the old block may be gone already: nothing is freed");
    }

    @Test
    void shouldNameTheCallersBlockWhenFreeThrows() {
        scripted.throwOnFree = true;
        backend.free(scripted, 0x10000, 96, 16, 0x10020);
        assertEquals(1, handler.reports().size());
        assertEquals(ErrorCode.BACKEND_FAILURE, handler.last().error());
        assertEquals(0x10020, handler.last().address());
        assertTrue(handler.last().message().startsWith("backend 'scripted' threw while freeing 0x10020: "),
            handler.last().message());
        scripted.throwOnFree = false;
        backend.free(scripted, 0x10000, 96, 16, 0x10020);
        assertArrayEquals(new long[] {0x10000, 96, 16}, scripted.freed.getFirst());
        assertEquals(1, handler.reports().size());
    }

    /** A backend whose batches are scripted: allocateBatch copies {@code batch} out, freeBatch records. */
    private static final class Batches implements Allocator {
        long[] batch = {};
        RuntimeException failure;
        final List<Long> freed = new ArrayList<>();

        @Override
        public String name() {
            return "batches";
        }

        @Override
        public long allocate(long size, long alignment) {
            throw new AssertionError("one at a time");
        }

        @Override
        public void free(long address, long size, long alignment) {
            freed.add(address);
        }

        @Override
        public int allocateBatch(long size, long[] into, int count) {
            if (failure != null) {
                throw failure;
            }
            System.arraycopy(batch, 0, into, 0, batch.length);
            return batch.length;
        }

        @Override
        public void freeBatch(long size, long[] from, int count) {
            if (failure != null) {
                throw failure;
            }
            for (int i = 0; i < count; i++) {
                freed.add(from[i]);
            }
        }

        @Override
        public void close() {
        }
    }

    @Test
    void shouldPassOnABatchAndDropAndReportEachBlockThatIsNotAligned() {
        Batches batches = new Batches();
        batches.batch = new long[] {0x1000, 0x2008, 0x3000, -16, 0x4000};
        long[] into = new long[8];
        assertEquals(3, backend.allocateBatch(batches, 64, into, 8));
        assertArrayEquals(new long[] {0x1000, 0x3000, 0x4000}, java.util.Arrays.copyOf(into, 3), "the good ones, in order");
        assertEquals(List.of(0x2008L, -16L), batches.freed, "the bad ones given back");
        assertEquals(2, handler.reports().size());
        assertEquals(ErrorCode.BACKEND_FAILURE, handler.last().error());
        assertEquals(-16, handler.last().address());
        batches.batch = new long[] {0x5000, 0};
        assertEquals(1, backend.allocateBatch(batches, 64, into, 8));
        assertTrue(handler.last().message().contains("null block in a batch"), handler.last().message());
    }

    @Test
    void shouldHandOverTheBlocksMadeBeforeADefaultBatchMeetsAThrow() {
        Allocator failing = new Allocator() { // the SPI's default allocateBatch over an allocate that fails from its third call
            private int calls;

            @Override
            public String name() {
                return "failing";
            }

            @Override
            public long allocate(long size, long alignment) {
                if (++calls >= 3) {
                    throw new IllegalStateException("third block boom");
                }
                return 0x1000L * calls;
            }

            @Override
            public void free(long address, long size, long alignment) {
            }

            @Override
            public void close() {
            }
        };
        long[] into = new long[5];
        assertEquals(2, backend.allocateBatch(failing, 64, into, 5), "the two made before the throw, not lost");
        assertArrayEquals(new long[] {0x1000, 0x2000}, java.util.Arrays.copyOf(into, 2));
        assertEquals(List.of(), handler.reports(), "met again, and reported, by the next call");
        assertEquals(0, backend.allocateBatch(failing, 64, into, 5));
        assertEquals(1, handler.reports().size());
        assertTrue(handler.last().message().contains("third block boom"), handler.last().message());
    }

    @Test
    void shouldReportABatchThatThrowsAsNothingAllocatedOrAFailedFree() {
        Batches batches = new Batches();
        batches.failure = new IllegalStateException("batch boom");
        assertEquals(0, backend.allocateBatch(batches, 128, new long[4], 4));
        assertTrue(handler.last().message().startsWith("backend 'scripted' threw allocating a batch of 4 blocks of 128 bytes: "),
            handler.last().message());
        backend.freeBatch(batches, 128, new long[] {0x7000, 0x8000}, 2);
        assertEquals(0x7000, handler.last().address(), "named by its first block");
        assertTrue(handler.last().message().startsWith("backend 'scripted' threw while freeing a batch of 2 blocks of 128 bytes: "),
            handler.last().message());
        assertEquals(2, handler.reports().size());
        batches.failure = null;
        backend.freeBatch(batches, 128, new long[] {0x7000, 0x8000}, 2);
        assertEquals(List.of(0x7000L, 0x8000L), batches.freed);
    }

    @Test
    void shouldStandInForAHeapTheBackendDoesNotHaveAndReportOneThatThrows() {
        assertSame(scripted, backend.createHeap(), "no heaps of its own: the backend itself");
        Scripted own = new Scripted();
        scripted.heap = own;
        assertSame(own, backend.createHeap());
        assertEquals(List.of(), handler.reports());
        scripted.throwOnCreateHeap = true;
        assertNull(backend.createHeap());
        assertEquals(ErrorCode.BACKEND_FAILURE, handler.last().error());
        assertTrue(handler.last().message().startsWith("backend 'scripted' threw creating a heap: "));
    }

    @Test
    void shouldCloseNowOrLaterOnItsOwnThreadAndReportAThrowingClose() throws InterruptedException {
        scripted.throwOnClose = true;
        backend.closeAfter(Duration.ZERO);
        assertEquals(1, scripted.closes, "closed before closeAfter(0) returned");
        assertEquals(ErrorCode.BACKEND_FAILURE, handler.last().error());
        assertTrue(handler.last().message().startsWith("backend 'scripted' threw closing: "), handler.last().message());

        Scripted later = new Scripted();
        new CheckedBackend(later, errors).closeAfter(Duration.ofMillis(20));
        assertTrue(later.closed.await(30, TimeUnit.SECONDS), "closed on the delayed thread");
        assertEquals(1, later.closes);
        Scripted heap = new Scripted();
        heap.throwOnClose = true;
        backend.close(heap, "destroying heap 3");
        assertTrue(handler.last().message().startsWith("backend 'scripted' threw destroying heap 3: "));
        assertEquals(1, scripted.closes, "closing a heap does not close the backend");
    }
}

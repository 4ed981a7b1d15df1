package org.platformmemory.api.internal;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.platformmemory.api.Allocator;
import org.platformmemory.api.ErrorCode;
import org.platformmemory.api.contract.RecordingErrorHandler;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

class HeapRegistryTest {

    private final HeapRegistry registry = new HeapRegistry();
    private final Allocator libc = new SystemAllocator();
    private final ErrorReporter errors = new ErrorReporter();
    private final RecordingErrorHandler handler = new RecordingErrorHandler();

    @BeforeEach
    void listen() {
        errors.setHandler(handler);
    }

    @Test
    void shouldNumberHeapsFromOneAndReuseTheLowestFreedId() {
        HeapRecord one = registry.register(libc, false);
        HeapRecord two = registry.register(libc, false);
        HeapRecord three = registry.register(libc, false);
        assertEquals(List.of(1, 2, 3), List.of(one.id, two.id, three.id));
        registry.unregister(two);
        registry.unregister(three);
        HeapRecord again = registry.register(libc, false);
        assertEquals(2, again.id, "the lowest free id");
        assertSame(again, registry.byId(2));
        assertNull(registry.byId(3));
        assertSame(one, registry.byId(1));
    }

    @Test
    void shouldNeverTakeABlockOfADestroyedHeapForOneOfALaterHeapWithTheSameId() {
        HeapRecord old = registry.register(libc, false);
        registry.unregister(old);
        HeapRecord later = registry.register(libc, false);
        assertEquals(old.id, later.id);
        assertNotEquals(old.tag, later.tag);
        assertNull(registry.byTag(old.tag), "the old generation is gone");
        assertSame(later, registry.byTag(later.tag));
        registry.unregister(old); // a stale unregister leaves the new heap alone
        assertSame(later, registry.byId(later.id));
    }

    @Test
    void shouldCarryTheIdAndWhetherTheHeapIsNativeInAPositiveTag() {
        HeapRecord plain = registry.register(libc, false);
        HeapRecord own = registry.register(libc, true);
        assertEquals(plain.id, HeapRegistry.idOf(plain.tag));
        assertEquals(own.id, HeapRegistry.idOf(own.tag));
        assertEquals(0, plain.tag & (1 << 12));
        assertEquals(1 << 12, own.tag & (1 << 12));
        assertTrue(plain.tag > 0 && own.tag > 0, "a tag is never taken for the -1 of 'not a live block'");
        assertEquals(0, HeapRegistry.idOf(0));
        assertNull(registry.byTag(0));
        assertNull(registry.byId(0));
        assertNull(registry.byId(-1));
        assertNull(registry.byId(HeapRegistry.MAX_HEAPS + 1));
        assertNull(registry.byTag(plain.tag ^ (1 << 12)), "the native bit is part of the tag");
    }

    @Test
    void shouldRefuseAHeapOnceEveryIdIsInUseAndCloseTheNativeOneItCouldNotNumber() {
        for (int i = 1; i <= HeapRegistry.MAX_HEAPS; i++) {
            assertEquals(i, registry.register(libc, false).id);
        }
        assertNull(registry.register(libc, false));
        TestBackend backend = new TestBackend(true);
        Accounting accounting = new Accounting(0, errors);
        assertNull(registry.create(new CheckedBackend(backend, errors), accounting));
        assertEquals(1, backend.heapsCreated.size());
        assertEquals(1, backend.heapsCreated.getFirst().closes.get(), "the heap it could not number is closed");
        assertEquals(ErrorCode.ALLOCATION_FAILED, handler.last().error());
        assertEquals("createHeap(0 bytes) failed: all 4095 heaps are in use", handler.last().message());
        assertEquals(1, accounting.failedAllocations());
        registry.unregister(registry.byId(77));
        assertEquals(77, registry.register(libc, false).id);
    }

    @Test
    void shouldCreateANativeHeapOnlyWhenTheBackendHasHeapsOfItsOwn() {
        Accounting accounting = new Accounting(0, errors);
        TestBackend plain = new TestBackend(false);
        HeapRecord drawing = registry.create(new CheckedBackend(plain, errors), accounting);
        assertFalse(drawing.isNative);
        assertSame(plain, drawing.allocator);
        TestBackend withHeaps = new TestBackend(true);
        HeapRecord own = registry.create(new CheckedBackend(withHeaps, errors), accounting);
        assertTrue(own.isNative);
        assertSame(withHeaps.heapsCreated.getFirst(), own.allocator);
        assertFalse(own.destroyed());
        assertEquals(List.of(), handler.reports());
    }

    @Test
    void shouldUseNoIdWhenTheBackendThrowsCreatingAHeap() {
        TestBackend throwing = new TestBackend(true);
        throwing.throwOnCreateHeap = true;
        assertNull(registry.create(new CheckedBackend(throwing, errors), new Accounting(0, errors)));
        assertEquals(ErrorCode.BACKEND_FAILURE, handler.last().error());
        assertEquals(1, registry.register(libc, false).id);
    }

    @Test
    void shouldGiveTwoThreadsRegisteringAtOnceDistinctIds() throws Exception {
        CyclicBarrier start = new CyclicBarrier(2);
        Callable<List<HeapRecord>> racer = () -> {
            List<HeapRecord> mine = new ArrayList<>();
            start.await(10, TimeUnit.SECONDS);
            for (int i = 0; i < 2_000; i++) {
                mine.add(registry.register(libc, false));
            }
            return mine;
        };
        ExecutorService pool = Executors.newFixedThreadPool(2);
        List<HeapRecord> all = new ArrayList<>();
        try {
            List<Future<List<HeapRecord>>> futures = List.of(pool.submit(racer), pool.submit(racer));
            for (Future<List<HeapRecord>> f : futures) {
                all.addAll(f.get(60, TimeUnit.SECONDS));
            }
        } finally {
            pool.shutdownNow();
        }
        BitSet ids = new BitSet();
        for (HeapRecord heap : all) {
            assertFalse(ids.get(heap.id), "id " + heap.id + " handed out twice");
            ids.set(heap.id);
            assertSame(heap, registry.byId(heap.id));
        }
        assertEquals(4_000, ids.cardinality());
        assertEquals(4_001, ids.nextClearBit(1), "ids 1..4000, no gaps");
    }
}

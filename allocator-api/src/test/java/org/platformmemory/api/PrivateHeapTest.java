package org.platformmemory.api;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.platformmemory.api.contract.BlockPattern;
import org.platformmemory.api.contract.CountingAllocator;
import org.platformmemory.api.contract.RecordingErrorHandler;
import org.platformmemory.api.kit.NativeMemory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PrivateHeapTest {

    private CountingAllocator backend;
    private TrackedAllocator memory;
    private RecordingErrorHandler errors;

    @BeforeEach
    void open() {
        backend = new CountingAllocator(Backends.create(AllocatorConfig.of(Map.of("backend", "system"))));
        memory = TrackedAllocator.wrap(backend, Tracking.DEBUG, 0);
        errors = new RecordingErrorHandler();
        memory.setErrorHandler(errors);
    }

    @AfterEach
    void close() {
        memory.close();
        assertEquals(0, backend.outstandingBlocks(), "everything went back to the backend");
    }

    @Test
    void shouldAllocateBlocksThatCarryItsId() {
        PrivateHeap heap = memory.createHeap();
        assertTrue(heap.id() >= 1 && heap.id() <= PrivateHeap.MAX_ID);
        long p = heap.allocate(64, MemoryFlags.CLEAR);
        assertNotEquals(0, p);
        assertEquals(heap.id(), memory.heapOf(p));
        assertEquals(64, memory.sizeOf(p));
        assertTrue(BlockPattern.allBytes(p, 64, (byte) 0));
        assertEquals(1, memory.allocations());
        assertEquals(64, memory.liveBytes());
        assertEquals(List.of(), errors.reports());
    }

    @Test
    void shouldRefuseToFreeABlockOfAnotherHeapOrOfNone() {
        PrivateHeap heap = memory.createHeap();
        PrivateHeap other = memory.createHeap();
        long theirs = other.allocate(32, 0);
        long nobodys = memory.allocate(48, 0);
        assertFalse(heap.free(theirs));
        assertEquals(ErrorCode.INVALID_POINTER, errors.last().error());
        assertEquals(theirs, errors.last().address());
        assertTrue(errors.last().message().contains("belongs to heap " + other.id()), errors.last().message());
        assertFalse(heap.free(nobodys));
        assertTrue(errors.last().message().contains("belongs to no heap"), errors.last().message());
        assertEquals(32, memory.sizeOf(theirs), "nothing was done");
        assertEquals(48, memory.sizeOf(nobodys));
        assertEquals(0, memory.frees());
        assertEquals(2, memory.callerErrors());
        assertTrue(other.free(theirs));
    }

    @Test
    void shouldSayWhetherItReallyFreedABlock() {
        PrivateHeap heap = memory.createHeap();
        long p = heap.allocate(100, 0);
        assertTrue(heap.free(p));
        assertEquals(0, memory.liveBytes());
        assertEquals(1, memory.frees());
        assertFalse(heap.free(p));
        assertEquals(List.of(ErrorCode.DOUBLE_FREE), errors.errors());
        assertTrue(heap.free(0), "free(0) does nothing and succeeds");
        assertEquals(1, errors.reports().size());

        // the check half of the header's second word (debug layout: core words at p-32, guard at p-16)
        long q = heap.allocate(64, 0);
        long check = q - 17;
        byte saved = NativeMemory.getByte(check);
        NativeMemory.putByte(check, (byte) ~saved);
        assertEquals(heap.id(), memory.heapOf(q), "the heap tag itself is intact");
        assertFalse(heap.free(q), "the block was kept, not freed");
        assertEquals(ErrorCode.HEADER_CORRUPTED, errors.last().error());
        assertEquals(64, memory.sizeOf(q));
        assertEquals(1, memory.frees());
        NativeMemory.putByte(check, saved);
        assertTrue(heap.free(q));
    }

    @Test
    void shouldFreeEveryBlockOnDestroyAndRefuseCallsAfterwards() {
        PrivateHeap heap = memory.createHeap();
        for (int i = 1; i <= 3; i++) {
            heap.allocate(100 * i, 0);
        }
        long outside = memory.allocate(7, 0);
        assertTrue(heap.destroy());
        assertTrue(heap.isDestroyed());
        assertEquals(3, memory.frees());
        assertEquals(7, memory.liveBytes());
        assertEquals(1, memory.liveBlocks());
        assertEquals(1, backend.outstandingBlocks());
        assertEquals(0, heap.allocate(16, 0));
        assertEquals(new RecordingErrorHandler.Report(ErrorCode.INVALID_HEAP,
            "heapAllocate(" + heap.id() + "): the heap was destroyed", 0), errors.last());
        assertFalse(heap.destroy());
        assertEquals(ErrorCode.INVALID_HEAP, errors.last().error());
        assertEquals(2, errors.reports().size());
        assertEquals(3, memory.frees(), "a refused destroy frees nothing");
        assertEquals(7, memory.sizeOf(outside));
    }

    @Test
    void shouldDestroySilentlyWhenClosed() {
        long kept;
        try (PrivateHeap heap = memory.createHeap()) {
            heap.allocate(64, 0);
            kept = memory.allocate(16, 0);
        }
        assertEquals(1, memory.frees());
        assertEquals(16, memory.liveBytes());
        assertEquals(16, memory.sizeOf(kept));
        PrivateHeap destroyed = memory.createHeap();
        destroyed.destroy();
        destroyed.close();
        assertEquals(List.of(), errors.reports(), "close never reports");
    }

    @Test
    void shouldRefuseDestroyOnceTheAllocatorIsClosed() {
        PrivateHeap heap = memory.createHeap();
        heap.allocate(64, 0);
        memory.close();
        assertTrue(heap.isDestroyed(), "closing the allocator destroyed it");
        assertFalse(heap.destroy());
        assertEquals(List.of(ErrorCode.CLOSED), errors.errors());
        heap.close();
        assertEquals(1, errors.reports().size());
        assertEquals(0, backend.outstandingBlocks());
    }

    @Test
    void shouldNotLetAnOldHeapObjectReachTheNewHeapThatReusesItsId() {
        PrivateHeap old = memory.createHeap();
        old.destroy();
        PrivateHeap reused = memory.createHeap();
        assertEquals(old.id(), reused.id());
        assertEquals(0, old.allocate(16, 0));
        assertEquals(ErrorCode.INVALID_HEAP, errors.last().error());
        long p = reused.allocate(16, 0);
        assertFalse(old.free(p), "the old heap's tag is not the new one's");
        assertEquals(ErrorCode.INVALID_POINTER, errors.last().error());
        assertEquals(16, memory.sizeOf(p));
        assertFalse(reused.isDestroyed());
    }

    @Test
    void shouldKeepAReallocatedBlockInItsHeap() {
        PrivateHeap heap = memory.createHeap();
        long p = heap.allocate(64, 0);
        BlockPattern.fill(p, 64, 3);
        long q = memory.reallocate(p, 0, 100_000);
        assertNotEquals(0, q);
        assertEquals(heap.id(), memory.heapOf(q));
        assertTrue(BlockPattern.holds(q, 64, 3));
        assertTrue(heap.destroy());
        assertEquals(0, memory.liveBytes());
        assertEquals(1, memory.frees());
        assertEquals(List.of(), errors.reports());
    }

    @Test
    void shouldGiveTheSizeOfItsOwnBlocksOnlyAndReportTheRest() {
        PrivateHeap level = memory.createHeap();
        PrivateHeap ui = memory.createHeap();
        long mine = level.allocate(80, 0);
        long theirs = ui.allocate(40, 0);
        long plain = memory.allocate(24, 0);
        assertEquals(80, level.sizeOf(mine));
        assertEquals(0, level.sizeOf(theirs));
        assertEquals(ErrorCode.INVALID_POINTER, errors.last().error());
        assertTrue(errors.last().message().contains("belongs to heap " + ui.id()), errors.last().message());
        assertEquals(0, level.sizeOf(plain));
        assertTrue(errors.last().message().contains("belongs to no heap"), errors.last().message());
        assertEquals(0, level.sizeOf(0x7f00_dead_0000L));
        assertTrue(errors.last().message().contains("is not a live block of this heap"), errors.last().message());
        assertFalse(level.free(plain), "HeapFree of a block of no heap");
        assertEquals(24, memory.sizeOf(plain));
        level.destroy();
        assertEquals(0, level.sizeOf(mine));
        assertEquals(ErrorCode.INVALID_HEAP, errors.last().error());
        memory.free(plain, 0);
        ui.close();
    }
}

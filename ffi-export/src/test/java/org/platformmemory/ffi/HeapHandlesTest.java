package org.platformmemory.ffi;

import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.platformmemory.api.AllocatorConfig;
import org.platformmemory.api.ErrorCode;
import org.platformmemory.api.PrivateHeap;
import org.platformmemory.api.TrackedAllocator;
import org.platformmemory.api.contract.RecordingErrorHandler;
import org.platformmemory.api.contract.RecordingErrorHandler.Report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class HeapHandlesTest {

    private final HeapHandles handles = new HeapHandles();
    private final RecordingErrorHandler errors = new RecordingErrorHandler();
    private TrackedAllocator memory;

    @BeforeEach
    void open() {
        memory = TrackedAllocator.open(AllocatorConfig.parse("backend=system"));
        memory.setErrorHandler(errors);
    }

    @AfterEach
    void close() {
        memory.close();
    }

    @Test
    void shouldHandOutHandlesThatCarryTheIdAndCannotBePointers() {
        long first = handles.create(memory);
        long second = handles.create(memory);
        assertNotEquals(first, second);
        for (long handle : new long[] {first, second}) {
            assertEquals(HeapHandles.MARK, handle & HeapHandles.MARK, "outside the canonical address range");
        }
        PrivateHeap heap = handles.find(memory, second, "Platform_HeapAlloc");
        assertEquals(second & 0xFFF, heap.id());
        long p = heap.allocate(64, 0);
        assertEquals(heap.id(), memory.heapOf(p));
        assertEquals(List.of(), errors.reports());
    }

    @Test
    void shouldReportAnUnknownHandleAsInvalidHeapAndTouchNothing() {
        long known = handles.create(memory);
        long p = handles.find(memory, known, "Platform_HeapAlloc").allocate(32, 0);
        long id = known & 0xFFF;
        long[] bogus = {0, -1, id, PrivateHeap.MAX_ID + 1, known + 1, known + (1 << 12), 0x7f00deadbee0L};
        for (long handle : bogus) {
            assertNull(handles.find(memory, handle, "Platform_HeapAlloc"), "handle " + handle);
        }
        assertEquals(bogus.length, errors.reports().size());
        assertTrue(errors.reports().stream().allMatch(r -> r.error() == ErrorCode.INVALID_HEAP && r.address() == 0));
        assertEquals(new Report(ErrorCode.INVALID_HEAP, "Platform_HeapAlloc(0xffffffffffffffff): no such heap"
            + " (never created, or destroyed); nothing was done", 0), errors.reports().get(1));
        assertEquals(bogus.length, memory.callerErrors());
        assertEquals(32, memory.liveBytes());
        assertEquals(32, memory.sizeOf(p));
        assertEquals(id, handles.find(memory, known, "Platform_HeapFree").id());
    }

    @Test
    void shouldDestroyTheHeapAndForgetItsHandle() {
        long handle = handles.create(memory);
        PrivateHeap heap = handles.find(memory, handle, "Platform_HeapAlloc");
        heap.allocate(100, 0);
        heap.allocate(200, 0);
        assertTrue(handles.destroy(memory, handle));
        assertTrue(heap.isDestroyed());
        assertEquals(0, memory.liveBytes());
        assertEquals(2, memory.frees());
        assertNull(handles.find(memory, handle, "Platform_HeapAlloc"));
        assertFalse(handles.destroy(memory, handle));
        assertEquals(List.of(ErrorCode.INVALID_HEAP, ErrorCode.INVALID_HEAP), errors.errors(), "one report per refused call");
        assertTrue(errors.last().message().startsWith("Platform_HeapDestroy(0x" + Long.toHexString(handle) + "): "));
    }

    @Test
    void shouldNeverLetAStaleHandleReachTheHeapThatReusedItsId() {
        long handle = handles.create(memory);
        PrivateHeap old = handles.find(memory, handle, "Platform_HeapAlloc");
        assertTrue(handles.destroy(memory, handle));
        long again = handles.create(memory);
        assertNotEquals(handle, again, "a new handle");
        PrivateHeap reused = handles.find(memory, again, "Platform_HeapAlloc");
        assertEquals(old.id(), reused.id(), "the id is reused");
        long p = reused.allocate(16, 0);
        assertNotEquals(0, p);
        assertFalse(handles.destroy(memory, handle), "the stale handle destroys nothing");
        assertNull(handles.find(memory, handle, "Platform_HeapFree"));
        assertFalse(reused.isDestroyed());
        assertEquals(16, memory.sizeOf(p));
        assertEquals(List.of(ErrorCode.INVALID_HEAP, ErrorCode.INVALID_HEAP), errors.errors());
    }

    @Test
    void shouldForgetEveryHandleOnClearWithoutDestroyingTheHeaps() {
        long one = handles.create(memory);
        long two = handles.create(memory);
        PrivateHeap heap = handles.find(memory, two, "Platform_HeapAlloc");
        long p = heap.allocate(8, 0);
        handles.clear();
        assertNull(handles.find(memory, one, "Platform_HeapAlloc"));
        assertNull(handles.find(memory, two, "Platform_HeapAlloc"));
        assertEquals(2, errors.reports().size());
        assertEquals(heap.id(), memory.heapOf(p), "the heap itself is untouched");
        assertEquals(8, memory.liveBytes());
    }

    @Test
    void shouldReturnNoHandleWhenTheAllocatorCannotCreateAHeap() {
        memory.close();
        assertEquals(0, handles.create(memory));
        assertEquals(List.of(ErrorCode.CLOSED), errors.errors());
        assertNull(handles.find(memory, 1, "Platform_HeapAlloc"), "nothing was registered");
    }
}

package org.platformmemory.api;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;
import java.util.Deque;

import org.junit.jupiter.api.Test;
import org.platformmemory.api.contract.BlockPattern;
import org.platformmemory.api.contract.RecordingErrorHandler;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A freed pointer whose memory the backend has since handed out again, inside a bigger block. */
class StalePointerTest {

    /** Hands out the addresses it is told to, inside one arena it owns. */
    private static final class ScriptedBackend implements Allocator {
        final Arena arena = Arena.ofConfined();
        final MemorySegment region = arena.allocate(1 << 16, 4096);
        final Deque<Long> next = new ArrayDeque<>();

        @Override
        public String name() {
            return "scripted";
        }

        @Override
        public long allocate(long size, long alignment) {
            return next.isEmpty() ? 0 : region.address() + next.poll();
        }

        @Override
        public void free(long address, long size, long alignment) {
        }

        @Override
        public void close() {
            arena.close();
        }
    }

    @Test
    void shouldReportAStalePointerIntoAReusedBlockAsInteriorAndFreeNothing() {
        ScriptedBackend backend = new ScriptedBackend();
        backend.next.add(256L); // the first block, freed below
        backend.next.add(0L);   // then a bigger one over the same memory
        TrackedAllocator memory = TrackedAllocator.wrap(backend, Tracking.COUNTERS, 0);
        RecordingErrorHandler errors = new RecordingErrorHandler();
        memory.setErrorHandler(errors);
        long stale = memory.allocate(64, 0);
        memory.free(stale, 0);
        long reused = memory.allocate(4096, 0);
        assertTrue(stale > reused && stale < reused + 4096, "the scripted backend reused the memory");
        BlockPattern.fill(reused, 4096, 7);

        memory.free(stale, 0);

        assertEquals(ErrorCode.INTERIOR_POINTER, errors.last().error());
        assertTrue(errors.last().message().contains((stale - reused) + " bytes into the live block"), errors.last().message());
        assertTrue(errors.last().message().contains("freed earlier"), errors.last().message());
        assertTrue(BlockPattern.holds(reused, 4096, 7), "the live block is untouched");
        assertEquals(4096, memory.sizeOf(reused));
        assertEquals(1, memory.liveBlocks());
        assertEquals(1, memory.callerErrors());
        memory.free(reused, 0);
        memory.close();
    }
}

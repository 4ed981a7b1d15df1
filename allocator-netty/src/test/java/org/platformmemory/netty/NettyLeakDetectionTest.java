package org.platformmemory.netty;

import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

import io.netty.buffer.ByteBuf;
import io.netty.util.ResourceLeakDetector;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.platformmemory.api.Allocator;
import org.platformmemory.api.AllocatorConfig;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Netty's leak detector, at its strictest, must stay silent about blocks the C side holds. */
class NettyLeakDetectionTest {

    private static final Logger NETTY_LEAKS = Logger.getLogger(ResourceLeakDetector.class.getName());

    private final List<String> reports = new CopyOnWriteArrayList<>();
    private final Handler capture = new Handler() {
        @Override
        public void publish(LogRecord record) {
            if (record.getMessage() != null && record.getMessage().contains("LEAK")) {
                reports.add(record.getMessage());
            }
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
        }
    };
    private ResourceLeakDetector.Level before;
    private final NettyAllocator allocator = new NettyAllocator(NettySettings.from(AllocatorConfig.empty()));

    @BeforeEach
    void trackEveryBuffer() {
        before = ResourceLeakDetector.getLevel();
        ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.PARANOID);
        NETTY_LEAKS.addHandler(capture);
    }

    @AfterEach
    void restore() {
        NETTY_LEAKS.removeHandler(capture);
        ResourceLeakDetector.setLevel(before);
        allocator.close();
    }

    /** Collects garbage and lets Netty look at its reference queue (it does so when it tracks a buffer). */
    private void collectAndTrack() throws InterruptedException {
        System.gc();
        Thread.sleep(20);
        for (int i = 0; i < 100; i++) {
            long p = allocator.allocate(32, Allocator.MIN_ALIGNMENT);
            allocator.free(p, 32, Allocator.MIN_ALIGNMENT);
            // straight from Netty too: the backend may serve the pair above from its own cached buffers,
            // and Netty polls its leak queue only when it hands out a buffer
            allocator.netty().directBuffer(32).release();
        }
    }

    @Test
    void shouldStaySilentAboutBlocksHeldOnlyByAddress() throws InterruptedException {
        long[] held = new long[2000];
        for (int i = 0; i < held.length; i++) {
            held[i] = allocator.allocate(16 + i, Allocator.MIN_ALIGNMENT);
            assertNotEquals(0, held[i]);
        }
        for (int round = 0; round < 10; round++) {
            collectAndTrack();
        }
        assertEquals(List.of(), reports);
        for (int i = 0; i < held.length; i++) {
            allocator.free(held[i], 16 + i, Allocator.MIN_ALIGNMENT);
        }
        collectAndTrack();
        assertEquals(List.of(), reports);
        assertEquals(0, allocator.statistics().get("heldBuffers"));
    }

    @Test
    void shouldSeeNettyReportABufferThatReallyLeaked() throws InterruptedException {
        // the control: proves the capture above would notice a report
        leakOneBuffer();
        for (int round = 0; round < 50 && reports.isEmpty(); round++) {
            collectAndTrack();
        }
        assertFalse(reports.isEmpty(), "Netty reported nothing; the silence above would prove nothing");
        assertTrue(reports.getFirst().contains("LEAK"));
    }

    private void leakOneBuffer() {
        ByteBuf leaked = allocator.netty().directBuffer(64);
        leaked.writeLong(1);
    }

    @Test
    void shouldReleaseHeldBlocksOnCloseSoNothingIsLeftToReport() throws InterruptedException {
        NettyAllocator other = new NettyAllocator(NettySettings.from(AllocatorConfig.of(Map.of())));
        for (int i = 0; i < 100; i++) {
            other.allocate(100, Allocator.MIN_ALIGNMENT);
        }
        other.close();
        assertEquals(0, other.statistics().get("heldBuffers"));
        for (int round = 0; round < 5; round++) {
            collectAndTrack();
        }
        assertEquals(List.of(), reports);
    }
}

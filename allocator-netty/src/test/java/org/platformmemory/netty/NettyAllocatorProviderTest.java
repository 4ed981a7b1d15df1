package org.platformmemory.netty;

import org.junit.jupiter.api.Test;
import org.platformmemory.api.Allocator;
import org.platformmemory.api.AllocatorConfig;
import org.platformmemory.api.Backends;
import org.platformmemory.api.InvalidConfigException;
import org.platformmemory.api.TrackedAllocator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class NettyAllocatorProviderTest {

    @Test
    void shouldBeFoundByNameThroughTheServiceLoader() {
        try (Allocator backend = Backends.create(AllocatorConfig.parse("allocator.backend=netty"))) {
            assertInstanceOf(NettyAllocator.class, backend);
            assertEquals("netty", backend.name());
        }
    }

    @Test
    void shouldPassItsSettingsOn() {
        try (Allocator backend = Backends.create(
                AllocatorConfig.parse("allocator.backend=netty;allocator.netty.arenas=1;allocator.netty.maxOrder=7"))) {
            assertEquals(1, backend.statistics().get("arenas"));
            assertEquals(8192L << 7, backend.statistics().get("chunkSize"));
        }
    }

    @Test
    void shouldReportAMisspeltSettingAsUnknown() {
        InvalidConfigException e = assertThrows(InvalidConfigException.class,
            () -> Backends.create(AllocatorConfig.parse("allocator.backend=netty;allocator.netty.arena=2")));
        assertTrue(e.getMessage().contains("allocator.netty.arena"), e.getMessage());
        assertTrue(e.getMessage().contains("allocator.netty.arenas"), e.getMessage());
    }

    @Test
    void shouldServeTheTrackedFacadeWithExactStatistics() {
        try (TrackedAllocator memory = TrackedAllocator.open(AllocatorConfig.parse("allocator.backend=netty"))) {
            long p = memory.allocate(64, 0);
            assertNotEquals(0, p);
            assertEquals(0, p & 15);
            assertEquals(64, memory.liveBytes());
            assertEquals(1, memory.backendStatistics().get("netty.heldBuffers"));
            memory.free(p, 0);
            assertEquals(0, memory.liveBytes());
            assertEquals(0, memory.backendStatistics().get("netty.heldBuffers"));
        }
    }
}

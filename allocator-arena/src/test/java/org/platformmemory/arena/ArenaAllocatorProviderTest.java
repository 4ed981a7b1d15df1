package org.platformmemory.arena;

import java.util.Map;

import org.junit.jupiter.api.Test;
import org.platformmemory.api.Allocator;
import org.platformmemory.api.AllocatorConfig;
import org.platformmemory.api.Backends;
import org.platformmemory.api.InvalidConfigException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ArenaAllocatorProviderTest {

    @Test
    void shouldBeFoundByNameThroughTheServiceLoader() {
        try (Allocator allocator = Backends.create(AllocatorConfig.of(Map.of("backend", "arena")))) {
            assertInstanceOf(ArenaAllocator.class, allocator);
            assertEquals("arena", allocator.name());
        }
    }

    @Test
    void shouldBeTheBackendAGameGetsWithoutConfiguringAnything() {
        AllocatorConfig nothingSet = AllocatorConfig.of(Map.of());
        assertEquals("arena", nothingSet.backend(Backends.DEFAULT));
        try (Allocator allocator = Backends.create(nothingSet)) {
            assertInstanceOf(ArenaAllocator.class, allocator);
        }
    }

    @Test
    void shouldUseMeasuredDefaults() {
        ArenaAllocator.Settings settings = ArenaAllocatorProvider.settings(AllocatorConfig.of(Map.of()));
        assertEquals(new ArenaAllocator.Settings(4L << 20, 2, 0, 32L << 20, true, 128, 64L << 10), settings);
    }

    @Test
    void shouldReadEveryKnob() {
        ArenaAllocator.Settings settings = ArenaAllocatorProvider.settings(AllocatorConfig.of(Map.of(
            "arena.chunkSize", "1m", "arena.retainChunks", "0", "arena.readyChunks", "0", "arena.retainHuge", "0",
            "arena.threadCache", "off", "arena.cacheBlocks", "16", "arena.cacheBytes", "8k")));
        assertEquals(new ArenaAllocator.Settings(1L << 20, 0, 0, 0, false, 16, 8192), settings);
    }

    @Test
    void shouldRejectAChunkSizeThatIsNotAPowerOfTwoNamingKeyValueAndWhatIsAllowed() {
        InvalidConfigException e = assertThrows(InvalidConfigException.class,
            () -> ArenaAllocatorProvider.settings(AllocatorConfig.of(Map.of("arena.chunkSize", "3m"))));
        assertTrue(e.getMessage().contains("allocator.arena.chunkSize"), e.getMessage());
        assertTrue(e.getMessage().contains("'3m'"), e.getMessage());
        assertTrue(e.getMessage().contains("power of two"), e.getMessage());
    }

    @Test
    void shouldRejectOutOfRangeKnobs() {
        for (String[] bad : new String[][] {{"arena.chunkSize", "64k"}, {"arena.chunkSize", "2g"},
                {"arena.retainChunks", "-1"}, {"arena.readyChunks", "17"}, {"arena.retainHuge", "2g"}, {"arena.threadCache", "maybe"}, {"arena.cacheBlocks", "1"},
                {"arena.cacheBytes", "lots"}}) {
            InvalidConfigException e = assertThrows(InvalidConfigException.class,
                () -> ArenaAllocatorProvider.settings(AllocatorConfig.of(Map.of(bad[0], bad[1]))));
            assertTrue(e.getMessage().contains("allocator." + bad[0]), e.getMessage());
            assertTrue(e.getMessage().contains(bad[1]), e.getMessage());
        }
    }

    @Test
    void shouldReportAMisspeltKnobAsUnknown() {
        InvalidConfigException e = assertThrows(InvalidConfigException.class,
            () -> Backends.create(AllocatorConfig.of(Map.of("backend", "arena", "arena.chunksize", "1m"))));
        assertTrue(e.getMessage().contains("allocator.arena.chunksize"), e.getMessage());
    }

    @Test
    void shouldWorkWithoutAThreadCache() {
        try (Allocator allocator = Backends.create(AllocatorConfig.of(Map.of("backend", "arena",
                "arena.threadCache", "false")))) {
            long block = allocator.allocate(64, 16);
            allocator.free(block, 64, 16);
            assertEquals(block, allocator.allocate(64, 16));
            allocator.free(block, 64, 16);
            assertEquals(0L, allocator.statistics().get("threadCaches"));
        }
    }
}

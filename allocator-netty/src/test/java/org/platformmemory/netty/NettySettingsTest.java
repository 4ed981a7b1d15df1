package org.platformmemory.netty;

import java.util.Map;

import org.junit.jupiter.api.Test;
import org.platformmemory.api.AllocatorConfig;
import org.platformmemory.api.InvalidConfigException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class NettySettingsTest {

    private static NettySettings read(Map<String, String> settings) {
        return NettySettings.from(AllocatorConfig.of(settings));
    }

    private static void assertRejected(String key, String value, String allowed) {
        InvalidConfigException e = assertThrows(InvalidConfigException.class, () -> read(Map.of(key, value)));
        assertTrue(e.getMessage().contains(key), e.getMessage());
        assertTrue(e.getMessage().contains(value), e.getMessage());
        assertTrue(e.getMessage().contains(allowed), e.getMessage());
    }

    @Test
    void shouldDefaultToOneArenaPerCoreEightKibPagesAndFourMibChunks() {
        NettySettings settings = read(Map.of());
        assertEquals(Runtime.getRuntime().availableProcessors(), settings.arenas());
        assertEquals(8192, settings.pageSize());
        assertEquals(4 << 20, settings.chunkSize());
        assertEquals(256, settings.smallCacheSize());
        assertEquals(64, settings.normalCacheSize());
        assertFalse(settings.threadCaches(), "Netty's caches of plain threads wait for a GC: off unless asked for");
    }

    @Test
    void shouldReadEveryKnob() {
        NettySettings settings = read(Map.of("netty.arenas", "3", "netty.pageSize", "16k", "netty.maxOrder", "6",
            "netty.smallCacheSize", "32", "netty.normalCacheSize", "8", "netty.threadCaches", "off",
            "netty.blockCacheSize", "4"));
        assertEquals(new NettySettings(3, 16384, 6, 32, 8, false, 4), settings);
        assertEquals(1 << 20, settings.chunkSize());
    }

    @Test
    void shouldRejectAPageSizeThatIsNotAPowerOfTwo() {
        assertRejected("allocator.netty.pageSize", "12k", "power of two from 4k to 1m");
    }

    @Test
    void shouldRejectAPageSizeBelowFourKib() {
        assertRejected("allocator.netty.pageSize", "2k", "4096 to 1048576");
    }

    @Test
    void shouldRejectAChunkLargerThanOneGib() {
        InvalidConfigException e = assertThrows(InvalidConfigException.class,
            () -> read(Map.of("netty.pageSize", "1m", "netty.maxOrder", "11")));
        assertTrue(e.getMessage().contains("allocator.netty.maxOrder: '11'"), e.getMessage());
        assertTrue(e.getMessage().contains("at most 10"), e.getMessage());
    }

    @Test
    void shouldRejectZeroArenasAndNamesTheRange() {
        assertRejected("allocator.netty.arenas", "0", "from 1 to 64");
    }

    @Test
    void shouldRejectAMaxOrderAboveFourteen() {
        assertRejected("allocator.netty.maxOrder", "15", "from 0 to 14");
    }

    @Test
    void shouldRejectANegativeCacheSize() {
        assertRejected("allocator.netty.smallCacheSize", "-1", "from 0 to 65536");
        assertRejected("allocator.netty.normalCacheSize", "lots", "from 0 to 65536");
    }

    @Test
    void shouldRejectAThreadCacheSwitchThatIsNotABoolean() {
        assertRejected("allocator.netty.threadCaches", "maybe", "true or false");
    }
}

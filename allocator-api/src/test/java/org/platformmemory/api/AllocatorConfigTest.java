package org.platformmemory.api;

import java.util.Map;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class AllocatorConfigTest {

    @Test
    void shouldParseByteSizesWithBinarySuffixes() {
        AllocatorConfig config = AllocatorConfig.of(Map.of("a", "4096", "b", "64k", "c", "256m", "d", "2G",
            "e", "1t", "f", "3MiB", "g", "10b", "h", "1_000"));
        assertEquals(4096, config.bytes("allocator.a", 0, 0, Long.MAX_VALUE));
        assertEquals(64 << 10, config.bytes("allocator.b", 0, 0, Long.MAX_VALUE));
        assertEquals(256L << 20, config.bytes("allocator.c", 0, 0, Long.MAX_VALUE));
        assertEquals(2L << 30, config.bytes("allocator.d", 0, 0, Long.MAX_VALUE));
        assertEquals(1L << 40, config.bytes("allocator.e", 0, 0, Long.MAX_VALUE));
        assertEquals(3L << 20, config.bytes("allocator.f", 0, 0, Long.MAX_VALUE));
        assertEquals(10, config.bytes("allocator.g", 0, 0, Long.MAX_VALUE));
        assertEquals(1000, config.bytes("allocator.h", 0, 0, Long.MAX_VALUE));
        assertEquals(77, config.bytes("allocator.missing", 77, 0, Long.MAX_VALUE));
    }

    @Test
    void shouldNameTheKeyTheValueAndWhatIsAllowedForABadByteSize() {
        for (String bad : new String[] {"12x", "-5", "lots", "1.5g", "99999999999999999999", "9999999999t", "m"}) {
            AllocatorConfig config = AllocatorConfig.of(Map.of("limit", bad));
            InvalidConfigException e = assertThrows(InvalidConfigException.class,
                () -> config.bytes(AllocatorConfig.LIMIT, 0, 0, Long.MAX_VALUE), bad);
            assertTrue(e.getMessage().contains("allocator.limit"), e.getMessage());
            assertTrue(e.getMessage().contains("'" + bad + "'"), e.getMessage());
            assertTrue(e.getMessage().contains("256m"), e.getMessage());
        }
        InvalidConfigException range = assertThrows(InvalidConfigException.class,
            () -> AllocatorConfig.of(Map.of("x", "1k")).bytes("allocator.x", 0, 4096, 8192));
        assertTrue(range.getMessage().contains("4096 to 8192"), range.getMessage());
    }

    @Test
    void shouldValidateIntegersBooleansAndChoices() {
        AllocatorConfig config = AllocatorConfig.of(Map.of("n", "12", "bad", "twelve", "yes", "on",
            "maybe", "perhaps", "mode", "LEAKS", "wrong", "verbose"));
        assertEquals(12, config.integer("allocator.n", 0, 1, 64));
        assertTrue(assertThrows(InvalidConfigException.class, () -> config.integer("allocator.n", 0, 1, 8))
            .getMessage().contains("from 1 to 8"));
        assertTrue(assertThrows(InvalidConfigException.class, () -> config.integer("allocator.bad", 0, 1, 8))
            .getMessage().contains("'twelve'"));
        assertTrue(config.bool("allocator.yes", false));
        assertTrue(assertThrows(InvalidConfigException.class, () -> config.bool("allocator.maybe", false))
            .getMessage().contains("true or false"));
        assertEquals(Tracking.LEAKS, config.choice("allocator.mode", Tracking.class, Tracking.COUNTERS));
        InvalidConfigException e = assertThrows(InvalidConfigException.class,
            () -> config.choice("allocator.wrong", Tracking.class, Tracking.COUNTERS));
        assertEquals("allocator.wrong: 'verbose' is not allowed; use one of: counters, leaks, debug", e.getMessage());
    }

    @Test
    void shouldParseTheCAbiOptionStringWithOrWithoutThePrefix() {
        AllocatorConfig config = AllocatorConfig.parse("backend=system; allocator.limit = 64m ;tracking=debug;");
        assertEquals("system", config.backend("x"));
        assertEquals(64L << 20, config.bytes(AllocatorConfig.LIMIT, 0, 0, Long.MAX_VALUE));
        assertEquals(Tracking.DEBUG, config.choice(AllocatorConfig.TRACKING, Tracking.class, Tracking.COUNTERS));
        InvalidConfigException e = assertThrows(InvalidConfigException.class, () -> AllocatorConfig.parse("backend"));
        assertTrue(e.getMessage().contains("key=value"), e.getMessage());
    }

    @Test
    void shouldLetExplicitOptionsWinOverSystemProperties() {
        System.setProperty("allocator.test.precedence", "fromProperty");
        try {
            assertEquals("fromProperty", AllocatorConfig.fromEnvironment().raw("allocator.test.precedence"));
            assertEquals("fromOption", AllocatorConfig.parse("test.precedence=fromOption").raw("allocator.test.precedence"));
        } finally {
            System.clearProperty("allocator.test.precedence");
        }
    }

    @Test
    void shouldReportSettingsThatNothingRead() {
        AllocatorConfig config = AllocatorConfig.of(Map.of("system.chunk", "1", "system.known", "2", "other.x", "3"));
        config.raw("allocator.system.known");
        InvalidConfigException e = assertThrows(InvalidConfigException.class,
            () -> config.requireAllRead("allocator.system."));
        assertTrue(e.getMessage().contains("allocator.system.chunk"), e.getMessage());
        assertTrue(e.getMessage().contains("allocator.system.known"), e.getMessage());
        assertFalse(e.getMessage().contains("other.x"), e.getMessage());
    }
}

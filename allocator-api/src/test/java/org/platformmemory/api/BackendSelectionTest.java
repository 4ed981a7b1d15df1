package org.platformmemory.api;

import java.util.Map;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BackendSelectionTest {

    @Test
    void shouldFindTheSystemBackendWithServiceLoader() {
        Map<String, AllocatorProvider> all = Backends.available();
        assertTrue(all.containsKey("system"), all.keySet().toString());
        assertTrue(all.get("system").description().contains("malloc"));
    }

    @Test
    void shouldFailAnUnknownBackendWithTheListOfAvailableOnes() {
        InvalidConfigException e = assertThrows(InvalidConfigException.class,
            () -> TrackedAllocator.open(AllocatorConfig.of(Map.of("backend", "nope"))));
        assertTrue(e.getMessage().contains("unknown backend 'nope'"), e.getMessage());
        for (String name : Backends.available().keySet()) {
            assertTrue(e.getMessage().contains(name), e.getMessage());
        }
        assertTrue(e.getMessage().contains("allocator.backend"), e.getMessage());
    }

    @Test
    void shouldFailABadLimitNamingTheKey() {
        InvalidConfigException e = assertThrows(InvalidConfigException.class,
            () -> TrackedAllocator.open(AllocatorConfig.of(Map.of("backend", "system", "limit", "12 apples"))));
        assertEquals("allocator.limit: '12 apples' is not a byte size; use a whole number of bytes with an optional"
            + " k, m, g or t suffix (for example 256m)", e.getMessage());
    }

    @Test
    void shouldFailABadSiteOrCheckSettingNamingTheKeyBeforeAnythingOpens() {
        for (String[] bad : new String[][] {{"breakAlloc", "-3"}, {"checkEvery", "often"}, {"leakReport", "later"},
                {"sample", "3 apples"}}) {
            InvalidConfigException e = assertThrows(InvalidConfigException.class,
                () -> TrackedAllocator.open(AllocatorConfig.of(Map.of("backend", "system", "tracking", "debug", bad[0], bad[1]))));
            assertTrue(e.getMessage().startsWith("allocator." + bad[0] + ": '" + bad[1] + "'"), e.getMessage());
        }
    }

    @Test
    void shouldFailABadTrackingModeNamingTheKey() {
        InvalidConfigException e = assertThrows(InvalidConfigException.class,
            () -> TrackedAllocator.open(AllocatorConfig.of(Map.of("backend", "system", "tracking", "all"))));
        assertTrue(e.getMessage().startsWith("allocator.tracking: 'all'"), e.getMessage());
    }

    @Test
    void shouldRejectAMisspeltBackendSetting() {
        InvalidConfigException e = assertThrows(InvalidConfigException.class,
            () -> TrackedAllocator.open(AllocatorConfig.of(Map.of("backend", "system", "system.chunkSize", "1m"))));
        assertTrue(e.getMessage().contains("allocator.system.chunkSize"), e.getMessage());
    }

    @Test
    void shouldSelectTheBackendFromTheSystemPropertyThenTheDefault() {
        String old = System.getProperty(AllocatorConfig.BACKEND);
        try {
            System.setProperty(AllocatorConfig.BACKEND, "system");
            try (TrackedAllocator memory = TrackedAllocator.open()) {
                assertEquals("system", memory.backendName());
            }
            System.setProperty(AllocatorConfig.BACKEND, "nope");
            assertThrows(InvalidConfigException.class, TrackedAllocator::open);
            System.clearProperty(AllocatorConfig.BACKEND);
            if (System.getenv(AllocatorConfig.BACKEND_ENV) == null) {
                // the default backend lives in its own module, not on this module's test class path:
                // asking for it here must fail clearly, naming it (allocator-arena tests that it is chosen)
                InvalidConfigException e = assertThrows(InvalidConfigException.class, TrackedAllocator::open);
                assertTrue(e.getMessage().contains("unknown backend '" + Backends.DEFAULT + "'"), e.getMessage());
            }
        } finally {
            if (old == null) {
                System.clearProperty(AllocatorConfig.BACKEND);
            } else {
                System.setProperty(AllocatorConfig.BACKEND, old);
            }
        }
    }

    @Test
    void shouldSelectTheBackendFromTheEnvironmentWhenNoPropertyIsSet() throws Exception {
        Process ok = launch(Map.of(AllocatorConfig.BACKEND_ENV, "system"));
        assertEquals(0, ok.waitFor(), () -> output(ok));
        assertTrue(output(ok).contains("selected system"), () -> output(ok));

        Process bad = launch(Map.of(AllocatorConfig.BACKEND_ENV, "nope"));
        assertEquals(2, bad.waitFor(), () -> output(bad));
        String text = output(bad);
        assertTrue(text.contains("unknown backend 'nope'; available backends: "), text);
        assertTrue(text.contains("system"), text);
    }

    @Test
    void shouldFindTheSystemBackendOnTheModulePathThroughProvides() throws Exception {
        String classes = java.util.Arrays.stream(System.getProperty("java.class.path").split(java.io.File.pathSeparator))
            .filter(entry -> java.nio.file.Files.exists(java.nio.file.Path.of(entry, "module-info.class")))
            .filter(entry -> entry.replace('\\', '/').contains("allocator-api/target/classes"))
            .findFirst().orElseThrow(() -> new AssertionError("allocator-api's classes are not on the class path"));
        ProcessBuilder builder = new ProcessBuilder(
            java.nio.file.Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            "--enable-native-access=org.platformmemory.api", "-p", classes,
            "-m", "org.platformmemory.api/org.platformmemory.api.internal.BackendReport", "backend=system");
        builder.environment().remove(AllocatorConfig.BACKEND_ENV);
        builder.redirectErrorStream(true);
        Process process = builder.start();
        assertEquals(0, process.waitFor(), () -> output(process));
        String text = output(process);
        assertTrue(text.contains("backend system: "), text);
        assertTrue(text.contains("selected system (tracking counters): allocate+free ok"), text);
        assertTrue(!text.contains("WARNING"), "no warnings on the module path: " + text);
    }

    private static Process launch(Map<String, String> env) throws java.io.IOException {
        ProcessBuilder builder = new ProcessBuilder(
            java.nio.file.Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
            "org.platformmemory.api.internal.BackendReport");
        builder.environment().remove(AllocatorConfig.BACKEND_ENV);
        builder.environment().putAll(env);
        builder.redirectErrorStream(true);
        return builder.start();
    }

    private static String output(Process process) {
        try {
            return new String(process.getInputStream().readAllBytes());
        } catch (java.io.IOException e) {
            return e.toString();
        }
    }
}

package org.platformmemory.ffi;

import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

import org.junit.jupiter.api.Test;
import org.platformmemory.api.Backends;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * config/backends (the backends the C tests run and the build trains a cache for, read by CMake) names
 * exactly the backends ServiceLoader finds on the SDK's class path; the shim's default backend (whose
 * cache a start without a backend option gets) is the Java side's; and this JVM was started with
 * config/jvm.options (Surefire's argLine).
 */
class BackendListTest {

    private static List<String> items(String property) throws Exception {
        return Files.readAllLines(Path.of(System.getProperty(property))).stream()
            .map(line -> line.replaceFirst("#.*", "").strip()).filter(line -> !line.isEmpty()).toList();
    }

    @Test
    void shouldListEveryBackendServiceLoaderFinds() throws Exception {
        Set<String> listed = new TreeSet<>(items("platform.memory.backends"));
        assertEquals(Backends.available().keySet(), listed,
            "config/backends against the providers in ffi-export's dependencies (dist/lib/java)");
    }

    @Test
    void shouldStartTheShimsDefaultBackendsCacheForTheJavaSidesDefault() throws Exception {
        Path header = Path.of("src/main/c/pm_jvm.h"); // Surefire runs in the module's folder
        String define = Files.readAllLines(header).stream().filter(line -> line.startsWith("#define PM_DEFAULT_BACKEND "))
            .findFirst().orElseThrow(() -> new AssertionError(header + " defines no PM_DEFAULT_BACKEND"));
        assertEquals("#define PM_DEFAULT_BACKEND \"" + Backends.DEFAULT + "\"", define);
    }

    @Test
    void shouldRunWithTheFlagsOfJvmOptions() throws Exception {
        List<String> arguments = ManagementFactory.getRuntimeMXBean().getInputArguments();
        for (String flag : items("platform.memory.jvmOptions")) {
            assertTrue(arguments.contains(flag), flag + " in " + arguments);
        }
    }
}

package org.platformmemory.bench.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The harness's build on a machine without the native peers and the clients' libraries, simulated with
 * {@code PM_BENCH_PRETEND_MISSING} (CMake then looks none of them up): the build must succeed, print one
 * line naming what it skipped and how to install it, and leave that line for the report.
 */
class SkippedPeersBuildTest {

    private static final String LINE_START = "platform-memory bench: skipped ";

    @Test
    void aBuildWithoutPeersOrClientsShouldSucceedAndSayInOneLineWhatItSkipped(@TempDir Path work) throws Exception {
        Path build = work.resolve("build");
        String output = run(List.of("cmake", "-S", System.getProperty("bench.source"), "-B", build.toString(),
            "-DPM_DIST_DIR=" + System.getProperty("bench.dist"), "-DPM_BENCH_PRETEND_MISSING=jemalloc,mimalloc,clients",
            "--log-level=NOTICE"));
        output += run(List.of("cmake", "--build", build.toString(), "--parallel", "2"));

        List<String> lines = output.lines().filter(l -> l.contains("skipped")).toList();
        assertEquals(1, lines.size(), "one line about the skipped peers:\n" + output);
        String line = lines.get(0);
        assertTrue(line.startsWith(LINE_START + "jemalloc, mimalloc, the real clients"), line);
        assertTrue(line.contains("bash bin/native-peers") && line.contains("libjemalloc-dev libmimalloc-dev")
            && line.contains("liblua5.4-dev libsqlite3-dev"), "says how to install them: " + line);

        assertTrue(Files.isExecutable(build.resolve("pm_bench")), "the harness for the backends and glibc is built");
        for (String skipped : List.of("pm_bench_jemalloc", "pm_bench_mimalloc", "pm_clients", "pm_clients_glibc")) {
            assertFalse(Files.exists(build.resolve(skipped)), skipped + " is not built");
        }
        AbiBenchmark.Skipped read = AbiBenchmark.Skipped.of(build);
        assertEquals(Set.of("jemalloc", "mimalloc", "clients"), read.names());
        assertEquals(line.strip(), read.line(), "the report gets the line the build printed");
        assertEquals(List.of("glibc"), read.peers());
        assertFalse(read.clients());
    }

    @Test
    void aBuildMissingOnePeerShouldSkipOnlyThatOne(@TempDir Path work) throws Exception {
        Path build = work.resolve("build");
        String output = run(List.of("cmake", "-S", System.getProperty("bench.source"), "-B", build.toString(),
            "-DPM_DIST_DIR=" + System.getProperty("bench.dist"), "-DPM_BENCH_PRETEND_MISSING=mimalloc",
            "--log-level=NOTICE"));
        assertEquals(1, output.lines().filter(l -> l.startsWith(LINE_START)).count(), output);
        AbiBenchmark.Skipped read = AbiBenchmark.Skipped.of(build);
        // jemalloc and the clients are skipped too only where they are really missing
        assertTrue(read.names().contains("mimalloc"), read.names().toString());
        assertFalse(read.peers().contains("mimalloc"));
        assertTrue(read.peers().contains("glibc"));
    }

    @Test
    void nothingSkippedShouldMeanNoFileAndEveryPeer(@TempDir Path bin) throws IOException {
        AbiBenchmark.Skipped read = AbiBenchmark.Skipped.of(bin);
        assertEquals(AbiBenchmark.PEERS, read.peers());
        assertTrue(read.clients());
        assertEquals("", read.line());
    }

    private static String run(List<String> command) throws IOException, InterruptedException {
        Process process = new ProcessBuilder(new ArrayList<>(command)).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes());
        assertTrue(process.waitFor(5, TimeUnit.MINUTES), "finished: " + command);
        assertEquals(0, process.exitValue(), command + " failed:\n" + output);
        return output;
    }
}

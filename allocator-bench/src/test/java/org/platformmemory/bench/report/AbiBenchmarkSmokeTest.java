package org.platformmemory.bench.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

import javax.xml.parsers.DocumentBuilderFactory;

import org.junit.jupiter.api.Test;
import org.platformmemory.api.Backends;
import org.w3c.dom.Document;
import org.w3c.dom.NodeList;

/**
 * The quick benchmark end to end, as CI runs it: the real C harness against every backend (through
 * the SDK in dist/) and every native peer the harness was built with (all of them unless its CMake
 * skipped some that are not installed; then the report must say so). No timing is asserted; the report must be complete and
 * well-formed.
 */
class AbiBenchmarkSmokeTest {

    private static final Set<String> WORKLOADS = Set.of("pair-16", "pair-64", "pair-256", "pair-4k", "pair-64k",
        "pair-1m", "cross-thread", "cross-thread-free", "pair-64-2t", "frame-mix-2t", "first-call-thread", "start",
        "thread-100-calls", "churn-4t", "live-500k-alloc", "live-500k-free", "larson-4t", "producer-consumer-4t",
        "mass-500k-alloc", "mass-500k-free", "frame-mix", "realloc-growth", "trace-replay");

    private static final Set<String> BIG_BLOCKS = Set.of("big-block-512m", "big-block-512m-clear");

    private static final Set<String> CLIENTS = Set.of("client-lua", "client-sqlite", "client-cpp");

    @Test
    void quickModeShouldReportEveryWorkloadForEveryBackendAndPeerInAWellFormedReport() throws Exception {
        List<String> backends = List.copyOf(Backends.available().keySet()); // every backend, as ServiceLoader finds them
        AbiBenchmark.Options options = new AbiBenchmark.Options(Path.of(System.getProperty("bench.bin")), backends,
            Path.of(System.getProperty("bench.trace")), Path.of(System.getProperty("bench.out")), false);

        AbiBenchmark.Report report = AbiBenchmark.run(options);

        // the peers the harness was built with: all of them unless its CMake said it skipped some
        AbiBenchmark.Skipped skipped = AbiBenchmark.Skipped.of(options.bin());
        Set<String> clients = skipped.clients() ? CLIENTS : Set.of();
        List<String> subjects = new ArrayList<>(backends);
        subjects.addAll(skipped.peers());
        assertEquals(subjects.size(), report.figures().stream().map(WorkloadFigures::subject).distinct().count(),
            "exactly the backends and the peers that were built");
        for (String subject : subjects) {
            Set<String> seen = report.figures().stream().filter(f -> f.subject().equals(subject))
                .map(WorkloadFigures::workload).collect(Collectors.toSet());
            assertTrue(seen.containsAll(WORKLOADS), subject + " lacks " + WORKLOADS.stream()
                .filter(w -> !seen.contains(w)).toList());
            assertTrue(seen.containsAll(clients), subject + " lacks " + clients.stream()
                .filter(w -> !seen.contains(w)).toList());
        }
        String saved = Files.readString(report.csv().resolveSibling("bench-abi.txt"));
        if (skipped.line().isEmpty()) {
            assertTrue(!saved.contains("skipped"), "nothing was skipped, and the report says nothing of it");
        } else {
            assertTrue(saved.contains(skipped.line()), "the report repeats the build's skipped-peers line");
            assertTrue(Files.readString(report.html()).contains(skipped.line()), "so does the HTML report");
        }
        for (WorkloadFigures f : report.figures()) {
            String what = f.subject() + " " + f.workload();
            assertEquals(3, f.p50().runs(), what + ": a p50 from each of the 3 rounds");
            assertTrue(f.p50().median() >= 0 && f.max().median() >= f.p99().median(), what + ": percentiles in order");
            if (!f.latencyOnly()) {
                assertTrue(f.opsPerSecond().median() > 0, what + ": a throughput");
                assertTrue(f.vsBaseline().present(), what + ": a ratio to glibc");
            }
            if (Set.of("frame-mix", "realloc-growth", "trace-replay").contains(f.workload())) {
                assertTrue(f.memoryOverhead().present(), what + ": a memory overhead");
            }
            assertEquals(CLIENTS.contains(f.workload()), f.client(), what + ": a client or not");
            if (f.client()) {
                assertEquals(3, f.wallNanos().runs(), what + ": a wall time from each round");
                assertTrue(f.wallNanos().median() > 0, what + ": a wall time");
            }
        }

        List<String> csv = Files.readAllLines(report.csv());
        assertEquals(CsvReport.HEADER, csv.get(0));
        assertEquals(report.figures().size() + 1, csv.size());
        int columns = CsvReport.HEADER.split(",").length;
        for (String row : csv) {
            assertEquals(columns, row.split(",", -1).length, row);
        }

        DocumentBuilderFactory factory = DocumentBuilderFactory.newInstance();
        factory.setNamespaceAware(true);
        Document html = factory.newDocumentBuilder().parse(report.html().toFile()); // throws if not well-formed
        NodeList charts = html.getElementsByTagNameNS("http://www.w3.org/2000/svg", "svg");
        assertEquals(WORKLOADS.size() + clients.size(), charts.getLength(), "one chart per workload and client");
        for (int i = 0; i < charts.getLength(); i++) {
            String text = charts.item(i).getTextContent();
            for (String subject : subjects) {
                assertTrue(text.contains(subject), "chart " + i + " shows " + subject);
            }
        }
        for (String subject : subjects) {
            assertTrue(report.table().contains("| " + subject + " "), "the table shows " + subject);
            List<String> rows = new ArrayList<>(List.of("thread-100-calls", "churn-4t", "live-500k-alloc", "live-500k-free"));
            rows.addAll(clients);
            for (String workload : rows) {
                assertTrue(report.table().lines().anyMatch(l -> l.matches("\\| " + workload + " +\\| " + subject + " .*")),
                    "the table has a row for " + workload + " on " + subject);
            }
        }
        for (String subject : subjects) {
            for (String point : List.of("start", "end", "trimmed")) {
                MemoryFigures m = report.memory().stream().filter(f -> f.subject().equals(subject) && f.point().equals(point))
                    .findFirst().orElseThrow(() -> new AssertionError(subject + " has no memory figure after " + point));
                assertEquals(3, m.rssMiB().runs(), subject + " " + point + ": RSS from each of the 3 rounds");
                assertTrue(m.rssMiB().median() >= m.anonMiB().median() - 1, subject + " " + point + ": anon is part of RSS");
                assertTrue(report.table().lines().anyMatch(l -> l.matches("\\| " + m.label() + " +\\| " + subject + " .*")),
                    "the memory table has a row for " + subject + " after " + point);
            }
        }
        // the layer's start holds more than a native allocator's first malloc (a JVM): the figure is real
        assertTrue(report.memory().stream().filter(f -> f.point().equals("start") && f.kind().equals("backend"))
            .allMatch(f -> f.rssMiB().median() > 5), "a backend's start is measured, not zero");
        List<String> memoryCsv = Files.readAllLines(report.csv().resolveSibling("bench-abi-memory.csv"));
        assertEquals(CsvReport.MEMORY_HEADER, memoryCsv.get(0));
        assertEquals(report.memory().size() + 1, memoryCsv.size());
        assertTrue(Files.readString(report.html()).contains("Process memory"), "the HTML report has the memory table");
        for (String subject : subjects) {
            Set<String> seen = report.blocks().stream().filter(b -> b.subject().equals(subject))
                .map(BigBlockFigures::block).collect(Collectors.toSet());
            assertEquals(BIG_BLOCKS, seen, subject + ": both big blocks");
        }
        for (BigBlockFigures b : report.blocks()) {
            assertEquals(3, b.allocNanos().runs(), b.subject() + " " + b.block() + ": a figure from each round");
            assertTrue(b.residentAfterTouchMiB().median() >= 200, b.subject() + " " + b.block()
                + ": writing half of 512 MiB makes it resident, and mincore sees it");
            assertTrue(report.table().lines().anyMatch(l -> l.matches("\\| " + b.block() + " +\\| " + b.subject() + " .*")),
                "the big-block table has a row for " + b.block() + " on " + b.subject());
        }
        List<String> blockCsv = Files.readAllLines(report.csv().resolveSibling("bench-abi-big-block.csv"));
        assertEquals(CsvReport.BIG_BLOCK_HEADER, blockCsv.get(0));
        assertEquals(report.blocks().size() + 1, blockCsv.size());
        assertTrue(Files.readString(report.html()).contains("Big blocks"), "the HTML report has the big-block table");
        assertEquals(!clients.isEmpty(), report.table().contains("| client ") && report.table().contains("wall ms"),
            "the clients' table, when the clients were built");
    }
}

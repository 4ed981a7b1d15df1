package org.platformmemory.bench.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.LongStream;

import org.junit.jupiter.api.Test;

class MeasurementsTest {

    private static HarnessOutput output(String subject, long nanos, long[] samples) {
        String values = LongStream.of(samples).mapToObj(Long::toString).collect(Collectors.joining(" "));
        return HarnessOutput.parse(subject, List.of("pm-bench 1", "subject " + subject, "timer rdtscp 10",
            "workload pair-64 1 1000 " + nanos + " 0 0", "samples pair-64 " + values, "end"));
    }

    @Test
    void shouldTakeEachRatioWithinItsRoundBeforeTheMedian() {
        Measurements m = new Measurements("glibc");
        // the machine slows down in round 1: both subjects take twice as long, the ratio stays 0.5
        m.add(0, "peer", output("glibc", 1000, new long[] {5}));
        m.add(0, "backend", output("arena", 2000, new long[] {20}));
        m.add(1, "peer", output("glibc", 2000, new long[] {5}));
        m.add(1, "backend", output("arena", 4000, new long[] {20}));
        m.add(2, "peer", output("glibc", 1000, new long[] {5}));
        m.add(2, "backend", output("arena", 2000, new long[] {20}));

        WorkloadFigures arena = m.figures().stream().filter(f -> f.subject().equals("arena")).findFirst().orElseThrow();
        assertEquals(0.5, arena.vsBaseline().median(), 1e-12);
        assertEquals(0.5, arena.vsBaseline().min(), 1e-12);
        assertEquals(0.5, arena.vsBaseline().max(), 1e-12);
        assertEquals(5e8, arena.opsPerSecond().median(), 1);
        assertEquals(4.0, arena.nanosPerPair(), 1e-9);
        assertEquals("backend", arena.kind());
    }

    private static HarnessOutput client(String subject, long calls, long nanos, long check) {
        return HarnessOutput.parse(subject, List.of("pm-bench 1", "subject " + subject, "timer rdtscp 10",
            "client client-sqlite " + calls + " " + nanos + " " + check, "samples client-sqlite 5 6", "end"));
    }

    @Test
    void shouldRateAClientByItsWallTimeNotByItsCalls() {
        Measurements m = new Measurements("glibc");
        // SQLite makes fewer calls where the allocator's usable sizes are larger: the ratio is of wall times
        m.add(0, "peer", client("glibc", 1000, 10_000_000, 42));
        m.add(0, "backend", client("arena", 1200, 40_000_000, 42));
        m.add(1, "peer", client("glibc", 1000, 20_000_000, 42));
        m.add(1, "backend", client("arena", 1200, 80_000_000, 42));

        WorkloadFigures arena = m.figures().stream().filter(f -> f.subject().equals("arena")).findFirst().orElseThrow();
        assertTrue(arena.client());
        assertEquals(0.25, arena.vsBaseline().median(), 1e-12);
        assertEquals(60_000_000, arena.wallNanos().median(), 1e-6);
        assertEquals(40_000_000, arena.wallNanos().min(), 1e-6);
        assertEquals((1200 / 0.04 + 1200 / 0.08) / 2, arena.opsPerSecond().median(), 1e-6); // calls per second
        assertFalse(arena.latencyOnly());
        WorkloadFigures glibc = m.figures().stream().filter(f -> f.subject().equals("glibc")).findFirst().orElseThrow();
        assertEquals(1.0, glibc.vsBaseline().median(), 1e-12);
    }

    @Test
    void shouldRefuseAClientThatDidOtherWork() {
        Measurements m = new Measurements("glibc");
        m.add(0, "peer", client("glibc", 1000, 10_000_000, 42));

        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> m.add(0, "backend", client("netty", 1000, 10_000_000, 43)));
        assertTrue(e.getMessage().contains("netty") && e.getMessage().contains("other work"), e.getMessage());
        assertEquals(List.of("glibc"), m.subjects(), "nothing of the refused run is kept");
    }

    @Test
    void shouldGiveWorkloadsNoWallTime() {
        Measurements m = new Measurements("glibc");
        m.add(0, "peer", output("glibc", 1000, new long[] {1}));

        assertFalse(m.figures().get(0).client());
        assertFalse(m.figures().get(0).wallNanos().present());
    }

    @Test
    void shouldReadPercentilesFromAHistogramOfTheSamples() {
        Measurements m = new Measurements("glibc");
        m.add(0, "peer", output("glibc", 1000, LongStream.rangeClosed(1, 1000).toArray()));

        WorkloadFigures f = m.figures().get(0);
        assertEquals(500, f.p50().median(), 1);
        assertEquals(990, f.p99().median(), 1);
        assertEquals(999, f.p999().median(), 1);
        assertEquals(1000, f.max().median(), 1);
        assertFalse(f.memoryOverhead().present());
        assertTrue(f.vsBaseline().present(), "the baseline against itself is 1");
    }

    @Test
    void shouldKeepTheOrderSubjectsAndWorkloadsCameIn() {
        Measurements m = new Measurements("glibc");
        m.add(0, "backend", output("netty", 1000, new long[] {1}));
        m.add(0, "peer", output("glibc", 1000, new long[] {1}));

        assertEquals(List.of("netty", "glibc"), m.subjects());
        assertEquals(List.of("pair-64"), m.workloads());
    }

    @Test
    void shouldRefuseTheSameWorkloadTwiceInARound() {
        Measurements m = new Measurements("glibc");
        m.add(0, "peer", output("glibc", 1000, new long[] {1}));

        assertThrows(IllegalArgumentException.class, () -> m.add(0, "peer", output("glibc", 1000, new long[] {1})));
    }

    @Test
    void shouldGiveTheMedianMemoryOfEachPointInMebibytes() {
        Measurements m = new Measurements("glibc");
        long mib = 1L << 20;
        long[][] arena = {{60, 40}, {64, 44}, {62, 41}};
        for (int round = 0; round < 3; round++) {
            m.add(round, "peer", withMemory(output("glibc", 1000, new long[] {1}), mib, 0));
            m.add(round, "backend", withMemory(output("arena", 1000, new long[] {1}), arena[round][0] * mib, arena[round][1] * mib));
        }

        List<MemoryFigures> memory = m.memory();

        assertEquals(List.of("start/glibc", "start/arena", "end/glibc", "end/arena"),
            memory.stream().map(f -> f.point() + "/" + f.subject()).toList(), "point-major, subjects in order");
        MemoryFigures start = memory.get(1);
        assertEquals("backend", start.kind());
        assertEquals(new Spread(62, 60, 64, 3), start.rssMiB());
        assertEquals(new Spread(41, 40, 44, 3), start.anonMiB());
        assertEquals(new Spread(2, 2, 2, 3), memory.get(2).rssMiB(), "end: start's figure plus one MiB");
        assertThrows(IllegalArgumentException.class,
            () -> m.add(0, "peer", withMemory(output("glibc", 1000, new long[] {1}), 1, 1)), "a point twice in a round");
    }

    @Test
    void shouldGiveEachBigBlockItsMedianTimesAndResidentMebibytes() {
        Measurements m = new Measurements("glibc");
        long mib = 1L << 20;
        long[] allocNanos = {5000, 3000, 4000};
        for (int round = 0; round < 3; round++) {
            m.add(round, "peer", withBlocks("glibc", new HarnessOutput.BigBlock("big-block-512m", 512 * mib,
                allocNanos[round], 4096, 256 * mib, 15_000_000 + round), new HarnessOutput.BigBlock("big-block-512m-clear",
                512 * mib, 6000, 0, 256 * mib, 16_000_000)));
            m.add(round, "backend", withBlocks("arena", new HarnessOutput.BigBlock("big-block-512m", 512 * mib,
                200_000_000, (511 + round) * mib, 512 * mib, 30_000_000)));
        }

        List<BigBlockFigures> blocks = m.bigBlocks();

        assertEquals(List.of("big-block-512m/glibc", "big-block-512m/arena", "big-block-512m-clear/glibc"),
            blocks.stream().map(b -> b.block() + "/" + b.subject()).toList(), "block-major, subjects in order");
        BigBlockFigures glibc = blocks.get(0);
        assertEquals("peer", glibc.kind());
        assertEquals(512 * mib, glibc.bytes());
        assertEquals(new Spread(4000, 3000, 5000, 3), glibc.allocNanos());
        assertEquals(new Spread(1.0 / 256, 1.0 / 256, 1.0 / 256, 3), glibc.residentAfterAllocMiB(), "a page, in MiB");
        assertEquals(new Spread(256, 256, 256, 3), glibc.residentAfterTouchMiB());
        assertEquals(new Spread(15_000_001, 15_000_000, 15_000_002, 3), glibc.freeNanos());
        assertEquals(new Spread(512, 511, 513, 3), blocks.get(1).residentAfterAllocMiB());
        assertThrows(IllegalArgumentException.class, () -> m.add(0, "peer", withBlocks("glibc",
            new HarnessOutput.BigBlock("big-block-512m", 512 * mib, 1, 0, 0, 1))), "a block twice in a round");
    }

    private static HarnessOutput withBlocks(String subject, HarnessOutput.BigBlock... blocks) {
        return new HarnessOutput(subject, 10, List.of(), List.of(), List.of(blocks));
    }

    @Test
    void shouldGiveNanosPerOpToPairsHandedBlocksAndSingleCalls() {
        Measurements m = new Measurements("glibc");
        // 1000 calls in 20,000 ns: 50 M calls/s, 20 ns a call
        for (String workload : List.of("pair-64", "producer-consumer-4t", "mass-500k-alloc", "mass-5m-free", "larson-4t",
            "live-500k-free", "churn-4t")) {
            m.add(0, "peer", HarnessOutput.parse("glibc", List.of("pm-bench 1", "subject glibc", "timer rdtscp 10",
                "workload " + workload + " 1 1000 20000 0 0", "samples " + workload + " 5", "end")));
        }

        List<WorkloadFigures> figures = m.figures();

        assertEquals(List.of(2, 2, 1, 1, 0, 0, 0), figures.stream().map(WorkloadFigures::callsPerOp).toList());
        assertEquals(40, figures.get(0).nanosPerOp(), 1e-9, "a pair: two calls");
        assertEquals(40, figures.get(1).nanosPerOp(), 1e-9, "a block: its allocation by a producer, its free by a consumer");
        assertEquals(20, figures.get(2).nanosPerOp(), 1e-9, "an allocation");
        assertEquals(20, figures.get(3).nanosPerOp(), 1e-9, "a free");
        assertTrue(Double.isNaN(figures.get(4).nanosPerOp()), "larson-4t: calls per second only, as churn-4t");
    }

    private static HarnessOutput withMemory(HarnessOutput o, long rss, long anon) {
        return new HarnessOutput(o.subject(), o.timerOverheadNanos(), List.of(),
            List.of(new HarnessOutput.MemoryPoint("start", rss, anon), new HarnessOutput.MemoryPoint("end", rss + (1L << 20), anon)));
    }
}

package org.platformmemory.bench.report;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.HdrHistogram.Histogram;

/**
 * Every harness run of one benchmark, by round, turned into {@link WorkloadFigures}.
 * <p>
 * A round runs every subject once, interleaved, so a machine that slows down part-way slows every
 * subject alike; a ratio to the baseline is taken within each round before its median is.
 * Latency percentiles come from an HdrHistogram (3 significant digits) of each run's samples.
 * A real client's ratio is of wall times for the same work (the baseline's over the subject's), and
 * every run of a client must report the same check (the digest of its results) as the first one did:
 * otherwise the subjects did not do the same work and no ratio would mean anything.
 * Not thread-safe.
 */
public final class Measurements {

    private final String baseline;
    private final Map<String, String> kinds = new LinkedHashMap<>();
    private final Set<String> workloads = new LinkedHashSet<>();
    // subject -> workload -> round -> run
    private final Map<String, Map<String, Map<Integer, HarnessOutput.WorkloadRun>>> runs = new LinkedHashMap<>();
    private final Map<String, Integer> sampleCounts = new LinkedHashMap<>();
    // point -> subject -> round -> memory point
    private final Map<String, Map<String, Map<Integer, HarnessOutput.MemoryPoint>>> memory = new LinkedHashMap<>();
    // block -> subject -> round -> big block
    private final Map<String, Map<String, Map<Integer, HarnessOutput.BigBlock>>> blocks = new LinkedHashMap<>();
    // client -> the subject and check of its first run
    private final Map<String, Map.Entry<String, Long>> checks = new LinkedHashMap<>();

    /** @param baseline the subject every ratio is taken against (glibc) */
    public Measurements(String baseline) {
        this.baseline = baseline;
    }

    /**
     * Adds one harness run.
     *
     * @param round the repetition it belongs to, from 0
     * @param kind  {@code backend} or {@code peer}
     * @throws IllegalArgumentException if that subject already has that workload, memory point or big block
     *                                  in that round, or a client's check differs from that of the client's
     *                                  first run
     */
    public void add(int round, String kind, HarnessOutput output) {
        for (HarnessOutput.WorkloadRun run : output.workloads()) {
            if (run.client()) {
                Map.Entry<String, Long> first = checks.get(run.name());
                if (first != null && first.getValue() != run.check()) {
                    throw new IllegalArgumentException(run.name() + ": " + output.subject() + " in round " + round
                        + " did other work than " + first.getKey() + " (check " + Long.toUnsignedString(run.check())
                        + ", not " + Long.toUnsignedString(first.getValue()) + ")");
                }
            }
        }
        kinds.putIfAbsent(output.subject(), kind);
        for (HarnessOutput.WorkloadRun run : output.workloads()) {
            if (run.client()) {
                checks.putIfAbsent(run.name(), Map.entry(output.subject(), run.check()));
            }
            workloads.add(run.name());
            Map<Integer, HarnessOutput.WorkloadRun> byRound = runs.computeIfAbsent(output.subject(), s -> new LinkedHashMap<>())
                .computeIfAbsent(run.name(), w -> new LinkedHashMap<>());
            if (byRound.putIfAbsent(round, run) != null) {
                throw new IllegalArgumentException(output.subject() + " " + run.name() + " twice in round " + round);
            }
            sampleCounts.merge(run.name(), run.samples().length, Math::max);
        }
        for (HarnessOutput.MemoryPoint m : output.memory()) {
            Map<Integer, HarnessOutput.MemoryPoint> byRound = memory.computeIfAbsent(m.point(), p -> new LinkedHashMap<>())
                .computeIfAbsent(output.subject(), s -> new LinkedHashMap<>());
            if (byRound.putIfAbsent(round, m) != null) {
                throw new IllegalArgumentException(output.subject() + " memory " + m.point() + " twice in round " + round);
            }
        }
        for (HarnessOutput.BigBlock b : output.blocks()) {
            Map<Integer, HarnessOutput.BigBlock> byRound = blocks.computeIfAbsent(b.name(), n -> new LinkedHashMap<>())
                .computeIfAbsent(output.subject(), s -> new LinkedHashMap<>());
            if (byRound.putIfAbsent(round, b) != null) {
                throw new IllegalArgumentException(output.subject() + " block " + b.name() + " twice in round " + round);
            }
        }
    }

    /** @return the big blocks, block-major (in the order first seen), subjects in the order added */
    public List<BigBlockFigures> bigBlocks() {
        List<BigBlockFigures> out = new ArrayList<>();
        for (Map.Entry<String, Map<String, Map<Integer, HarnessOutput.BigBlock>>> block : blocks.entrySet()) {
            for (String subject : kinds.keySet()) {
                Map<Integer, HarnessOutput.BigBlock> byRound = block.getValue().get(subject);
                if (byRound == null) {
                    continue;
                }
                List<HarnessOutput.BigBlock> runs = List.copyOf(byRound.values());
                out.add(new BigBlockFigures(subject, kinds.get(subject), block.getKey(), runs.get(0).bytes(),
                    Spread.of(runs.stream().mapToDouble(HarnessOutput.BigBlock::allocNanos).toArray()),
                    Spread.of(runs.stream().mapToDouble(b -> b.residentAfterAlloc() / MIB).toArray()),
                    Spread.of(runs.stream().mapToDouble(b -> b.residentAfterTouch() / MIB).toArray()),
                    Spread.of(runs.stream().mapToDouble(HarnessOutput.BigBlock::freeNanos).toArray())));
            }
        }
        return out;
    }

    /** @return the memory points, point-major (in the order first seen), subjects in the order added */
    public List<MemoryFigures> memory() {
        List<MemoryFigures> out = new ArrayList<>();
        for (Map.Entry<String, Map<String, Map<Integer, HarnessOutput.MemoryPoint>>> point : memory.entrySet()) {
            for (String subject : kinds.keySet()) {
                Map<Integer, HarnessOutput.MemoryPoint> byRound = point.getValue().get(subject);
                if (byRound == null) {
                    continue;
                }
                double[] rss = byRound.values().stream().mapToDouble(m -> m.rssBytes() / MIB).toArray();
                double[] anon = byRound.values().stream().mapToDouble(m -> m.anonBytes() / MIB).toArray();
                out.add(new MemoryFigures(subject, kinds.get(subject), point.getKey(), Spread.of(rss), Spread.of(anon)));
            }
        }
        return out;
    }

    private static final double MIB = 1024.0 * 1024.0;

    /** @return the subjects in the order they were first added */
    public List<String> subjects() {
        return List.copyOf(kinds.keySet());
    }

    /** @return the workloads in the order they were first seen */
    public List<String> workloads() {
        return List.copyOf(workloads);
    }

    /** @return one entry per subject and workload it ran, workload-major */
    public List<WorkloadFigures> figures() {
        List<WorkloadFigures> out = new ArrayList<>();
        for (String workload : workloads) {
            for (String subject : kinds.keySet()) {
                Map<Integer, HarnessOutput.WorkloadRun> byRound = runs.get(subject).get(workload);
                if (byRound != null) {
                    out.add(figuresOf(subject, workload, byRound));
                }
            }
        }
        return out;
    }

    private WorkloadFigures figuresOf(String subject, String workload, Map<Integer, HarnessOutput.WorkloadRun> byRound) {
        int n = byRound.size();
        double[] throughput = new double[n], ratio = new double[n], overhead = new double[n];
        double[] p50 = new double[n], p99 = new double[n], p999 = new double[n], max = new double[n];
        double[] wall = new double[n];
        Map<Integer, HarnessOutput.WorkloadRun> base = runs.getOrDefault(baseline, Map.of()).getOrDefault(workload, Map.of());
        int i = 0;
        int threads = 1;
        boolean client = false;
        for (Map.Entry<Integer, HarnessOutput.WorkloadRun> e : byRound.entrySet()) {
            HarnessOutput.WorkloadRun run = e.getValue();
            threads = run.threads();
            client = run.client();
            throughput[i] = run.nanos() == 0 ? Double.NaN : run.opsPerSecond();
            HarnessOutput.WorkloadRun b = base.get(e.getKey());
            if (b == null || b.nanos() == 0 || run.nanos() == 0) {
                ratio[i] = Double.NaN;
            } else {
                ratio[i] = client ? (double) b.nanos() / run.nanos() : run.opsPerSecond() / b.opsPerSecond();
            }
            wall[i] = client ? run.nanos() : Double.NaN;
            overhead[i] = run.memoryOverhead();
            Histogram h = new Histogram(3);
            for (long sample : run.samples()) {
                h.recordValue(Math.max(0, sample));
            }
            boolean empty = h.getTotalCount() == 0;
            p50[i] = empty ? Double.NaN : h.getValueAtPercentile(50);
            p99[i] = empty ? Double.NaN : h.getValueAtPercentile(99);
            p999[i] = empty ? Double.NaN : h.getValueAtPercentile(99.9);
            max[i] = empty ? Double.NaN : h.getMaxValue();
            i++;
        }
        return new WorkloadFigures(subject, kinds.get(subject), workload, threads, Spread.of(throughput), Spread.of(ratio),
            Spread.of(p50), Spread.of(p99), Spread.of(p999), Spread.of(max), Spread.of(overhead), client, Spread.of(wall));
    }
}

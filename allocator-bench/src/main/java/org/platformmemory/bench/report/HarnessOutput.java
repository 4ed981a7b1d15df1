package org.platformmemory.bench.report;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * What one run of the C harness ({@code pm_bench}) wrote: its subject and, per workload, the
 * throughput pass and the per-call latency samples; or what one run of the real clients
 * ({@code pm_clients}) wrote: per client, its wall time for a fixed amount of work; or, from its
 * big-block run, each big block's allocation time and resident memory. The format is
 * described in {@code pm_bench.c} and {@code pm_clients.c}.
 *
 * @param subject            the backend or native peer measured
 * @param timerOverheadNanos the cost of an empty timed interval, already subtracted from every sample
 * @param workloads          the workloads in the order they ran
 * @param memory             what the process held at the points the harness measured, in order
 * @param blocks             the big blocks the harness allocated (its big-block run), in order
 */
public record HarnessOutput(String subject, double timerOverheadNanos, List<WorkloadRun> workloads,
                            List<MemoryPoint> memory, List<BigBlock> blocks) {

    /** A run without memory points (the real clients). */
    public HarnessOutput(String subject, double timerOverheadNanos, List<WorkloadRun> workloads) {
        this(subject, timerOverheadNanos, workloads, List.of());
    }

    /** A run without big blocks (every run but big-block's). */
    public HarnessOutput(String subject, double timerOverheadNanos, List<WorkloadRun> workloads,
                         List<MemoryPoint> memory) {
        this(subject, timerOverheadNanos, workloads, memory, List.of());
    }

    /**
     * One big block: allocated, half of it written (a byte in every page of its first half), freed.
     *
     * @param name               the block (for example {@code big-block-512m}, or {@code big-block-512m-clear}
     *                           for one allocated zeroed)
     * @param bytes              its size
     * @param allocNanos         wall time of the allocation call alone
     * @param residentAfterAlloc the block's resident bytes right after the allocation (mincore)
     * @param residentAfterTouch the block's resident bytes after its first half was written
     * @param freeNanos          wall time of the free
     */
    public record BigBlock(String name, long bytes, long allocNanos, long residentAfterAlloc, long residentAfterTouch,
                           long freeNanos) {
    }

    /**
     * What the process held at one point beyond what it held when its {@code main} began.
     *
     * @param point     {@code start} (right after the subject's first call) or {@code end} (after the workloads)
     * @param rssBytes  resident memory added (VmRSS)
     * @param anonBytes anonymous resident memory added (RssAnon)
     */
    public record MemoryPoint(String point, long rssBytes, long anonBytes) {
    }

    /**
     * One workload's figures from one process.
     *
     * @param name       the workload (for example {@code pair-64}, or {@code client-lua})
     * @param threads    how many threads ran it
     * @param ops        allocator calls in the throughput pass (a client: in its timed run)
     * @param nanos      wall time of the throughput pass (a client: of its timed run)
     * @param peakLive   the most bytes live at once, 0 when the run did not measure memory
     * @param rssGrowth  how far the process's peak RSS rose during the pass, 0 when not measured
     * @param samples    per-call latencies in ns from the sampled pass
     * @param client     true for a real client: a fixed amount of work, judged by its wall time
     *                   ({@code nanos}), not by calls per second (its calls may differ by subject)
     * @param check      a client's digest of its results, the same for every subject that did the
     *                   same work; 0 for a workload
     */
    public record WorkloadRun(String name, int threads, long ops, long nanos, long peakLive, long rssGrowth,
                              long[] samples, boolean client, long check) {

        /** A workload of pm_bench (not a client). */
        public WorkloadRun(String name, int threads, long ops, long nanos, long peakLive, long rssGrowth, long[] samples) {
            this(name, threads, ops, nanos, peakLive, rssGrowth, samples, false, 0);
        }

        /** @return calls per second of the throughput pass, 0 when the pass took no measurable time */
        public double opsPerSecond() {
            return nanos == 0 ? 0 : ops * 1e9 / nanos;
        }

        /** @return peak RSS growth over peak live bytes, or NaN when memory was not measured */
        public double memoryOverhead() {
            return peakLive == 0 ? Double.NaN : (double) rssGrowth / peakLive;
        }
    }

    /**
     * Reads a harness output file.
     *
     * @throws IllegalArgumentException naming the file and line when it is malformed or incomplete
     *                                  (a run that failed ends with {@code failed}, not {@code end})
     */
    public static HarnessOutput read(Path file) throws IOException {
        return parse(file.toString(), Files.readAllLines(file));
    }

    /** As {@link #read(Path)}, from lines; {@code origin} names them in messages. */
    public static HarnessOutput parse(String origin, List<String> lines) {
        String subject = null;
        double overhead = Double.NaN;
        List<String[]> workloadLines = new ArrayList<>();
        List<MemoryPoint> memory = new ArrayList<>();
        List<BigBlock> blocks = new ArrayList<>();
        Map<String, long[]> samples = new HashMap<>();
        boolean ended = false;
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            String[] f = line.split(" ");
            String where = origin + ":" + (i + 1) + ": ";
            if (ended) {
                throw new IllegalArgumentException(where + "text after 'end'");
            }
            try {
                switch (f[0]) {
                    case "pm-bench" -> require(i == 0 && f.length == 2 && f[1].equals("1"), where, "expected 'pm-bench 1'");
                    case "subject" -> {
                        require(f.length == 2, where, "expected 'subject NAME'");
                        subject = f[1];
                    }
                    case "timer" -> {
                        require(f.length == 3, where, "expected 'timer KIND OVERHEAD_NS'");
                        overhead = Double.parseDouble(f[2]);
                    }
                    case "workload" -> {
                        require(f.length == 7, where, "expected 'workload NAME THREADS OPS NANOS PEAK_LIVE RSS_GROWTH'");
                        workloadLines.add(f);
                    }
                    case "client" -> {
                        require(f.length == 5, where, "expected 'client NAME CALLS NANOS CHECK'");
                        require(Long.parseLong(f[3]) > 0, where, "a client's wall time must be above 0");
                        Long.parseLong(f[2]);
                        Long.parseUnsignedLong(f[4]);
                        workloadLines.add(f);
                    }
                    case "samples" -> {
                        require(f.length >= 2, where, "expected 'samples NAME V...'");
                        long[] values = new long[f.length - 2];
                        for (int v = 0; v < values.length; v++) {
                            values[v] = Long.parseLong(f[v + 2]);
                        }
                        samples.put(f[1], values);
                    }
                    case "memory" -> {
                        require(f.length == 4, where, "expected 'memory POINT RSS_BYTES ANON_BYTES'");
                        memory.add(new MemoryPoint(f[1], Long.parseLong(f[2]), Long.parseLong(f[3])));
                    }
                    case "block" -> {
                        require(f.length == 7, where,
                            "expected 'block NAME BYTES ALLOC_NS RESIDENT_AFTER_ALLOC RESIDENT_AFTER_TOUCH FREE_NS'");
                        BigBlock b = new BigBlock(f[1], Long.parseLong(f[2]), Long.parseLong(f[3]), Long.parseLong(f[4]),
                            Long.parseLong(f[5]), Long.parseLong(f[6]));
                        require(b.bytes() > 0 && b.allocNanos() >= 0 && b.freeNanos() >= 0, where,
                            "a block's size must be above 0 and its times not below 0");
                        require(b.residentAfterAlloc() >= 0 && b.residentAfterTouch() >= 0, where,
                            "a block's resident bytes must not be below 0");
                        blocks.add(b);
                    }
                    case "end" -> ended = true;
                    case "failed" -> throw new IllegalArgumentException(where + "the harness reported a failed allocation");
                    default -> throw new IllegalArgumentException(where + "unknown record '" + f[0] + "'");
                }
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(where + "not a number: " + e.getMessage(), e);
            }
        }
        require(ended, origin + ": ", "incomplete (no 'end' line): the harness did not finish");
        require(subject != null && !Double.isNaN(overhead), origin + ": ", "no subject or timer line");
        List<WorkloadRun> workloads = new ArrayList<>();
        for (String[] f : workloadLines) {
            long[] s = samples.get(f[1]);
            require(s != null, origin + ": ", "no samples for workload " + f[1]);
            if (f[0].equals("client")) {
                workloads.add(new WorkloadRun(f[1], 1, Long.parseLong(f[2]), Long.parseLong(f[3]), 0, 0, s, true,
                    Long.parseUnsignedLong(f[4])));
            } else {
                workloads.add(new WorkloadRun(f[1], Integer.parseInt(f[2]), Long.parseLong(f[3]), Long.parseLong(f[4]),
                    Long.parseLong(f[5]), Long.parseLong(f[6]), s));
            }
        }
        return new HarnessOutput(subject, overhead, List.copyOf(workloads), List.copyOf(memory), List.copyOf(blocks));
    }

    private static void require(boolean condition, String where, String message) {
        if (!condition) {
            throw new IllegalArgumentException(where + message);
        }
    }
}

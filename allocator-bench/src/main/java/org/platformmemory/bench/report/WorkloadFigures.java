package org.platformmemory.bench.report;

/**
 * The figures of one subject on one workload, each a {@link Spread} over the repeated runs.
 *
 * @param subject         the backend or native peer
 * @param kind            {@code backend} (through the C ABI) or {@code peer} (a native allocator)
 * @param workload        the workload's name
 * @param threads         threads that ran it
 * @param opsPerSecond    allocator calls per second (throughput pass)
 * @param vsBaseline      throughput over the baseline's (glibc) in the same round: above 1 is faster
 * @param p50             per-call latency, ns, from the HdrHistogram of each run's samples
 * @param p99             as p50
 * @param p999            as p50
 * @param max             the largest sample, ns
 * @param memoryOverhead  peak RSS growth over peak live bytes; absent for workloads that do not measure it
 * @param client          true for a real client (Lua, SQLite, the C++ game): fixed work, judged by wall time;
 *                        its {@code vsBaseline} is the baseline's wall time over this subject's (above 1 is
 *                        faster) and its {@code opsPerSecond} the allocator calls it made per second
 * @param wallNanos       a client's wall time for its fixed work, ns; absent for the workloads
 */
public record WorkloadFigures(String subject, String kind, String workload, int threads, Spread opsPerSecond,
                              Spread vsBaseline, Spread p50, Spread p99, Spread p999, Spread max,
                              Spread memoryOverhead, boolean client, Spread wallNanos) {

    /** @return nanoseconds per allocate+free pair at the median throughput (two calls a pair) */
    public double nanosPerPair() {
        return opsPerSecond.present() && opsPerSecond.median() > 0 ? 2e9 / opsPerSecond.median() : Double.NaN;
    }

    /**
     * @return the allocator calls of one operation of the ns/op figure: 2 for a pair ({@code pair-*}: an
     *         allocation and its free) and for a block handed from a producer to a consumer
     *         ({@code producer-consumer-*}: its allocation and its free), 1 for {@code mass-*-alloc} and
     *         {@code mass-*-free} (an allocation, a free); 0 for the workloads without such an operation
     */
    public int callsPerOp() {
        if (workload.startsWith("pair-") || workload.startsWith("producer-consumer")) {
            return 2;
        }
        return workload.startsWith("mass-") && (workload.endsWith("-alloc") || workload.endsWith("-free")) ? 1 : 0;
    }

    /** @return wall ns per operation (see {@link #callsPerOp()}) at the median throughput, NaN without one */
    public double nanosPerOp() {
        int calls = callsPerOp();
        return calls > 0 && opsPerSecond.present() && opsPerSecond.median() > 0 ? calls * 1e9 / opsPerSecond.median()
            : Double.NaN;
    }

    /** @return true for the workloads whose figure is a latency only (start-up, a thread's first call) */
    public boolean latencyOnly() {
        return workload.equals("start") || workload.equals("first-call-thread") || workload.equals("cross-thread-free");
    }
}

package org.platformmemory.bench.report;

import java.util.List;
import java.util.Locale;

/**
 * The benchmark's figures as a plain-text table for the terminal (and for README: it is also valid
 * Markdown). One row per workload and subject; every figure is the median over the runs, with the
 * throughput's spread as ±%. Its ns/op column is the wall time of one operation at the median throughput
 * where a workload has one ({@link WorkloadFigures#callsPerOp()}): a pair for {@code pair-*}, a block
 * (allocated by a producer, freed by a consumer) for {@code producer-consumer-*}, an allocation or a free
 * for {@code mass-*-alloc} and {@code mass-*-free}. The real clients, if any ran, follow in a table of
 * their own: wall time for their fixed work (with its spread), its ratio to the baseline's, the allocator
 * calls they made per second and the per-call latency of those calls.
 */
public final class TerminalTable {

    private TerminalTable() {
    }

    /** @return the table, rows grouped by workload, a header line first */
    public static String render(List<WorkloadFigures> figures, String baseline) {
        StringBuilder out = new StringBuilder();
        out.append(String.format(Locale.ROOT, "| %-16s | %-8s | %12s | %8s | %9s | %9s | %9s | %10s | %10s | %8s |%n",
            "workload", "subject", "Mcalls/s", "vs " + baseline, "ns/op", "p50 ns", "p99 ns", "p99.9 ns", "max ns",
            "RSS/live"));
        out.append("|------------------|----------|-------------:|---------:|----------:|----------:|----------:|")
            .append("-----------:|-----------:|---------:|").append(System.lineSeparator());
        for (WorkloadFigures f : figures) {
            if (f.client()) {
                continue;
            }
            out.append(String.format(Locale.ROOT, "| %-16s | %-8s | %12s | %8s | %9s | %9s | %9s | %10s | %10s | %8s |%n",
                f.workload(), f.subject(),
                f.latencyOnly() ? "-" : Format.millions(f.opsPerSecond().median()) + " " + Format.plusMinus(f.opsPerSecond()),
                f.latencyOnly() ? "-" : Format.ratio(f.vsBaseline().median()),
                f.callsPerOp() > 0 ? Format.nanos(f.nanosPerOp()) : "-",
                Format.nanos(f.p50().median()), Format.nanos(f.p99().median()), Format.nanos(f.p999().median()),
                Format.nanos(f.max().median()),
                f.memoryOverhead().present() ? String.format(Locale.ROOT, "%.2f", f.memoryOverhead().median()) : "-"));
        }
        if (figures.stream().anyMatch(WorkloadFigures::client)) {
            out.append(System.lineSeparator());
            out.append(String.format(Locale.ROOT, "| %-16s | %-8s | %14s | %8s | %9s | %9s | %9s | %10s | %10s |%n",
                "client", "subject", "wall ms", "vs " + baseline, "Mcalls/s", "p50 ns", "p99 ns", "p99.9 ns", "max ns"));
            out.append("|------------------|----------|---------------:|---------:|----------:|----------:|----------:|")
                .append("-----------:|-----------:|").append(System.lineSeparator());
            for (WorkloadFigures f : figures) {
                if (f.client()) {
                    out.append(String.format(Locale.ROOT, "| %-16s | %-8s | %14s | %8s | %9s | %9s | %9s | %10s | %10s |%n",
                        f.workload(), f.subject(), Format.millis(f.wallNanos().median()) + " " + Format.plusMinus(f.wallNanos()),
                        Format.ratio(f.vsBaseline().median()), Format.millions(f.opsPerSecond().median()),
                        Format.nanos(f.p50().median()), Format.nanos(f.p99().median()), Format.nanos(f.p999().median()),
                        Format.nanos(f.max().median())));
                }
            }
        }
        return out.toString();
    }

    /**
     * @return the big blocks as a table (empty when none was allocated), a header line first: the
     *         allocation's wall time (median and its spread), the block's resident MiB right after it and
     *         after half of it was written (median and the range over the runs), the free's wall time
     */
    public static String renderBigBlocks(List<BigBlockFigures> blocks) {
        if (blocks.isEmpty()) {
            return "";
        }
        StringBuilder out = new StringBuilder();
        out.append(String.format(Locale.ROOT, "| %-20s | %-8s | %14s | %22s | %22s | %10s |%n", "big block", "subject",
            "alloc ms", "resident MiB, alloc", "after writing half", "free ms"));
        out.append("|----------------------|----------|---------------:|-----------------------:|")
            .append("-----------------------:|-----------:|").append(System.lineSeparator());
        for (BigBlockFigures b : blocks) {
            out.append(String.format(Locale.ROOT, "| %-20s | %-8s | %14s | %22s | %22s | %10s |%n", b.block(), b.subject(),
                (Format.millisPrecise(b.allocNanos().median()) + " " + Format.plusMinus(b.allocNanos())).strip(),
                Format.mebibytes(b.residentAfterAllocMiB()), Format.mebibytes(b.residentAfterTouchMiB()),
                Format.millisPrecise(b.freeNanos().median())));
        }
        return out.toString();
    }

    /** @return the process memory as a table (empty when none was measured), a header line first */
    public static String renderMemory(List<MemoryFigures> memory) {
        if (memory.isEmpty()) {
            return "";
        }
        StringBuilder out = new StringBuilder();
        out.append(String.format(Locale.ROOT, "| %-16s | %-8s | %20s | %20s |%n", "process memory", "subject",
            "RSS added MiB", "anon added MiB"));
        out.append("|------------------|----------|---------------------:|---------------------:|").append(System.lineSeparator());
        for (MemoryFigures m : memory) {
            out.append(String.format(Locale.ROOT, "| %-16s | %-8s | %20s | %20s |%n", m.label(), m.subject(),
                Format.mebibytes(m.rssMiB()), Format.mebibytes(m.anonMiB())));
        }
        return out.toString();
    }
}

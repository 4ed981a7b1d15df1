package org.platformmemory.bench.report;

import java.util.List;
import java.util.Locale;

/**
 * The benchmark's figures as a plain-text table for the terminal (and for README: it is also valid
 * Markdown). One row per workload and subject; every figure is the median over the runs, with the
 * throughput's spread as ±%.
 */
public final class TerminalTable {

    private TerminalTable() {
    }

    /** @return the table, rows grouped by workload, a header line first */
    public static String render(List<WorkloadFigures> figures, String baseline) {
        StringBuilder out = new StringBuilder();
        out.append(String.format(Locale.ROOT, "| %-16s | %-8s | %12s | %8s | %9s | %9s | %9s | %10s | %10s | %8s |%n",
            "workload", "subject", "Mcalls/s", "vs " + baseline, "ns/pair", "p50 ns", "p99 ns", "p99.9 ns", "max ns",
            "RSS/live"));
        out.append("|------------------|----------|-------------:|---------:|----------:|----------:|----------:|")
            .append("-----------:|-----------:|---------:|").append(System.lineSeparator());
        for (WorkloadFigures f : figures) {
            boolean pairs = f.workload().startsWith("pair-");
            out.append(String.format(Locale.ROOT, "| %-16s | %-8s | %12s | %8s | %9s | %9s | %9s | %10s | %10s | %8s |%n",
                f.workload(), f.subject(),
                f.latencyOnly() ? "-" : Format.millions(f.opsPerSecond().median()) + " " + Format.plusMinus(f.opsPerSecond()),
                f.latencyOnly() ? "-" : Format.ratio(f.vsBaseline().median()),
                pairs ? Format.nanos(f.nanosPerPair()) : "-",
                Format.nanos(f.p50().median()), Format.nanos(f.p99().median()), Format.nanos(f.p999().median()),
                Format.nanos(f.max().median()),
                f.memoryOverhead().present() ? String.format(Locale.ROOT, "%.2f", f.memoryOverhead().median()) : "-"));
        }
        return out.toString();
    }
}

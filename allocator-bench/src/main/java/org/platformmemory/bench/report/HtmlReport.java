package org.platformmemory.bench.report;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A self-contained report: one page of XHTML (so any XML parser can check it) with an inline SVG
 * bar chart per workload, backends and peers side by side, whiskers from the slowest to the fastest
 * run, then that workload's latency percentiles and memory overhead as a table; then the real clients
 * (Lua, SQLite, the C++ game), each with a chart of its wall time for its fixed work and a table; then
 * the process memory and the big blocks, each as a table. No scripts, no external files.
 */
public final class HtmlReport {

    private static final int BAR = 26, GAP = 8, LABEL = 90, WIDTH = 640, VALUE = 120;

    private HtmlReport() {
    }

    /**
     * Writes the report, replacing the file.
     *
     * @param title   the heading
     * @param context lines saying where and how it ran (machine, mode, runs), shown under the heading
     */
    public static void write(Path file, String title, List<String> context, List<WorkloadFigures> figures, String baseline)
        throws IOException {
        write(file, title, context, figures, List.of(), baseline);
    }

    /** As {@link #write(Path, String, List, List, String)}, with the process memory after the workloads. */
    public static void write(Path file, String title, List<String> context, List<WorkloadFigures> figures,
                             List<MemoryFigures> memory, String baseline) throws IOException {
        write(file, title, context, figures, memory, List.of(), baseline);
    }

    /** As {@link #write(Path, String, List, List, List, String)}, with the big blocks. */
    public static void write(Path file, String title, List<String> context, List<WorkloadFigures> figures,
                             List<MemoryFigures> memory, List<BigBlockFigures> blocks, String baseline)
        throws IOException {
        Map<String, List<WorkloadFigures>> byWorkload = new LinkedHashMap<>();
        for (WorkloadFigures f : figures) {
            byWorkload.computeIfAbsent(f.workload(), w -> new ArrayList<>()).add(f);
        }
        StringBuilder out = new StringBuilder();
        out.append("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE html>\n")
            .append("<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">\n<head>\n<meta charset=\"UTF-8\"/>\n<title>")
            .append(escape(title)).append("</title>\n<style>\n")
            .append("body{font-family:sans-serif;max-width:60em;margin:2em auto;color:#222}")
            .append("table{border-collapse:collapse;margin:0.5em 0 2em}td,th{padding:2px 8px;text-align:right;")
            .append("border-bottom:1px solid #ddd}td:first-child,th:first-child{text-align:left}")
            .append(".backend{fill:#3b6fb6}.peer{fill:#9a9a9a}.whisker{stroke:#222;stroke-width:1.5}")
            .append("svg text{font-size:12px;font-family:sans-serif}\n</style>\n</head>\n<body>\n<h1>")
            .append(escape(title)).append("</h1>\n");
        for (String line : context) {
            out.append("<p>").append(escape(line)).append("</p>\n");
        }
        out.append("<p>Blue: platform-memory backends through the C ABI. Grey: native allocators. Bars are medians ")
            .append("over the runs; whiskers span the slowest and the fastest run. Ratios are to ")
            .append(escape(baseline)).append(" in the same round. ns/op: wall ns of one operation at the median ")
            .append("throughput, for the workloads that have one: a pair (pair-*), a block allocated by a producer ")
            .append("and freed by a consumer (producer-consumer-*), an allocation or a free (mass-*-alloc, ")
            .append("mass-*-free).</p>\n");
        boolean clientsIntroduced = false;
        for (Map.Entry<String, List<WorkloadFigures>> e : byWorkload.entrySet()) {
            List<WorkloadFigures> rows = e.getValue();
            boolean client = rows.get(0).client();
            if (client && !clientsIntroduced) {
                clientsIntroduced = true;
                out.append("<h2 id=\"clients\">Real clients</h2>\n<p>Each client is a real program with its allocator ")
                    .append("hook on the subject, doing the same fixed work for every subject (its results' digest is ")
                    .append("checked). Bars are its wall time (shorter is better); the ratio is ").append(escape(baseline))
                    .append("'s wall time over the subject's in the same round (above 1 is faster); the latencies are ")
                    .append("of the allocator calls the client made.</p>\n");
            }
            out.append(client ? "<h3 id=\"" : "<h2 id=\"").append(escape(e.getKey())).append("\">").append(escape(e.getKey()))
                .append(rows.get(0).threads() > 1 ? " (" + rows.get(0).threads() + " threads)" : "")
                .append(client ? "</h3>\n" : "</h2>\n");
            chart(out, e.getKey(), rows, client ? Bars.WALL : rows.get(0).latencyOnly() ? Bars.LATENCY : Bars.THROUGHPUT);
            if (client) {
                clientTable(out, rows, baseline);
            } else {
                table(out, rows, baseline);
            }
        }
        if (!memory.isEmpty()) {
            out.append("<h2 id=\"memory\">Process memory</h2>\n<p>Resident memory (VmRSS) and its anonymous part ")
                .append("(RssAnon) that the speed run's process holds beyond what it held when its main began: right ")
                .append("after the subject's first call (for a backend: the layer's start, the JVM included), and ")
                .append("after the workloads have freed their blocks. MiB, median over the runs (smallest-largest).</p>\n")
                .append("<table>\n<tr><th>point</th><th>subject</th><th>RSS added</th><th>anon added</th></tr>\n");
            for (MemoryFigures m : memory) {
                out.append("<tr><td>").append(escape(m.label())).append("</td><td>").append(escape(m.subject()))
                    .append("</td><td>").append(Format.mebibytes(m.rssMiB())).append("</td><td>")
                    .append(Format.mebibytes(m.anonMiB())).append("</td></tr>\n");
            }
            out.append("</table>\n");
        }
        if (!blocks.isEmpty()) {
            out.append("<h2 id=\"big-blocks\">Big blocks</h2>\n<p>A level reserving a big pool and filling part of ")
                .append("it, in a process of its own: one block allocated through the subject's allocation (")
                .append("<code>-clear</code>: its zeroing one, PLATFORM_MEM_CLEAR or calloc, allocated while the first ")
                .append("is still live), then a byte written in every page of its first half, then freed. The ")
                .append("allocation's and the free's wall time (ms), and the block's resident pages (mincore, MiB) ")
                .append("right after the allocation and after half of it was written: a block all resident at once ")
                .append("was written or faulted in by the allocator. Medians over the runs (smallest-largest).</p>\n")
                .append("<table>\n<tr><th>block</th><th>subject</th><th>alloc ms</th><th>resident after alloc</th>")
                .append("<th>after writing half</th><th>free ms</th></tr>\n");
            for (BigBlockFigures b : blocks) {
                out.append("<tr><td>").append(escape(b.block())).append("</td><td>").append(escape(b.subject()))
                    .append("</td><td>").append(Format.millisPrecise(b.allocNanos().median())).append(' ')
                    .append(Format.plusMinus(b.allocNanos()))
                    .append("</td><td>").append(Format.mebibytes(b.residentAfterAllocMiB()))
                    .append("</td><td>").append(Format.mebibytes(b.residentAfterTouchMiB()))
                    .append("</td><td>").append(Format.millisPrecise(b.freeNanos().median())).append("</td></tr>\n");
            }
            out.append("</table>\n");
        }
        out.append("</body>\n</html>\n");
        Files.writeString(file, out);
    }

    /** What a chart's bars show. */
    private enum Bars {
        THROUGHPUT, LATENCY, WALL;

        Spread of(WorkloadFigures f) {
            return switch (this) {
                case THROUGHPUT -> f.opsPerSecond();
                case LATENCY -> f.p50();
                case WALL -> f.wallNanos();
            };
        }

        String caption() {
            return switch (this) {
                case THROUGHPUT -> "million allocator calls per second (longer is better)";
                case LATENCY -> "p50 latency, ns (shorter is better)";
                case WALL -> "wall time for the client's work, ms (shorter is better)";
            };
        }

        String label(double value) {
            return switch (this) {
                case THROUGHPUT -> Format.millions(value) + " M/s";
                case LATENCY -> Format.nanos(value) + " ns";
                case WALL -> Format.millis(value) + " ms";
            };
        }
    }

    private static void chart(StringBuilder out, String workload, List<WorkloadFigures> rows, Bars bars) {
        double top = 0;
        for (WorkloadFigures f : rows) {
            Spread s = bars.of(f);
            top = Math.max(top, s.present() ? s.max() : 0);
        }
        top = top > 0 ? top : 1;
        int height = rows.size() * (BAR + GAP) + 30;
        out.append(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
            + "role=\"img\" aria-label=\"%s\">%n", LABEL + WIDTH + VALUE, height, escape(workload)));
        out.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"14\">%s</text>%n", LABEL, bars.caption()));
        int y = 22;
        for (WorkloadFigures f : rows) {
            Spread s = bars.of(f);
            double scale = WIDTH / top;
            double w = s.present() ? s.median() * scale : 0;
            out.append(String.format(Locale.ROOT, "<text x=\"0\" y=\"%d\">%s</text>%n", y + BAR - 8, escape(f.subject())));
            out.append(String.format(Locale.ROOT, "<rect class=\"%s\" x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\"/>%n",
                f.kind().equals("peer") ? "peer" : "backend", LABEL, y, w, BAR));
            if (s.present() && s.runs() > 1) {
                out.append(String.format(Locale.ROOT, "<line class=\"whisker\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\"/>%n",
                    LABEL + s.min() * scale, LABEL + s.max() * scale, y + BAR / 2, y + BAR / 2));
            }
            String label = bars.label(s.median());
            out.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\">%s</text>%n",
                LABEL + Math.max(w, s.present() ? s.max() * scale : 0) + 6, y + BAR - 8, escape(label)));
            y += BAR + GAP;
        }
        out.append("</svg>\n");
    }

    private static void table(StringBuilder out, List<WorkloadFigures> rows, String baseline) {
        out.append("<table>\n<tr><th>subject</th><th>M calls/s</th><th>vs ").append(escape(baseline))
            .append("</th><th>ns/op</th><th>p50 ns</th><th>p99 ns</th><th>p99.9 ns</th><th>max ns</th><th>RSS / live</th></tr>\n");
        for (WorkloadFigures f : rows) {
            out.append("<tr><td>").append(escape(f.subject())).append("</td><td>")
                .append(f.latencyOnly() ? "-" : Format.millions(f.opsPerSecond().median()) + " " + Format.plusMinus(f.opsPerSecond()))
                .append("</td><td>").append(f.latencyOnly() ? "-" : Format.ratio(f.vsBaseline().median()))
                .append("</td><td>").append(f.callsPerOp() > 0 ? Format.nanos(f.nanosPerOp()) : "-")
                .append("</td><td>").append(Format.nanos(f.p50().median()))
                .append("</td><td>").append(Format.nanos(f.p99().median()))
                .append("</td><td>").append(Format.nanos(f.p999().median()))
                .append("</td><td>").append(Format.nanos(f.max().median()))
                .append("</td><td>").append(f.memoryOverhead().present()
                    ? String.format(Locale.ROOT, "%.2f %s", f.memoryOverhead().median(), Format.plusMinus(f.memoryOverhead())) : "-")
                .append("</td></tr>\n");
        }
        out.append("</table>\n");
    }

    private static void clientTable(StringBuilder out, List<WorkloadFigures> rows, String baseline) {
        out.append("<table>\n<tr><th>subject</th><th>wall ms</th><th>vs ").append(escape(baseline))
            .append("</th><th>M calls/s</th><th>p50 ns</th><th>p99 ns</th><th>p99.9 ns</th><th>max ns</th></tr>\n");
        for (WorkloadFigures f : rows) {
            out.append("<tr><td>").append(escape(f.subject())).append("</td><td>")
                .append(Format.millis(f.wallNanos().median())).append(' ').append(Format.plusMinus(f.wallNanos()))
                .append("</td><td>").append(Format.ratio(f.vsBaseline().median()))
                .append("</td><td>").append(Format.millions(f.opsPerSecond().median()))
                .append("</td><td>").append(Format.nanos(f.p50().median()))
                .append("</td><td>").append(Format.nanos(f.p99().median()))
                .append("</td><td>").append(Format.nanos(f.p999().median()))
                .append("</td><td>").append(Format.nanos(f.max().median()))
                .append("</td></tr>\n");
        }
        out.append("</table>\n");
    }

    private static String escape(String text) {
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}

package org.platformmemory.bench.report;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The figures as CSV, one row per workload and subject. Each figure has three columns: the median
 * over the runs and the smallest and largest run ({@code _min}, {@code _max}). Empty means "not
 * measured" (throughput of the latency-only workloads, memory of the workloads that do not measure it).
 * The real clients' rows ({@code client-*}) have their wall time for their fixed work in {@code wall_ns}
 * (empty for the workloads); their {@code vs_baseline} is the baseline's wall time over theirs and
 * their {@code ops_per_s} the allocator calls they made per second.
 */
public final class CsvReport {

    /** The header row. */
    public static final String HEADER = "workload,threads,subject,kind,runs,"
        + "ops_per_s,ops_per_s_min,ops_per_s_max,vs_baseline,vs_baseline_min,vs_baseline_max,"
        + "p50_ns,p50_ns_min,p50_ns_max,p99_ns,p99_ns_min,p99_ns_max,p999_ns,p999_ns_min,p999_ns_max,"
        + "max_ns,max_ns_min,max_ns_max,rss_over_live,rss_over_live_min,rss_over_live_max,"
        + "wall_ns,wall_ns_min,wall_ns_max";

    private CsvReport() {
    }

    /** Writes the file, replacing it. */
    public static void write(Path file, List<WorkloadFigures> figures) throws IOException {
        StringBuilder out = new StringBuilder(HEADER).append('\n');
        for (WorkloadFigures f : figures) {
            out.append(f.workload()).append(',').append(f.threads()).append(',').append(f.subject()).append(',')
                .append(f.kind()).append(',').append(f.opsPerSecond().runs() > 0 ? f.opsPerSecond().runs() : f.p50().runs());
            for (Spread s : List.of(f.latencyOnly() ? Spread.NONE : f.opsPerSecond(),
                f.latencyOnly() ? Spread.NONE : f.vsBaseline(), f.p50(), f.p99(), f.p999(), f.max(), f.memoryOverhead(),
                f.wallNanos())) {
                out.append(',').append(Format.plain(s.median())).append(',').append(Format.plain(s.min()))
                    .append(',').append(Format.plain(s.max()));
            }
            out.append('\n');
        }
        Files.writeString(file, out);
    }

    /** The header row of the memory file. */
    public static final String MEMORY_HEADER = "point,subject,kind,runs,rss_mib,rss_mib_min,rss_mib_max,"
        + "anon_mib,anon_mib_min,anon_mib_max";

    /**
     * Writes the process memory (MiB added since the harness's main began, at each point), one row per
     * point and subject, replacing the file.
     */
    public static void writeMemory(Path file, List<MemoryFigures> memory) throws IOException {
        StringBuilder out = new StringBuilder(MEMORY_HEADER).append('\n');
        for (MemoryFigures m : memory) {
            out.append(m.point()).append(',').append(m.subject()).append(',').append(m.kind()).append(',')
                .append(m.rssMiB().runs());
            for (Spread s : List.of(m.rssMiB(), m.anonMiB())) {
                out.append(',').append(Format.plain(s.median())).append(',').append(Format.plain(s.min()))
                    .append(',').append(Format.plain(s.max()));
            }
            out.append('\n');
        }
        Files.writeString(file, out);
    }

    /** The header row of the big-block file. */
    public static final String BIG_BLOCK_HEADER = "block,subject,kind,runs,bytes,alloc_ns,alloc_ns_min,alloc_ns_max,"
        + "resident_after_alloc_mib,resident_after_alloc_mib_min,resident_after_alloc_mib_max,"
        + "resident_after_touch_mib,resident_after_touch_mib_min,resident_after_touch_mib_max,"
        + "free_ns,free_ns_min,free_ns_max";

    /**
     * Writes the big blocks (the allocation's and the free's wall time, the block's resident MiB right
     * after its allocation and after half of it was written), one row per block and subject, replacing
     * the file.
     */
    public static void writeBigBlocks(Path file, List<BigBlockFigures> blocks) throws IOException {
        StringBuilder out = new StringBuilder(BIG_BLOCK_HEADER).append('\n');
        for (BigBlockFigures b : blocks) {
            out.append(b.block()).append(',').append(b.subject()).append(',').append(b.kind()).append(',')
                .append(b.allocNanos().runs()).append(',').append(b.bytes());
            for (Spread s : List.of(b.allocNanos(), b.residentAfterAllocMiB(), b.residentAfterTouchMiB(), b.freeNanos())) {
                out.append(',').append(Format.plain(s.median())).append(',').append(Format.plain(s.min()))
                    .append(',').append(Format.plain(s.max()));
            }
            out.append('\n');
        }
        Files.writeString(file, out);
    }
}

package org.platformmemory.bench.report;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * The C-ABI benchmark: runs the C harness ({@code pm_bench}) for every backend and native peer,
 * round after round, then writes the table, a CSV file and an HTML report.
 *
 * <pre>
 * java -cp allocator-bench/target/benchmarks.jar org.platformmemory.bench.report.AbiBenchmark \
 *     --bin allocator-bench/target/native --backends system,arena,netty,agrona \
 *     --trace allocator-bench/traces/demo-game.trace [--full] [--out target/bench-abi]
 * </pre>
 *
 * Each round runs, for every subject, one process for the speed workloads and one fresh process per
 * memory workload (frame-mix, realloc-growth, trace-replay), so each memory figure is that workload's
 * own RSS growth, one fresh process for the big blocks (big-block: a 512 MiB block allocated plain and
 * zeroed, how long that takes and how much of it is resident), then one process of the real clients ({@code pm_clients}: Lua, SQLite, the C++ game,
 * each timed on a fixed amount of work). Quick mode: 3 rounds at scale 1 with 5,000 samples per
 * workload, clients at 2 units (~20 ms each with glibc); full mode: 5 rounds at scale 10 with 50,000
 * samples, clients at 8 units.
 */
public final class AbiBenchmark {

    /** The native allocators measured beside the backends; the first is the baseline of every ratio. */
    public static final List<String> PEERS = List.of("glibc", "jemalloc", "mimalloc");

    private static final List<String> GROUPS = List.of("speed", "frame-mix", "realloc-growth", "trace-replay", "big-block",
        "clients");

    /**
     * How to run.
     *
     * @param bin      the folder holding pm_bench, pm_bench_jemalloc and pm_bench_mimalloc, and pm_clients,
     *                 pm_clients_glibc, pm_clients_jemalloc and pm_clients_mimalloc
     * @param backends the backends to measure through the C ABI
     * @param trace    the trace file replayed by trace-replay
     * @param out      where the reports and every run's raw output go
     * @param full     full mode (else quick)
     */
    public record Options(Path bin, List<String> backends, Path trace, Path out, boolean full) {

        int rounds() {
            return full ? 5 : 3;
        }

        int scale() {
            return full ? 10 : 1;
        }

        int samples() {
            return full ? 50_000 : 5_000;
        }

        /** @return the real clients' work, in units of about 10 ms with glibc */
        int clientUnits() {
            return full ? 8 : 2;
        }
    }

    /**
     * What a benchmark wrote.
     *
     * @param figures the figures of every subject and workload
     * @param memory  what each subject's speed process held after its start and after its workloads
     * @param blocks  each subject's big blocks: allocation time and resident memory
     * @param csv     the CSV file
     * @param html    the HTML report
     * @param table   the terminal table, also saved beside the others
     */
    public record Report(List<WorkloadFigures> figures, List<MemoryFigures> memory, List<BigBlockFigures> blocks,
                         Path csv, Path html, String table) {
    }

    /** The file the harness's CMake writes into its build folder when it skipped peers it did not find. */
    public static final String SKIPPED_FILE = "skipped-peers.txt";

    /**
     * What the harness was built without (jemalloc, mimalloc, the real clients), as its CMake wrote it in
     * {@link #SKIPPED_FILE}: the names on the first line, the line it printed at build time on the second.
     *
     * @param names the skipped peers ({@code jemalloc}, {@code mimalloc}) and {@code clients}
     * @param line  the one line saying what was skipped and how to install it; empty when nothing was
     */
    public record Skipped(Set<String> names, String line) {

        /** Nothing skipped. */
        public static final Skipped NONE = new Skipped(Set.of(), "");

        /** Reads {@link #SKIPPED_FILE} from the harness's folder; {@link #NONE} when it is not there. */
        public static Skipped of(Path bin) throws IOException {
            Path file = bin.resolve(SKIPPED_FILE);
            if (!Files.exists(file)) {
                return NONE;
            }
            List<String> lines = Files.readAllLines(file);
            if (lines.size() < 2 || lines.get(0).isBlank()) {
                throw new IllegalStateException(file + " is not what the harness's CMake writes (names, then a line)");
            }
            return new Skipped(Set.of(lines.get(0).strip().split("\\s+")), lines.get(1).strip());
        }

        /** The peers that were built: {@link #PEERS} without the skipped ones (glibc is never skipped). */
        public List<String> peers() {
            return PEERS.stream().filter(p -> !names.contains(p)).toList();
        }

        /** Whether the real clients were built. */
        public boolean clients() {
            return !names.contains("clients");
        }
    }

    private AbiBenchmark() {
    }

    /** Runs the benchmark; exits 1 with a message if a run fails, 2 on bad arguments. */
    public static void main(String[] args) throws Exception {
        Options options;
        try {
            options = parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("bench-abi: " + e.getMessage());
            System.err.println("usage: AbiBenchmark --bin DIR --backends a,b,... --trace FILE [--out DIR] [--quick|--full]");
            System.exit(2);
            return;
        }
        try {
            Report report = run(options);
            System.out.println();
            System.out.print(report.table());
            System.out.println();
            System.out.println("report: " + report.html());
            System.out.println("data:   " + report.csv());
            String skipped = Skipped.of(options.bin()).line();
            if (!skipped.isEmpty()) {
                System.out.println(skipped);
            }
        } catch (IllegalStateException | IllegalArgumentException e) {
            System.err.println();
            System.err.println("bench-abi: " + e.getMessage());
            System.exit(1);
        }
    }

    static Options parse(String[] args) {
        Path bin = null, trace = null, out = Path.of("target", "bench-abi");
        List<String> backends = null;
        boolean full = false;
        for (int i = 0; i < args.length; i++) {
            String value = i + 1 < args.length ? args[i + 1] : null;
            switch (args[i]) {
                case "--quick" -> full = false;
                case "--full" -> full = true;
                case "--bin" -> bin = Path.of(require(value, "--bin"));
                case "--trace" -> trace = Path.of(require(value, "--trace"));
                case "--out" -> out = Path.of(require(value, "--out"));
                case "--backends" -> backends = Arrays.stream(require(value, "--backends").split(","))
                    .map(String::strip).filter(s -> !s.isEmpty()).toList();
                default -> throw new IllegalArgumentException("unknown argument '" + args[i] + "'");
            }
            if (!args[i].equals("--quick") && !args[i].equals("--full")) {
                i++;
            }
        }
        if (bin == null || trace == null || backends == null || backends.isEmpty()) {
            throw new IllegalArgumentException("--bin, --backends and --trace are required");
        }
        return new Options(bin, backends, trace, out, full);
    }

    private static String require(String value, String option) {
        if (value == null) {
            throw new IllegalArgumentException(option + " needs a value");
        }
        return value;
    }

    /**
     * Runs every round and writes the reports.
     *
     * @throws IllegalStateException naming the run and its log when a harness run fails
     */
    public static Report run(Options options) throws IOException, InterruptedException {
        Path runs = options.out().resolve("runs");
        Files.createDirectories(runs);
        Skipped skipped = Skipped.of(options.bin());
        if (!skipped.line().isEmpty()) {
            System.err.println(skipped.line());
        }
        List<String> subjects = new ArrayList<>(options.backends());
        subjects.addAll(skipped.peers());
        List<String> groups = skipped.clients() ? GROUPS : GROUPS.stream().filter(g -> !g.equals("clients")).toList();
        int maxThreads = Math.max(2, Math.min(8, Runtime.getRuntime().availableProcessors()));
        Measurements measurements = new Measurements(PEERS.get(0));
        int total = options.rounds() * subjects.size() * groups.size(), done = 0;
        long started = System.nanoTime();
        for (int round = 0; round < options.rounds(); round++) {
            for (String subject : subjects) {
                for (String group : groups) {
                    progress(String.format(Locale.ROOT, "[%3d/%d] round %d/%d  %-9s %-15s %4.0f s", ++done, total,
                        round + 1, options.rounds(), subject, group, (System.nanoTime() - started) / 1e9));
                    Path file = runs.resolve("r" + round + "-" + subject + "-" + group + ".txt");
                    runHarness(options, subject, group, maxThreads, file);
                    measurements.add(round, options.backends().contains(subject) ? "backend" : "peer", HarnessOutput.read(file));
                }
            }
        }
        progress(String.format(Locale.ROOT, "%d runs in %.0f s", total, (System.nanoTime() - started) / 1e9));
        System.err.println();
        List<WorkloadFigures> figures = measurements.figures();
        List<MemoryFigures> memory = measurements.memory();
        List<BigBlockFigures> blocks = measurements.bigBlocks();
        String table = TerminalTable.render(figures, PEERS.get(0));
        for (String more : List.of(TerminalTable.renderMemory(memory), TerminalTable.renderBigBlocks(blocks))) {
            table += more.isEmpty() ? "" : System.lineSeparator() + more;
        }
        Path csv = options.out().resolve("bench-abi.csv");
        Path html = options.out().resolve("bench-abi.html");
        CsvReport.write(csv, figures);
        CsvReport.writeMemory(options.out().resolve("bench-abi-memory.csv"), memory);
        CsvReport.writeBigBlocks(options.out().resolve("bench-abi-big-block.csv"), blocks);
        List<String> context = new ArrayList<>(List.of(
            "Machine: " + machine(),
            String.format(Locale.ROOT, "Mode: %s, %d rounds, scale %d, up to %d samples per workload and run, "
                + "clients at %d units; JDK %s.", options.full() ? "full" : "quick", options.rounds(), options.scale(),
                options.samples(), options.clientUnits(), System.getProperty("java.version")),
            "Calls: Platform_Alloc/Platform_Free/Platform_Realloc for the backends, malloc/free/realloc "
                + "(mi_malloc/mi_free/mi_realloc for mimalloc) for the peers, through the same function pointers; "
                + "a zeroed big block: Platform_Alloc with PLATFORM_MEM_CLEAR, calloc (mi_calloc).",
            "Clients: Lua 5.4 (lua_newstate with the subject as its allocator), SQLite (SQLITE_CONFIG_MALLOC; "
                + "xSize is Platform_Mem_Size, malloc_usable_size or mi_usable_size), a C++ game loop (global "
                + "operator new/delete on the game's Alloc(size, MEM_NEW)/Free from wwmem.h for the backends, on "
                + "malloc/free for the peers)."));
        if (!skipped.line().isEmpty()) {
            context.add(skipped.line());
        }
        HtmlReport.write(html, "platform-memory: backends and native allocators through the C ABI", context, figures,
            memory, blocks, PEERS.get(0));
        Files.writeString(options.out().resolve("bench-abi.txt"), String.join(System.lineSeparator(), context)
            + System.lineSeparator() + System.lineSeparator() + table);
        return new Report(figures, memory, blocks, csv, html, table);
    }

    private static void runHarness(Options options, String subject, String group, int maxThreads, Path file)
        throws IOException, InterruptedException {
        Path log = Path.of(file.toString().replaceAll("\\.txt$", ".log"));
        List<String> command;
        if (group.equals("clients")) { // one build per kind of subject: the hooks call it directly
            String binary = PEERS.contains(subject) ? "pm_clients_" + subject : "pm_clients";
            command = List.of(options.bin().resolve(binary).toString(), "--subject", subject, "--scale",
                Integer.toString(options.clientUnits()), "--samples", Integer.toString(options.samples()),
                "--out", file.toString());
        } else {
            String binary = switch (subject) {
                case "jemalloc" -> "pm_bench_jemalloc";
                case "mimalloc" -> "pm_bench_mimalloc";
                default -> "pm_bench";
            };
            command = List.of(options.bin().resolve(binary).toString(), "--subject", subject,
                "--workloads", group, "--scale", Integer.toString(options.scale()), "--samples",
                Integer.toString(options.samples()), "--max-threads", Integer.toString(maxThreads),
                "--trace", options.trace().toString(), "--out", file.toString());
        }
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
        Map<String, String> env = pb.environment();
        env.remove("PLATFORM_MEMORY_OPTIONS"); // --subject names the backend
        env.putIfAbsent("JAVA_HOME", System.getProperty("java.home"));
        Process process = pb.start();
        if (!process.waitFor(10, TimeUnit.MINUTES)) {
            process.destroyForcibly();
            throw new IllegalStateException(subject + " " + group + " did not finish in 10 minutes; see " + log);
        }
        if (process.exitValue() != 0) {
            throw new IllegalStateException(subject + " " + group + " failed (exit " + process.exitValue() + "): "
                + Files.readString(log).strip() + " (log: " + log + ")");
        }
    }

    private static void progress(String line) {
        if (System.console() != null) {
            System.err.print("\r" + line + "   ");
        } else {
            System.err.println(line);
        }
        System.err.flush();
    }

    /** @return the CPU model, core count, memory and kernel of this machine */
    static String machine() {
        String cpu = "unknown CPU";
        String memory = "";
        try {
            cpu = Files.readAllLines(Path.of("/proc/cpuinfo")).stream().filter(l -> l.startsWith("model name"))
                .findFirst().map(l -> l.substring(l.indexOf(':') + 1).strip()).orElse(cpu);
            memory = Files.readAllLines(Path.of("/proc/meminfo")).stream().filter(l -> l.startsWith("MemTotal"))
                .findFirst().map(l -> String.format(Locale.ROOT, ", %.0f GiB RAM",
                    Long.parseLong(l.replaceAll("\\D", "")) / 1048576.0)).orElse("");
        } catch (IOException | RuntimeException e) {
            // not Linux: the figures still stand, only the description is shorter
        }
        return String.format(Locale.ROOT, "%s, %d cores%s, %s %s", cpu, Runtime.getRuntime().availableProcessors(),
            memory, System.getProperty("os.name"), System.getProperty("os.version"));
    }
}

package org.platformmemory.bench.ab;

import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.Method;
import java.net.URISyntaxException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Two builds of the facade side by side in one JVM, for "is this change slower?" questions that a JMH
 * run on a noisy machine cannot answer (forks minutes apart see different machines: the same jar's
 * {@code FacadeBenchmark} moved by 30% between forks on the 2-core VM this was written on). Each build
 * gets its own class loader (parent: the platform loader) holding its jars or class folders and a copy
 * of {@link FacadePairs}; the two are then timed in short alternating bursts (A B, B A, ...), so both
 * see the same machine, and the ratio of each burst pair is taken.
 *
 * <pre>
 * java @config/jvm.options -cp allocator-bench/target/benchmarks.jar org.platformmemory.bench.ab.FacadeAB \
 *     --backend arena [--mode counters|bare|ring|bareRing] [--bursts 200] [--pairs 200000] BUILD_A BUILD_B
 * </pre>
 * A build is a {@code :}-separated class path: a {@code benchmarks.jar} of another tree (it holds the
 * facade and every backend), or a freshly compiled {@code allocator-api/target/classes} in front of one.
 * The modes: {@code counters}, a 64-byte block allocated and freed at once through the facade (as
 * {@code FacadeBenchmark}); {@code bare}, the same through the backend alone; {@code ring}, each block
 * written and freed 64 allocations later, as a program would; {@code bareRing}, that through the backend.
 * Prints each build's median ns per pair and the median (and quartiles) of B/A over the bursts. JIT
 * decisions differ from JVM to JVM by a few percent: run it three times or more and compare the medians.
 */
public final class FacadeAB {

    private static final String PAIRS = FacadePairs.class.getName();
    /** The loops of {@link FacadePairs} a run can time. */
    static final List<String> MODES = List.of("counters", "bare", "ring", "bareRing");

    private FacadeAB() {
    }

    public static void main(String[] args) throws Exception {
        String backend = "arena";
        String mode = "counters";
        int bursts = 200;
        int pairs = 200_000;
        List<String> builds = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--backend" -> backend = args[++i];
                case "--mode" -> mode = args[++i];
                case "--bursts" -> bursts = Integer.parseInt(args[++i]);
                case "--pairs" -> pairs = Integer.parseInt(args[++i]);
                default -> builds.add(args[i]);
            }
        }
        if (builds.size() != 2 || !MODES.contains(mode) || bursts < 4 || pairs < 1) {
            throw new IllegalArgumentException(
                "usage: FacadeAB --backend NAME [--mode " + String.join("|", MODES) + "] [--bursts N] [--pairs N] BUILD_A BUILD_B");
        }
        byte[] code = pairsClassBytes();
        Method[] run = new Method[2];
        List<BuildLoader> loaders = new ArrayList<>();
        try {
            for (int b = 0; b < 2; b++) {
                BuildLoader loader = new BuildLoader(builds.get(b), code);
                loaders.add(loader);
                Class<?> loop = Class.forName(PAIRS, true, loader);
                loop.getMethod("open", String.class).invoke(null, backend);
                loader.opened = loop;
                run[b] = loop.getMethod(mode, int.class);
            }
            measure(backend, mode, bursts, pairs, run);
        } finally {
            for (BuildLoader loader : loaders) { // each build's facade and backend, then its jars
                if (loader.opened != null) {
                    loader.opened.getMethod("close").invoke(null);
                }
                loader.close();
            }
        }
    }

    private static void measure(String backend, String mode, int bursts, int pairs, Method[] run) throws Exception {
        long digest = 0;
        for (int w = 0; w < 30; w++) { // warm both until their loops are compiled
            digest += (long) run[0].invoke(null, pairs) + (long) run[1].invoke(null, pairs);
        }
        double[][] ns = new double[2][bursts];
        for (int i = 0; i < bursts; i++) {
            for (int k = 0; k < 2; k++) {
                int b = i % 2 == 0 ? k : 1 - k; // A B, then B A: neither always goes first
                long t0 = System.nanoTime();
                digest += (long) run[b].invoke(null, pairs);
                ns[b][i] = (System.nanoTime() - t0) / (double) pairs;
            }
        }
        double[] ratio = new double[bursts];
        for (int i = 0; i < bursts; i++) {
            ratio[i] = ns[1][i] / ns[0][i];
        }
        for (int b = 0; b < 2; b++) {
            System.out.printf("%s %s %s: median %.2f ns per pair%n", backend, mode, b == 0 ? "A" : "B", quantile(ns[b], 0.5));
        }
        System.out.printf("%s %s B/A: median %.3f (quartiles %.3f-%.3f) over %d bursts%s%n", backend, mode,
            quantile(ratio, 0.5), quantile(ratio, 0.25), quantile(ratio, 0.75), bursts, digest == 42 ? " " : "");
    }

    private static double quantile(double[] values, double q) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        return sorted[(int) Math.min(sorted.length - 1, Math.round(q * (sorted.length - 1)))];
    }

    private static byte[] pairsClassBytes() throws IOException {
        try (InputStream in = FacadeAB.class.getResourceAsStream("FacadePairs.class")) {
            if (in == null) {
                throw new IOException("FacadePairs.class is not beside FacadeAB.class");
            }
            return in.readAllBytes();
        }
    }

    /** One build's classes, with its own copy of {@link FacadePairs} linked against them. */
    private static final class BuildLoader extends URLClassLoader {
        /** Its {@link FacadePairs} once {@code open} has run (then {@code close} must run too). */
        Class<?> opened;

        BuildLoader(String classPath, byte[] pairsCode) throws IOException {
            super(urls(classPath), ClassLoader.getPlatformClassLoader());
            defineClass(PAIRS, pairsCode, 0, pairsCode.length);
        }

        private static URL[] urls(String classPath) throws IOException {
            List<URL> urls = new ArrayList<>();
            for (String part : classPath.split(":")) {
                Path path = Path.of(part);
                if (!Files.exists(path)) {
                    throw new IOException("no such jar or folder: " + part);
                }
                urls.add(apart(path).toUri().toURL());
            }
            return urls.toArray(URL[]::new);
        }

        /**
         * The build's jar, or a temporary copy of it when it is the very file this launcher runs from:
         * measured (issue 10), a build read from the launcher's own jar file ran agrona's ring 33-34 ns a
         * pair against 29 for the same bytes under another name, while system and netty did not move; the
         * cause was not found, so the comparison never depends on it.
         */
        private static Path apart(Path path) throws IOException {
            Path launcher;
            try {
                launcher = Path.of(FacadeAB.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            } catch (URISyntaxException | RuntimeException e) {
                return path;
            }
            if (!Files.isRegularFile(path) || !Files.isRegularFile(launcher) || !Files.isSameFile(path, launcher)) {
                return path;
            }
            Path copy = Files.createTempFile("facade-ab-build-", ".jar");
            copy.toFile().deleteOnExit();
            return Files.copy(path, copy, StandardCopyOption.REPLACE_EXISTING);
        }
    }
}

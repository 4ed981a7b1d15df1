package org.platformmemory.api.internal;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The live blocks whose allocation was sampled ({@code allocator.sample} in {@code counters}): the C ABI
 * records the stack of about one allocation per {@code rate} bytes, at exponentially distributed intervals
 * (a Poisson process over the bytes allocated), so an allocation of {@code s} bytes is sampled with
 * probability {@code 1 - exp(-s / rate)}. Each sampled block then stands for {@code s / that} bytes, and the
 * sums per stack estimate the live bytes and blocks of every stack without bias, whatever the sizes.
 * Thread-safe.
 */
public final class SampledBlocks {

    private final long rate;
    /** address -> {site, size} */
    private final ConcurrentHashMap<Long, long[]> live = new ConcurrentHashMap<>();

    public SampledBlocks(long rate) {
        if (rate <= 0) {
            throw new IllegalArgumentException("sampling rate " + rate);
        }
        this.rate = rate;
    }

    /** The mean bytes between two samples. */
    public long rate() {
        return rate;
    }

    /** How many bytes of allocations one sampled block of {@code size} bytes stands for. */
    public double weight(long size) {
        double p = -Math.expm1(-(double) size / rate);
        return p > 0 ? size / p : size;
    }

    /** A sampled block became live at {@code user}. */
    public void add(long user, long size, int site) {
        live.put(user, new long[] {site, size});
    }

    /** The block at {@code user} is being freed (nothing happens unless it was sampled). */
    public void remove(long user) {
        if (!live.isEmpty()) {
            live.remove(user);
        }
    }

    /** A sampled block moved from {@code from} to {@code to} and now has {@code size} bytes. */
    public void moved(long from, long to, long size) {
        if (live.isEmpty()) {
            return;
        }
        long[] sample = live.remove(from);
        if (sample != null) {
            live.put(to, new long[] {sample[0], size});
        }
    }

    /** Sampled blocks live now. */
    public int size() {
        return live.size();
    }

    /**
     * The estimates by site id: {estimated live bytes, estimated live blocks}. A block sampled at size
     * {@code s} counts its weight in bytes and {@code weight / s} in blocks (a reallocated one, which was
     * sampled at another size, is counted at its size now).
     */
    public Map<Integer, double[]> bySite() {
        Map<Integer, double[]> out = new HashMap<>();
        live.forEach((user, sample) -> {
            long size = sample[1];
            double w = weight(size);
            double[] sums = out.computeIfAbsent((int) sample[0], k -> new double[2]);
            sums[0] += w;
            sums[1] += w / Math.max(size, 1);
        });
        return out;
    }
}

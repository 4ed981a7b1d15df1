package org.platformmemory.api.view;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;

import org.platformmemory.api.TagStats;
import org.platformmemory.api.TrackedAllocator;

/**
 * The ring of samples behind the live view's chart: every tick, each tag's live bytes and the total, the
 * last {@code capacity} kept. Taken by one daemon thread while the view runs; read by request threads.
 * Thread-safe (the ring is guarded by its own monitor).
 */
final class Samples {

    /** One sample: when, the live bytes in total, and each tag's live bytes by tag id. */
    record Sample(long timeMillis, long totalLiveBytes, long[] liveBytesByTag) {
    }

    private final TrackedAllocator memory;
    private final int capacity;
    private final ArrayDeque<Sample> ring = new ArrayDeque<>();
    /** Tag names by id, as last seen; tags are never removed, so ids keep their names. */
    private volatile List<String> tagNames = List.of();
    private ScheduledExecutorService sampler;

    Samples(TrackedAllocator memory, int capacity) {
        this.memory = memory;
        this.capacity = capacity;
    }

    /** Samples now, then every {@code periodMillis} on a thread from {@code threads} until {@link #stop}. */
    synchronized void start(long periodMillis, ThreadFactory threads) {
        sampler = Executors.newSingleThreadScheduledExecutor(threads);
        sampler.scheduleAtFixedRate(this::sampleQuietly, 0, periodMillis, TimeUnit.MILLISECONDS);
    }

    synchronized void stop() {
        if (sampler != null) {
            sampler.shutdownNow();
            try {
                sampler.awaitTermination(1, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private void sampleQuietly() {
        try {
            sample();
        } catch (RuntimeException e) {
            // a sample missed is a gap in the chart, never a reason to stop sampling
        }
    }

    /** Takes one sample now. */
    void sample() {
        List<TagStats> tags = memory.insights().tagStats();
        int ids = 0;
        for (TagStats t : tags) {
            ids = Math.max(ids, t.id() + 1);
        }
        long[] bytes = new long[ids];
        String[] names = new String[ids];
        long total = 0;
        for (TagStats t : tags) {
            bytes[t.id()] = t.liveBytes();
            names[t.id()] = t.name();
            total += t.liveBytes();
        }
        if (ids > tagNames.size()) {
            tagNames = List.of(names);
        }
        Sample s = new Sample(System.currentTimeMillis(), total, bytes);
        synchronized (ring) {
            ring.addLast(s);
            if (ring.size() > capacity) {
                ring.removeFirst();
            }
        }
    }

    /** The samples kept, oldest first. */
    List<Sample> list() {
        synchronized (ring) {
            return new ArrayList<>(ring);
        }
    }

    int size() {
        synchronized (ring) {
            return ring.size();
        }
    }

    /** Tag names by id, as far as the samples know them. */
    List<String> tagNames() {
        return tagNames;
    }
}

package org.platformmemory.api.view;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.platformmemory.api.AllocatorConfig;
import org.platformmemory.api.Insights;
import org.platformmemory.api.TrackedAllocator;

/**
 * A small Java "game" for the live view's browser test, standing in for the C demo until the C side of
 * the insights calls is in: it opens a {@link TrackedAllocator} with the given options (the browser test
 * passes {@code insights=127.0.0.1:0;log=verbose}), loads a level under the tag {@code level}, then runs
 * frames at about 60 per second on its own thread: units come and go under {@code units} (their number
 * rises and falls), projectiles live a few frames under {@code projectiles}, audio buffers stream under
 * {@code audio}, which has a budget. It marks every frame and takes two snapshots: after the level
 * loaded (before any unit) and after 90 frames.
 *
 * <pre>{@code java -cp ... org.platformmemory.api.view.DemoGame "insights=127.0.0.1:0;log=verbose" [SECONDS]}</pre>
 *
 * Run as a program, it runs for SECONDS (default: until killed); with {@code log=verbose} the facade's
 * informational line on stderr names the live view's address.
 */
public final class DemoGame implements AutoCloseable {

    static final long AUDIO_SOFT = 96 << 10;
    static final long AUDIO_HARD = 256 << 10;

    private final TrackedAllocator memory;
    private final Insights insights;
    private final Thread loop;
    private final CountDownLatch secondSnapshot = new CountDownLatch(1);
    private volatile boolean running = true;

    /** Where each kind of block is allocated, as a C game would name its file:line. */
    private final int levelSite;
    private final int unitSite;
    private final int projectileSite;
    private final int audioSite;

    private final List<long[]> level = new ArrayList<>();
    private final ArrayDeque<long[]> units = new ArrayDeque<>();
    private final ArrayDeque<long[]> projectiles = new ArrayDeque<>();
    private final ArrayDeque<long[]> audio = new ArrayDeque<>();

    /** Opens the allocator with {@code options} and starts the frame loop. */
    public DemoGame(String options) {
        memory = TrackedAllocator.open(AllocatorConfig.parse("backend=system;tracking=leaks;" + options));
        insights = memory.insights();
        levelSite = memory.site("demo/level.c", 88);
        unitSite = memory.site("demo/units.c", 140);
        projectileSite = memory.site("demo/projectiles.c", 52);
        audioSite = memory.site("demo/audio.c", 211);
        insights.setTagBudget("audio", AUDIO_SOFT, AUDIO_HARD);
        insights.pushTag("level");
        for (int i = 0; i < 32; i++) {
            level.add(allocate(16 << 10, levelSite));
        }
        insights.popTag();
        insights.snapshot();
        loop = new Thread(this::run, "demo-game");
        loop.setDaemon(true);
        loop.start();
    }

    /** The allocator the game runs on. */
    public TrackedAllocator memory() {
        return memory;
    }

    /** Waits until the game has taken its second snapshot. */
    public boolean awaitSnapshots(long seconds) throws InterruptedException {
        return secondSnapshot.await(seconds, TimeUnit.SECONDS);
    }

    private long[] allocate(long size, int site) {
        long address = memory.allocate(size, 0, 16, site);
        return new long[] {address, size};
    }

    private void free(long[] block) {
        if (block[0] != 0) {
            memory.free(block[0], block[1]);
        }
    }

    private void run() {
        for (long frame = 1; running; frame++) {
            // units: their number follows a slow wave between 8 and 120, each a few hundred bytes
            int wanted = 64 + (int) (56 * Math.sin(frame / 40.0));
            insights.pushTag("units");
            while (units.size() < wanted) {
                units.addLast(allocate(256 + 64 * (units.size() % 8), unitSite));
            }
            insights.popTag();
            while (units.size() > wanted) {
                free(units.removeFirst());
            }
            // projectiles: three a frame, each gone 20 frames later
            insights.pushTag("projectiles");
            for (int i = 0; i < 3; i++) {
                projectiles.addLast(allocate(96, projectileSite));
            }
            insights.popTag();
            while (projectiles.size() > 60) {
                free(projectiles.removeFirst());
            }
            // audio: a 16 KiB buffer every other frame, ten kept (160 KiB: over the soft budget, under the hard)
            if (frame % 2 == 0) {
                insights.pushTag("audio");
                audio.addLast(allocate(16 << 10, audioSite));
                insights.popTag();
                if (audio.size() > 10) {
                    free(audio.removeFirst());
                }
            }
            insights.frameMark();
            if (frame == 90) {
                insights.snapshot();
                secondSnapshot.countDown();
            }
            try {
                Thread.sleep(16);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /** Stops the frame loop, frees everything and closes the allocator (and with it the live view). */
    @Override
    public void close() {
        running = false;
        try {
            loop.join(5000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        for (ArrayDeque<long[]> blocks : List.of(units, projectiles, audio)) {
            blocks.forEach(this::free);
            blocks.clear();
        }
        level.forEach(this::free);
        level.clear();
        memory.close();
    }

    public static void main(String[] args) throws InterruptedException {
        String options = args.length > 0 ? args[0] : "insights=127.0.0.1:0;log=verbose";
        long seconds = args.length > 1 ? Long.parseLong(args[1]) : Long.MAX_VALUE / 2000;
        try (DemoGame game = new DemoGame(options)) {
            System.out.println("demo-game: running"); // the live view's address is the facade's own line
            Thread.sleep(seconds * 1000);
        }
    }
}

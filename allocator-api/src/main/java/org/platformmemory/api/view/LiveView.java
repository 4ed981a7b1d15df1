package org.platformmemory.api.view;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

import com.sun.net.httpserver.HttpServer;

import org.platformmemory.api.AllocatorConfig;
import org.platformmemory.api.InvalidConfigException;
import org.platformmemory.api.TrackedAllocator;

/**
 * The live view of one {@link TrackedAllocator} ({@code allocator.insights=HOST:PORT}): a page in the
 * browser that shows live bytes over time by tag, the tags' budgets, the last frames, the top sites, the
 * backend's figures and the diff between two snapshots the game took, refreshed twice a second.
 *
 * <p>It is read-only (GET only; anything else is 405) and shows figures only: no addresses, no
 * configuration, nothing a caller could act on. It listens on the loopback address unless the option
 * names another, answers only requests addressed to the host it listens as (so a web page elsewhere
 * cannot read it through a rebound DNS name), and its page needs nothing from outside: the HTML, script
 * and style are one resource in this jar.
 *
 * <p>The server is the JDK's own {@code com.sun.net.httpserver} (module {@code jdk.httpserver}): a
 * well-kept server that ships with every JDK, so the view adds no dependency to the module every backend
 * depends on. All its threads are daemons (two for requests, one dispatching, one sampling), so a view
 * never keeps a program alive; they run only while the view does.
 */
public final class LiveView implements AutoCloseable {

    /** How often the per-tag live bytes are sampled for the chart. */
    public static final long SAMPLE_MILLIS = 250;
    /** Samples kept: the last three minutes. */
    public static final int SAMPLES_KEPT = 720;

    private final HttpServer server;
    private final ExecutorService requests;
    private final Samples samples;
    private final InetSocketAddress address;

    private LiveView(HttpServer server, ExecutorService requests, Samples samples) {
        this.server = server;
        this.requests = requests;
        this.samples = samples;
        this.address = server.getAddress();
    }

    /**
     * Where {@code config} asks the view to listen ({@link AllocatorConfig#INSIGHTS}), or null when it is
     * off (not set, empty, {@code off} or {@code false}). A bare port means the loopback address.
     *
     * @throws InvalidConfigException when the value is not {@code HOST:PORT} with a known host and a port
     *                                from 0 (any free one) to 65535
     */
    public static InetSocketAddress option(AllocatorConfig config) {
        String value = config.raw(AllocatorConfig.INSIGHTS);
        if (value == null || value.isBlank() || value.equalsIgnoreCase("off") || value.equalsIgnoreCase("false")) {
            return null;
        }
        String text = value.strip();
        int colon = text.lastIndexOf(':');
        String host = colon < 0 ? "127.0.0.1" : text.substring(0, colon).strip();
        String port = colon < 0 ? text : text.substring(colon + 1).strip();
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1); // [::1]:8123
        } else if (host.contains(":")) {
            throw malformed(value, "write an IPv6 address in brackets, as [::1]:8123");
        }
        int number = port.matches("[0-9]{1,5}") ? Integer.parseInt(port) : -1;
        if (host.isEmpty() || number < 0 || number > 65535) {
            throw malformed(value, "use HOST:PORT with a port from 0 (any free port) to 65535,"
                + " for example 127.0.0.1:8123");
        }
        try {
            return new InetSocketAddress(InetAddress.getByName(host), number);
        } catch (UnknownHostException e) {
            throw malformed(value, "the host '" + host + "' is not known; use an address such as 127.0.0.1");
        }
    }

    private static InvalidConfigException malformed(String value, String what) {
        return new InvalidConfigException(AllocatorConfig.INSIGHTS + ": '" + value + "' is not a live view address; "
            + what + " (or leave it unset for no live view)");
    }

    /**
     * Starts the view of {@code memory} on {@code at} (from {@link #option}) and tells {@code inform} the
     * address it listens on; null, doing nothing, when {@code at} is null. When it cannot listen, it closes
     * {@code memory} (just opened, so nobody holds it yet) and fails.
     *
     * @throws InvalidConfigException naming the address and why it cannot be listened on
     */
    public static LiveView start(InetSocketAddress at, TrackedAllocator memory, Consumer<String> inform) {
        if (at == null) {
            return null;
        }
        try {
            LiveView view = listen(at, memory);
            inform.accept("live view at " + view.uri());
            return view;
        } catch (IOException | RuntimeException e) {
            memory.close();
            throw new InvalidConfigException(AllocatorConfig.INSIGHTS + ": cannot serve the live view on "
                + at.getAddress().getHostAddress() + ":" + at.getPort() + ": " + e.getMessage());
        }
    }

    private static LiveView listen(InetSocketAddress at, TrackedAllocator memory) throws IOException {
        HttpServer server = HttpServer.create(at, 8);
        ExecutorService requests = Executors.newFixedThreadPool(2, daemons("platform-memory-view"));
        Samples samples = new Samples(memory, SAMPLES_KEPT);
        server.setExecutor(requests);
        server.createContext("/", new Routes(memory, samples, server.getAddress()));
        // the dispatcher thread is created by start() and takes its daemon status from the thread that
        // creates it: start from a daemon, so the view never keeps the program alive
        Thread starter = daemons("platform-memory-view-start").newThread(server::start);
        starter.start();
        try {
            starter.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        samples.start(SAMPLE_MILLIS, daemons("platform-memory-view-sampler"));
        return new LiveView(server, requests, samples);
    }

    static ThreadFactory daemons(String name) {
        AtomicInteger count = new AtomicInteger();
        return task -> {
            Thread t = new Thread(task, name + "-" + count.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }

    /** The address the view listens on (the port is the one bound, also when 0 was asked for). */
    public InetSocketAddress address() {
        return address;
    }

    /** The page's URL, as {@code http://127.0.0.1:8123/}. */
    public URI uri() {
        String host = address.getAddress().getHostAddress();
        return URI.create("http://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + address.getPort() + "/");
    }

    /** Samples taken so far and still kept (for tests and tools). */
    public int sampleCount() {
        return samples.size();
    }

    /** Stops serving and sampling; idempotent. */
    @Override
    public void close() {
        samples.stop();
        server.stop(0);
        requests.shutdownNow();
        try {
            requests.awaitTermination(1, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Closes {@code view} when there is one: the hook {@link TrackedAllocator#close} calls. */
    public static void stop(LiveView view) {
        if (view != null) {
            view.close();
        }
    }

    @Override
    public String toString() {
        return "live view at " + uri() + String.format(Locale.ROOT, " (%d samples)", samples.size());
    }
}

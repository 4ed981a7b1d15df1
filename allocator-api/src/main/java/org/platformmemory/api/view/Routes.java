package org.platformmemory.api.view;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;

import org.platformmemory.api.SnapshotDiff;
import org.platformmemory.api.TrackedAllocator;

/**
 * The live view's requests: {@code GET /} (the page), {@code GET /api/state}, {@code GET /api/diff?from=&to=}.
 * Any other method is 405, any other path 404, and a request naming a host the view does not listen as
 * is 421 (a page elsewhere that rebinds its DNS name to this address reads nothing).
 */
final class Routes implements HttpHandler {

    static final String PAGE_RESOURCE = "live-view.html";
    /**
     * The page may run its own inline script and style and fetch from its own origin, nothing else: even a
     * mistake in the page cannot make the browser load anything from outside.
     */
    static final String CONTENT_POLICY = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline';"
        + " connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    private final TrackedAllocator memory;
    private final Samples samples;
    private final Set<String> hosts;
    private final byte[] page;

    Routes(TrackedAllocator memory, Samples samples, InetSocketAddress bound) {
        this.memory = memory;
        this.samples = samples;
        String ip = bound.getAddress().getHostAddress();
        int port = bound.getPort();
        String literal = ip.contains(":") ? "[" + ip + "]" : ip;
        this.hosts = bound.getAddress().isLoopbackAddress()
            ? Set.of(literal + ":" + port, "localhost:" + port)
            : Set.of(literal + ":" + port, bound.getHostString().toLowerCase(Locale.ROOT) + ":" + port);
        this.page = readPage();
    }

    private static byte[] readPage() {
        try (InputStream in = Routes.class.getResourceAsStream(PAGE_RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException("the live view's page " + PAGE_RESOURCE + " is missing from the jar");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void handle(HttpExchange exchange) throws IOException {
        try (exchange) {
            String host = exchange.getRequestHeaders().getFirst("Host");
            if (!"GET".equals(exchange.getRequestMethod())) {
                exchange.getResponseHeaders().set("Allow", "GET");
                send(exchange, 405, "text/plain", "the live view is read-only: GET only\n");
            } else if (host == null || !hosts.contains(host.toLowerCase(Locale.ROOT))) {
                send(exchange, 421, "text/plain", "this live view answers as " + hosts.iterator().next() + " only\n");
            } else {
                routeOrFail(exchange);
            }
        }
    }

    private void routeOrFail(HttpExchange exchange) throws IOException {
        String failure;
        try {
            route(exchange);
            return;
        } catch (RuntimeException e) {
            failure = e.toString(); // a figure that could not be read (the allocator closing meanwhile)
        }
        send(exchange, 503, "application/json", StateJson.error("the figures could not be read: " + failure));
    }

    private void route(HttpExchange exchange) throws IOException {
        String path = exchange.getRequestURI().getPath();
        switch (path) {
            case "/", "/index.html" -> send(exchange, 200, "text/html; charset=utf-8", page);
            case "/api/state" -> send(exchange, 200, "application/json", StateJson.state(memory, samples));
            case "/api/diff" -> diff(exchange);
            default -> send(exchange, 404, "text/plain", "not found: the live view has /, /api/state and /api/diff\n");
        }
    }

    private void diff(HttpExchange exchange) throws IOException {
        Map<String, String> query = query(exchange.getRequestURI().getRawQuery());
        long from = number(query.get("from"));
        long to = query.containsKey("to") ? number(query.get("to")) : 0;
        if (from <= 0 || to < 0) {
            send(exchange, 400, "application/json",
                StateJson.error("use /api/diff?from=ID&to=ID with snapshot ids (to=0: now)"));
            return;
        }
        SnapshotDiff diff = memory.insights().diff(from, to);
        if (diff == null) {
            send(exchange, 404, "application/json",
                StateJson.error("snapshot " + from + (to == 0 ? "" : " or " + to) + " is not kept"));
            return;
        }
        send(exchange, 200, "application/json", StateJson.diff(diff));
    }

    private static Map<String, String> query(String raw) {
        Map<String, String> out = new HashMap<>();
        if (raw != null) {
            for (String pair : raw.split("&")) {
                int eq = pair.indexOf('=');
                if (eq > 0) {
                    out.put(pair.substring(0, eq), pair.substring(eq + 1));
                }
            }
        }
        return out;
    }

    /** A snapshot id, or -1 when the text is not a whole number. */
    private static long number(String text) {
        if (text == null || !text.matches("[0-9]{1,18}")) {
            return -1;
        }
        return Long.parseLong(text);
    }

    private static void send(HttpExchange exchange, int status, String type, String body) throws IOException {
        send(exchange, status, type, body.getBytes(StandardCharsets.UTF_8));
    }

    private static void send(HttpExchange exchange, int status, String type, byte[] body) throws IOException {
        var headers = exchange.getResponseHeaders();
        headers.set("Content-Type", type);
        headers.set("Cache-Control", "no-store");
        headers.set("X-Content-Type-Options", "nosniff");
        headers.set("Referrer-Policy", "no-referrer");
        headers.set("Content-Security-Policy", CONTENT_POLICY);
        exchange.sendResponseHeaders(status, body.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(body);
        }
    }
}

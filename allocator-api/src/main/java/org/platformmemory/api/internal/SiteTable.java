package org.platformmemory.api.internal;

import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.IntFunction;

/**
 * Allocation sites interned as small integers, so a block's record holds a site in four bytes. Ids from 0
 * up are names made here ({@code file:line}, a Java frame); ids below 0 are call stacks recorded outside
 * Java (the C shim keeps each distinct stack once and numbers it), named only when a report asks, by the
 * source {@link #nameStacksWith} installed, and remembered once named. Used only when sites are recorded.
 */
public final class SiteTable {

    /** The id of "no site recorded". */
    public static final int NONE = 0;
    /** The name of {@link #NONE}. */
    public static final String NOT_RECORDED = "(site not recorded)";
    /** Between the frames of a stack's name, the caller's first: {@code "load (level.c:40) <- main (main.c:9)"}. */
    public static final String CALLED_FROM = " <- ";

    private final ConcurrentHashMap<String, Integer> ids = new ConcurrentHashMap<>();
    private final CopyOnWriteArrayList<String> names = new CopyOnWriteArrayList<>();
    private final ConcurrentHashMap<Integer, String> stackNames = new ConcurrentHashMap<>();
    private volatile IntFunction<String> stacks = stack -> null;

    public SiteTable() {
        names.add(NOT_RECORDED);
    }

    /** The id of {@code site}, interning it on first use. */
    public int idOf(String site) {
        Integer id = ids.get(site);
        if (id != null) {
            return id;
        }
        synchronized (this) {
            return ids.computeIfAbsent(site, s -> {
                names.add(s);
                return names.size() - 1;
            });
        }
    }

    /** The site id of the outside stack numbered {@code stack} (above 0). */
    public static int stackSite(int stack) {
        return -stack;
    }

    /**
     * Names the outside stacks: {@code source} gives the name of stack {@code n} (above 0), or null when it
     * does not know it; see {@link #stackName}.
     */
    public void nameStacksWith(IntFunction<String> source) {
        this.stacks = source;
        stackNames.clear();
    }

    /** The site an id stands for. */
    public String nameOf(int id) {
        if (id < 0) {
            String known = stackNames.get(id);
            if (known != null) {
                return known;
            }
            String name = stacks.apply(-id);
            if (name == null) {
                return "(unknown stack #" + -id + ")";
            }
            stackNames.putIfAbsent(id, name);
            return name;
        }
        return id < names.size() ? names.get(id) : "(unknown site #" + id + ")";
    }

    /**
     * A stack's name as reports show it: its frames, the caller's first, joined by {@link #CALLED_FROM},
     * then {@code [file:line]} when the call gave one ({@code Platform_Alloc_Dbg}); {@code file} null: none.
     */
    public static String stackName(List<String> frames, String file, int line) {
        StringBuilder name = new StringBuilder(frames.isEmpty() ? "(no frames)" : String.join(CALLED_FROM, frames));
        if (file != null) {
            name.append(" [").append(file).append(line > 0 ? ":" + line : "").append(']');
        }
        return name.toString();
    }
}

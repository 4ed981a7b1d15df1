package org.platformmemory.api.internal;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Allocation sites ({@code file:line} or a Java frame) interned as small integers, so a block's header
 * holds a site in four bytes. Used only when tracking leaks.
 */
public final class SiteTable {

    /** The id of "no site recorded". */
    public static final int NONE = 0;
    /** The name of {@link #NONE}. */
    public static final String NOT_RECORDED = "(site not recorded)";

    private final ConcurrentHashMap<String, Integer> ids = new ConcurrentHashMap<>();
    private final CopyOnWriteArrayList<String> names = new CopyOnWriteArrayList<>();

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

    /** The site an id stands for. */
    public String nameOf(int id) {
        return id >= 0 && id < names.size() ? names.get(id) : "(unknown site #" + id + ")";
    }
}

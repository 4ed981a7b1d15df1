package org.platformmemory.api.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

import org.platformmemory.api.ErrorCode;
import org.platformmemory.api.TagStats;

/**
 * Allocation tags: names interned to small ids (0 is {@code untagged}), each thread's stack of them (the
 * innermost is charged), their budgets, and the figures of the blocks the Java path allocates under them.
 * A cache in front of the facade (the C shim) counts what it serves per tag itself; {@link #stats} adds
 * its figures ({@link External}), so the figures of all tags add up to the facade's totals.
 *
 * <p>A tag's live bytes on the Java path are one atomic, so its hard budget is exact; the cache sends
 * allocations of a tag with a budget to the Java path. {@code untagged} costs nothing: its figures are the
 * facade's totals ({@link JavaTotals}) minus the other tags' (it keeps a live total of its own only while
 * it has a budget), and until a thread first pushes a tag or forbids allocations no call even looks up
 * its thread's tags. Thread-safe.
 */
public final class TagTable {

    /** Tag ids run from 0 to this minus one. */
    public static final int MAX_TAGS = 256;
    /** The tag of blocks allocated while no tag was pushed. */
    public static final String UNTAGGED = "untagged";
    /** Figures per tag in {@link External#readTags}: allocations, frees, bytes in, bytes out. */
    public static final int EXTERNAL_FIGURES = 4;

    /** The facade's own totals on the Java path, of which every tag but untagged counts its share. */
    public interface JavaTotals {
        /** Live bytes, blocks allocated, blocks freed, bytes allocated (and grown), bytes freed (and shrunk). */
        long[] read();
    }

    /** What a cache in front of the facade counted per tag, summed over its threads. */
    public interface External {
        /** Writes {@link #EXTERNAL_FIGURES} figures per tag id into {@code into} ({@code MAX_TAGS} of them). */
        void readTags(long[] into);
    }

    private final ErrorReporter errors;
    private final TagRecord[] records = new TagRecord[MAX_TAGS];
    private final Map<String, TagRecord> byName = new ConcurrentHashMap<>();
    private final ThreadLocal<ThreadTags> threads = ThreadLocal.withInitial(ThreadTags::new);
    private volatile int size;
    private volatile External external;
    private final AtomicLong externalReads = new AtomicLong(); // reads of the cache's figures, numbered as they start
    private final JavaTotals javaTotals;
    /** Whether any thread has pushed a tag or forbidden allocations: until then nothing looks at threads. */
    private volatile boolean used;
    /** Whether Java-path blocks need charging: tags were used, or untagged has (had) a budget. Until then, no. */
    private volatile boolean active;
    /** On once any table in the process was active: until then charging reads nothing, not even {@link #active}. */
    private static final Sticky ANY_ACTIVE = Sticky.create();
    /** Called with a tag id whenever its budget changes (the cache's routing of that tag). */
    private volatile java.util.function.IntConsumer budgetListener = id -> { };

    public TagTable(ErrorReporter errors, JavaTotals java) {
        this.errors = errors;
        this.javaTotals = java;
        intern(UNTAGGED);
    }

    /** The id of {@code name}, made on first use; -1 when all {@link #MAX_TAGS} ids are taken. */
    public int intern(String name) {
        TagRecord found = byName.get(name);
        if (found != null) {
            return found.id;
        }
        synchronized (this) {
            found = byName.get(name);
            if (found != null) {
                return found.id;
            }
            if (size == MAX_TAGS) {
                return -1;
            }
            TagRecord made = new TagRecord(size, name);
            records[size] = made;
            byName.put(name, made);
            size++;
            return made.id;
        }
    }

    /** Sets where the figures of a cache in front of the facade are read (null: none). */
    public void setExternal(External external) {
        this.external = external;
    }

    /** Sets who hears of budget changes, by tag id. */
    public void onBudgetChange(java.util.function.IntConsumer listener) {
        this.budgetListener = listener == null ? id -> { } : listener;
    }

    // ---- the calling thread's tags --------------------------------------------------------------

    /**
     * Pushes {@code name} on the calling thread's stack; returns its id, or 0 (untagged is pushed
     * instead, so pops stay balanced) when all ids are taken (reported).
     */
    public int push(String name) {
        int id = id(name);
        used = true;
        activate();
        threads.get().push(id);
        return id;
    }

    /** The id of {@code name} (null or empty: untagged), made on first use; 0 when all ids are taken (reported). */
    public int id(String name) {
        int id = intern(name == null || name.isEmpty() ? UNTAGGED : name);
        if (id < 0) {
            errors.report(ErrorCode.ALLOCATION_FAILED, "pushTag(" + name + "): all " + MAX_TAGS
                + " tags are in use; its blocks go to '" + UNTAGGED + "'", 0);
            id = 0;
        }
        return id;
    }

    /** Replaces the calling thread's stack by {@code id} alone and sets its forbidden flag. */
    public void adopt(int id, boolean forbidden) {
        if (!used && id == 0 && !forbidden) {
            return;
        }
        used = true;
        activate();
        ThreadTags mine = threads.get();
        mine.depth = 0;
        if (id > 0 && id < size) {
            mine.push(id);
        }
        mine.forbidden = forbidden;
    }

    /** Pops the calling thread's innermost tag; returns the tag current after it (0 when none is left). */
    public int pop() {
        return used ? threads.get().pop() : 0;
    }

    /** The tag the calling thread's blocks are charged to now. */
    public int current() {
        return used ? threads.get().current() : 0;
    }

    /** Starts ({@code true}) or ends a region where the calling thread reports its allocations. */
    public void forbid(boolean on) {
        if (on || used) {
            used = true;
            activate();
            threads.get().forbidden = on;
        }
    }

    // ---- charging the Java path -----------------------------------------------------------------

    /**
     * Charges a new block of {@code size} bytes to the calling thread's tag: reports it if the thread
     * forbade allocations, checks the tag's budgets.
     *
     * @return the tag id, or -1 when the tag's hard budget refuses it ({@link #refusal} says why)
     */
    public int admit(long size, String op) {
        if (!ANY_ACTIVE.on() || !active) {
            return 0;
        }
        if (!used) {
            return charge(0, size, true) ? 0 : -1;
        }
        ThreadTags mine = threads.get();
        int id = mine.current();
        if (mine.forbidden) {
            errors.report(ErrorCode.FORBIDDEN, op + "(" + size + " bytes) under tag '" + records[id].name
                + "' in a region where this thread forbade allocations; the block was served", 0);
        }
        return charge(id, size, true) ? id : -1;
    }

    /** Charges {@code bytes} more to tag {@code id} (a new block if {@code newBlock}); false if its hard budget refuses. */
    public boolean charge(int id, long bytes, boolean newBlock) {
        TagRecord r = records[id];
        if (id == 0 && !r.budgeted) {
            return true; // untagged: the totals count it
        }
        long now = r.live.addAndGet(bytes);
        if (r.budgeted) {
            long total = now + r.externalLive;
            if (r.hard != 0 && total > r.hard && bytes > 0) {
                total = now + refreshExternal(r);
                if (total > r.hard) {
                    r.live.addAndGet(-bytes);
                    return false;
                }
            }
            if (r.soft != 0 && total > r.soft && !r.overSoft.get() && now + refreshExternal(r) > r.soft
                && r.overSoft.compareAndSet(false, true)) {
                errors.report(ErrorCode.BUDGET, "tag '" + r.name + "' crossed its soft budget of " + r.soft
                    + " bytes: " + (now + r.externalLive) + " bytes live", 0);
            }
            r.raisePeak(total);
        } else {
            r.raisePeak(now);
        }
        if (newBlock && id != 0) {
            r.allocations.increment();
        }
        return true;
    }

    /** Why tag {@code id}'s hard budget refused {@code size} bytes. */
    public String refusal(int id, long size) {
        TagRecord r = records[id];
        return "tag '" + r.name + "' has a hard budget of " + r.hard + " bytes and " + (r.live.get() + r.externalLive)
            + " are live";
    }

    /** Takes back a charge whose allocation failed afterwards. */
    public void uncharge(int id, long bytes, boolean newBlock) {
        if (id == 0 && !records[0].budgeted) {
            return;
        }
        records[id].live.addAndGet(-bytes);
        if (newBlock && id != 0) {
            records[id].allocations.decrement();
        }
    }

    /** Credits tag {@code id} with {@code bytes} given back (a whole block if {@code wholeBlock}). */
    public void credit(int id, long bytes, boolean wholeBlock) {
        if (!ANY_ACTIVE.on() || !active) {
            return;
        }
        TagRecord r = records[id];
        if (id == 0 && !r.budgeted) {
            return;
        }
        long now = r.live.addAndGet(-bytes);
        if (wholeBlock && id != 0) {
            r.frees.increment();
        }
        if (r.budgeted && r.soft != 0 && r.overSoft.get() && now + r.externalLive <= r.soft) {
            r.overSoft.set(false); // back under it: the next crossing is told again
        }
    }

    // ---- budgets and figures --------------------------------------------------------------------

    /** Sets {@code name}'s budgets (0: none); returns its id, or -1 when all ids are taken. */
    public int setBudget(String name, long soft, long hard) {
        int id = intern(name);
        if (id < 0) {
            return -1;
        }
        TagRecord r = records[id];
        synchronized (r) {
            if (id == 0 && !r.budgeted) {
                r.live.set(javaLive(javaTotals.read())[0]); // from now on untagged keeps its own live total
            }
            r.soft = soft;
            r.hard = hard;
            r.budgeted = soft != 0 || hard != 0;
            if (id == 0 && r.budgeted) {
                activate();
            }
            refreshExternal(r);
            r.overSoft.set(soft != 0 && r.live.get() + r.externalLive > soft);
        }
        budgetListener.accept(id);
        return id;
    }

    // every table's first use turns the process-wide flag on (once: it deoptimizes the code that folded it)
    private void activate() {
        ANY_ACTIVE.turnOn();
        active = true;
    }

    /** Whether Java-path blocks may carry a tag or untagged may be budgeted; until then charging is a no-op. */
    public boolean active() {
        return active;
    }

    /** Whether tag {@code id} has a budget. */
    public boolean budgeted(int id) {
        return records[id].budgeted;
    }

    /** The number of tags so far. */
    public int size() {
        return size;
    }

    /** The name of tag {@code id}. */
    public String name(int id) {
        return records[id].name;
    }

    /** Every tag's figures, the cache's added; raises the peaks to what is live now. */
    public List<TagStats> stats() {
        int n = size;
        long[] ext = readExternal();
        long[] untagged = javaLive(javaTotals.read());
        List<TagStats> out = new ArrayList<>(n);
        for (int id = 0; id < n; id++) {
            TagRecord r = records[id];
            long extAllocs = ext[EXTERNAL_FIGURES * id];
            long extFrees = ext[EXTERNAL_FIGURES * id + 1];
            long extLive = ext[EXTERNAL_FIGURES * id + 2] - ext[EXTERNAL_FIGURES * id + 3];
            r.observeExternal(extLive, ext[ext.length - 1]);
            boolean derived = id == 0;
            long allocations = (derived ? untagged[1] : r.allocations.sum()) + extAllocs;
            long frees = (derived ? untagged[2] : r.frees.sum()) + extFrees;
            long live = (derived ? untagged[0] : r.live.get()) + extLive;
            r.raisePeak(live);
            out.add(new TagStats(id, r.name, live, allocations - frees, r.peak, allocations, frees, r.soft,
                r.hard));
        }
        return out;
    }

    /**
     * Cumulative figures over all tags: allocations, frees, bytes allocated, bytes freed (exact when quiet);
     * raises every tag's peak to what is live now on the way (one read of each side, for a frame mark).
     */
    public long[] totals() {
        long[] ext = readExternal();
        long[] mine = javaTotals.read();
        long[] untagged = javaLive(mine);
        long[] out = {mine[1], mine[2], mine[3], mine[4]};
        for (int id = 0; id < size; id++) {
            for (int k = 0; k < 4; k++) {
                out[k] += ext[EXTERNAL_FIGURES * id + k];
            }
            TagRecord r = records[id];
            long extLive = ext[EXTERNAL_FIGURES * id + 2] - ext[EXTERNAL_FIGURES * id + 3];
            r.observeExternal(extLive, ext[ext.length - 1]);
            r.raisePeak((id == 0 ? untagged[0] : r.live.get()) + extLive);
        }
        return out;
    }

    /**
     * Untagged's share of the Java path's figures: {live bytes, allocations, frees} = the totals minus every
     * other tag's (its own live total while it has a budget).
     */
    private long[] javaLive(long[] totals) {
        long live = totals[0];
        long allocations = totals[1];
        long frees = totals[2];
        for (int id = 1; id < size; id++) {
            TagRecord r = records[id];
            live -= r.live.get();
            allocations -= r.allocations.sum();
            frees -= r.frees.sum();
        }
        if (records[0].budgeted) {
            live = records[0].live.get();
        }
        return new long[] {live, allocations, frees};
    }

    /** The cache's figures by tag, and in the last slot the number of this read (drawn before it starts). */
    private long[] readExternal() {
        long[] into = new long[EXTERNAL_FIGURES * MAX_TAGS + 1];
        long stamp = externalReads.incrementAndGet();
        External e = external;
        if (e != null) {
            e.readTags(into);
        }
        into[into.length - 1] = stamp;
        return into;
    }

    private long refreshExternal(TagRecord r) {
        long[] ext = readExternal();
        int at = EXTERNAL_FIGURES * r.id;
        return r.observeExternal(ext[at + 2] - ext[at + 3], ext[ext.length - 1]);
    }
}

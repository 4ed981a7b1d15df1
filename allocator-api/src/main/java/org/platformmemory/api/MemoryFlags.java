package org.platformmemory.api;

/**
 * Allocation flags, with the game's own values (its {@code MemoryFlagType}) so C code passes them
 * through unchanged.
 */
public final class MemoryFlags {
    /** No special handling. */
    public static final int NORMAL = 0x00;
    /** Accepted; no effect on a modern system. */
    public static final int NEW = 0x01;
    /** Zero the block. */
    public static final int CLEAR = 0x02;
    /** Accepted; no effect on a modern system. */
    public static final int REAL = 0x04;
    /** A short-lived block; a backend may keep it apart. */
    public static final int TEMP = 0x08;
    /** Accepted; no effect on a modern system. */
    public static final int LOCK = 0x10;

    /** Every flag bit the layer knows; others are kept but mean nothing. */
    public static final int ALL = NEW | CLEAR | REAL | TEMP | LOCK;

    private MemoryFlags() {
    }

    /** The names of the flags set in {@code flags}, such as {@code "CLEAR|TEMP"}, or {@code "NORMAL"}. */
    public static String describe(int flags) {
        if (flags == 0) {
            return "NORMAL";
        }
        StringBuilder out = new StringBuilder();
        String[] names = {"NEW", "CLEAR", "REAL", "TEMP", "LOCK"};
        for (int bit = 0; bit < names.length; bit++) {
            if ((flags & (1 << bit)) != 0) {
                out.append(out.isEmpty() ? "" : "|").append(names[bit]);
            }
        }
        int unknown = flags & ~ALL;
        if (unknown != 0) {
            out.append(out.isEmpty() ? "" : "|").append("0x").append(Integer.toHexString(unknown));
        }
        return out.toString();
    }
}

package org.platformmemory.api.internal;

/**
 * A minimal JSON writer for the insights' figures (the report, the live view): objects, arrays, numbers
 * and strings, commas placed by itself. Written here rather than taken from a library: a few flat records
 * of numbers and names do not warrant a JSON dependency in the module every backend depends on. Strings are escaped, and so are {@code <}, {@code >} and {@code &}, so a tag or site name
 * can never read as markup wherever the JSON ends up.
 */
public final class Json {

    private final StringBuilder out = new StringBuilder(8192);
    /** Whether the container being written needs a comma before its next member. */
    private boolean comma;

    public Json open() {
        separate();
        out.append('{');
        comma = false;
        return this;
    }

    public Json close() {
        out.append('}');
        comma = true;
        return this;
    }

    public Json array() {
        separate();
        out.append('[');
        comma = false;
        return this;
    }

    public Json end() {
        out.append(']');
        comma = true;
        return this;
    }

    /** A member's name; its value follows. */
    public Json key(String name) {
        separate();
        string(name);
        out.append(':');
        comma = false;
        return this;
    }

    public Json value(long number) {
        separate();
        out.append(number);
        comma = true;
        return this;
    }

    public Json value(String text) {
        separate();
        if (text == null) {
            out.append("null");
        } else {
            string(text);
        }
        comma = true;
        return this;
    }

    public Json value(boolean truth) {
        separate();
        out.append(truth);
        comma = true;
        return this;
    }

    public Json field(String name, boolean truth) {
        return key(name).value(truth);
    }

    public Json field(String name, long number) {
        return key(name).value(number);
    }

    public Json field(String name, String text) {
        return key(name).value(text);
    }

    private void separate() {
        if (comma) {
            out.append(',');
        }
    }

    private void string(String text) {
        out.append('"');
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                default -> {
                    if (c < 0x20 || c == '<' || c == '>' || c == '&' || c == 0x2028 || c == 0x2029) {
                        out.append("\\u").append(String.format("%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        out.append('"');
    }

    @Override
    public String toString() {
        return out.toString();
    }
}

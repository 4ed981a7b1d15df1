package org.platformmemory.api.internal;

/** A thread's tag stack and forbidden flag ({@link TagTable}'s, one a thread). */
final class ThreadTags {
    int[] stack = new int[8];
    int depth;
    boolean forbidden;

    void push(int id) {
        if (depth == stack.length) {
            stack = java.util.Arrays.copyOf(stack, depth * 2);
        }
        stack[depth++] = id;
    }

    int pop() {
        if (depth > 0) {
            depth--;
        }
        return current();
    }

    int current() {
        return depth == 0 ? 0 : stack[depth - 1];
    }
}

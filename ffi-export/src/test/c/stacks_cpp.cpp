// stacks_cpp.cpp - C++ game code for test_stacks: functions in a namespace (their names are demangled) that
// allocate with new and new[], which stacks_new.cpp routes to wwmem.h's Alloc.
#include <cstddef>

#define KEEP_FRAME() __asm__ volatile("" ::: "memory")

namespace game {

struct Widget {
    int parts[8];
};

__attribute__((noinline)) Widget *make_widget(int *line) {
    *line = __LINE__; Widget *widget = new Widget();
    KEEP_FRAME();
    return widget;
}

__attribute__((noinline)) int *make_array(int *line, std::size_t n) {
    *line = __LINE__; int *array = new int[n];
    KEEP_FRAME();
    return array;
}

} // namespace game

extern "C" void *stacks_make_widget(int *line) {
    void *widget = game::make_widget(line);
    KEEP_FRAME();
    return widget;
}

extern "C" void stacks_delete_widget(void *widget) {
    delete static_cast<game::Widget *>(widget);
}

extern "C" void *stacks_make_array(int *line, std::size_t n) {
    void *array = game::make_array(line, n);
    KEEP_FRAME();
    return array;
}

extern "C" void stacks_delete_array(void *array) {
    delete[] static_cast<int *>(array);
}

# What test_sites does where its own checks cannot see: under a debugger, and at the process's exit.
#   cmake -DGAME=test_sites_nofp -DCASE=gdb -P sites_check.cmake    breakAlloc=5 stops gdb -batch in the
#       fifth allocation's call: SIGTRAP, and the backtrace goes from the layer to allocate_the_fifth
#   cmake -DGAME=test_sites_nofp -DCASE=exit -P sites_check.cmake   tracking=debug, leakReport=exit: a
#       program that writes after a free and leaks, then returns from main, gets a USE_AFTER_FREE with the
#       stacks of the allocation and the free, and the leak report, from the exit
include(${CMAKE_CURRENT_LIST_DIR}/run_checked.cmake)

if(CASE STREQUAL "gdb")
  find_program(GDB gdb)
  if(NOT GDB)
    message(FATAL_ERROR "gdb is not installed: this test needs it (apt-get install gdb)")
  endif()
  # the JVM takes SIGSEGV and SIGUSR2 for itself: gdb lets them through and stops only on the SIGTRAP
  run(${GDB} -batch -nx -ex "handle SIGSEGV SIGUSR2 SIGBUS SIGILL nostop noprint pass" -ex run -ex bt
      --args "${GAME}" break)
  set(all "${last_output}\n${last_error}")
  expect("${all}" "SIGTRAP" "gdb stops on the break")
  expect("${all}" "#[0-9]+ +[^\n]*pm_break_here" "the backtrace has the layer's break")
  expect("${all}" "#[0-9]+ +[^\n]*allocate_the_fifth" "and the game's function that made the allocation")
  message(STATUS "gdb stopped with SIGTRAP in the allocation allocate_the_fifth made")
elseif(CASE STREQUAL "exit")
  run("${GAME}" exit)
  set(all "${last_output}\n${last_error}")
  expect("${all}" "returning from main" "the program ran")
  expect("${last_error}" "USE_AFTER_FREE[^\n]*allocated at allocate_victim[^\n]*freed at release_victim"
    "the write after free, found at exit, with both stacks")
  expect("${last_error}" "platform-memory leak report[^\n]*\n[^\n]*at make_enemy" "the leak report at exit")
  message(STATUS "the exit reported the write after free and the leak")
else()
  message(FATAL_ERROR "CASE must be gdb or exit")
endif()

# Builds a program against dist/ exactly as README says, runs it with only JAVA_HOME (and PATH) set,
# then builds it again with pkg-config and with find_package(PlatformMemory).
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK})
include(${CMAKE_CURRENT_LIST_DIR}/run_checked.cmake)

# (no options: the default backend, arena, must start)
# 1. README: cc game.c -I dist/include -L dist/lib -lplatform_memory, run with LD_LIBRARY_PATH=dist/lib
run(cc ${SRC}/sdk_game.c -I ${DIST}/include -L ${DIST}/lib -lplatform_memory -o ${WORK}/game)
run(env -i JAVA_HOME=${JAVA_HOME_FOR_TEST} PATH=/usr/bin:/bin LD_LIBRARY_PATH=${DIST}/lib ${WORK}/game)
if(NOT "${last_output}${last_error}" MATCHES "sdk_game: ok with backend arena")
  message(FATAL_ERROR "unexpected output: ${last_output}${last_error}")
endif()

# 2. pkg-config (relocatable .pc with an rpath: no LD_LIBRARY_PATH needed)
run(env PKG_CONFIG_PATH=${DIST}/lib/pkgconfig pkg-config --cflags --libs platform_memory)
string(STRIP "${last_output}" flags)
separate_arguments(flags UNIX_COMMAND "${flags}")
run(cc ${SRC}/sdk_game.c ${flags} -o ${WORK}/game_pc)
run(env -i JAVA_HOME=${JAVA_HOME_FOR_TEST} PATH=/usr/bin:/bin ${WORK}/game_pc)

# 3. find_package(PlatformMemory)
file(WRITE ${WORK}/consumer/CMakeLists.txt "cmake_minimum_required(VERSION 3.16)
project(consumer C)
find_package(PlatformMemory REQUIRED)
add_executable(game ${SRC}/sdk_game.c)
target_link_libraries(game PRIVATE PlatformMemory::platform_memory)
")
run(${CMAKE_COMMAND} -S ${WORK}/consumer -B ${WORK}/consumer/build -DCMAKE_PREFIX_PATH=${DIST})
run(${CMAKE_COMMAND} --build ${WORK}/consumer/build)
run(env -i JAVA_HOME=${JAVA_HOME_FOR_TEST} PATH=/usr/bin:/bin ${WORK}/consumer/build/game)
message(STATUS "sdk_from_dist: README line, pkg-config and find_package all build and run")

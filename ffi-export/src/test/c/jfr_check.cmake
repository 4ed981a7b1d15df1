# The JFR events from a C host, recorded as README's "JFR" section says: the demo game and a double free
# (test_hardening's "late" scenario) run with PLATFORM_MEMORY_JVM_OPTIONS=-XX:StartFlightRecording=...,
# with settings made by `jfr configure` (platformmemory.Tag every 100 ms), and `jfr summary`/`jfr print`
# must find platformmemory.Tag events (the demo's untagged blocks, backend arena: at least the last round,
# which the allocator's close emits, however short the run)
# and a platformmemory.Error DOUBLE_FREE. platformmemory.Frame events are required as soon as the demo
# calls Platform_Mem_FrameMark.
# -DJAVA_HOME_FOR_TEST -DJARS -DDEMO -DDEMO_SOURCE -DHARDENING -DWORK
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK})
include(${CMAKE_CURRENT_LIST_DIR}/run_checked.cmake)
set(jfr ${JAVA_HOME_FOR_TEST}/bin/jfr)

# the count `jfr summary` gives for event `name` in `file` (0 when it has none)
function(event_count file name out)
  run(${jfr} summary ${file})
  if("${last_output}" MATCHES "${name} +([0-9]+)")
    set(${out} ${CMAKE_MATCH_1} PARENT_SCOPE)
  else()
    set(${out} 0 PARENT_SCOPE)
  endif()
endfunction()

run(${jfr} configure --input profile "+platformmemory.Tag#period=100 ms" --output ${WORK}/platform-memory.jfc)
set(env ${CMAKE_COMMAND} -E env JAVA_HOME=${JAVA_HOME_FOR_TEST} PLATFORM_MEMORY_JAR_DIR=${JARS})

# 1. the demo game: Tag events (and Frame events once it marks frames)
run(${env} PLATFORM_MEMORY_OPTIONS=backend=arena
  "PLATFORM_MEMORY_JVM_OPTIONS=-XX:StartFlightRecording=filename=${WORK}/demo.jfr,settings=${WORK}/platform-memory.jfc"
  ${DEMO} --frames 300 --quiet)
if(NOT "${last_output}" MATCHES "backend arena: ok")
  message(FATAL_ERROR "the demo did not end well:\n${last_output}\n${last_error}")
endif()
event_count(${WORK}/demo.jfr platformmemory.Tag tags)
if(tags LESS 1)
  message(FATAL_ERROR "no platformmemory.Tag event in ${WORK}/demo.jfr:\n${last_output}")
endif()
run(${jfr} print --events platformmemory.Tag ${WORK}/demo.jfr)
if(NOT "${last_output}" MATCHES "tag = \"untagged\"" OR NOT "${last_output}" MATCHES "backend = \"arena\"")
  message(FATAL_ERROR "platformmemory.Tag events without the untagged tag of backend arena:\n${last_output}")
endif()
file(READ ${DEMO_SOURCE} demo_text)
if(demo_text MATCHES "Platform_Mem_FrameMark\\(")
  event_count(${WORK}/demo.jfr platformmemory.Frame frames)
  if(frames LESS 1)
    message(FATAL_ERROR "the demo marks frames but ${WORK}/demo.jfr has no platformmemory.Frame event")
  endif()
endif()

# 2. a double free: an Error event with its code
run(${env} "PLATFORM_MEMORY_JVM_OPTIONS=-XX:StartFlightRecording=filename=${WORK}/errors.jfr"
  ${HARDENING} system late)
event_count(${WORK}/errors.jfr platformmemory.Error errors)
if(errors LESS 1)
  message(FATAL_ERROR "no platformmemory.Error event in ${WORK}/errors.jfr")
endif()
run(${jfr} print --events platformmemory.Error ${WORK}/errors.jfr)
if(NOT "${last_output}" MATCHES "code = \"DOUBLE_FREE\"")
  message(FATAL_ERROR "no DOUBLE_FREE in the platformmemory.Error events:\n${last_output}")
endif()
message(STATUS "jfr: ${tags} platformmemory.Tag events from the demo, ${errors} platformmemory.Error events")

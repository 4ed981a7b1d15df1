# Makes the SDK's Java runtime and its ahead-of-time cache, in dist/ (ffi-export's package phase, once dist/
# holds the shim, the jars and jvm.options):
#   cmake -DDIST=dist -DJDK=<the JDK running the build> -DMODULES=java.base,... -DTRAINER=<aot_training>
#         -DBACKENDS_FILE=config/backends -DWORK=<a folder for stamps and logs> -P runtime.cmake
#
# dist/lib/runtime: a runtime image made with jlink from the JDK that runs the build, with only the modules
# the jars need (MODULES), without debug attributes, headers or man pages; its legal notices stay in legal/.
# Made again only when the JDK or the module list changes (a stamp in WORK).
#
# dist/lib/java/platform-memory-BACKEND.aot, one per backend: the JVM's ahead-of-time cache (JDK 25,
# -XX:AOTCacheOutput) for that runtime, these jars and these flags, made by a training run that starts the
# layer on that backend as a C host does (aot_training: the start, refills, spills, large blocks, resizes,
# a heap, a second thread). One cache a backend, because the JVM loads every class of its cache as it
# starts: a cache trained on all four made an arena start load netty's and agrona's classes too (3 MiB more
# resident). The shim passes the cache of the backend it starts; the JVM checks it against the runtime and
# the class path and starts without it when they differ. Each is made again whenever the runtime, a jar,
# jvm.options, the shim or the trainer differ from what it was made with (their SHA-256 in a stamp in WORK).
foreach(var DIST JDK MODULES TRAINER BACKENDS_FILE WORK)
  if("${${var}}" STREQUAL "")
    message(FATAL_ERROR "runtime.cmake needs -D${var}=...")
  endif()
endforeach()
include(${CMAKE_CURRENT_LIST_DIR}/pm_read_list.cmake)
pm_read_list("${BACKENDS_FILE}" backend_list)
string(REPLACE ";" "," MODULES "${MODULES}")
set(runtime "${DIST}/lib/runtime")
set(jlink_options --strip-debug --no-header-files --no-man-pages)
file(MAKE_DIRECTORY "${WORK}")

# ---- the runtime ---------------------------------------------------------------------------------------
file(READ "${JDK}/release" jdk_release)
set(stamp_text "${JDK}\n${jdk_release}\n${MODULES}\n${jlink_options}\n")
set(stamp "${WORK}/runtime.stamp")
set(old_stamp "")
if(EXISTS "${stamp}")
  file(READ "${stamp}" old_stamp)
endif()
if(NOT old_stamp STREQUAL stamp_text OR NOT EXISTS "${runtime}/lib/server/libjvm.so")
  file(REMOVE_RECURSE "${runtime}")
  file(GLOB stale_caches "${DIST}/lib/java/*.aot")
  if(stale_caches)
    file(REMOVE ${stale_caches})
  endif()
  execute_process(COMMAND "${JDK}/bin/jlink" --add-modules ${MODULES} ${jlink_options} --output "${runtime}"
    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "jlink failed (${rc}): ${out}")
  endif()
  file(WRITE "${stamp}" "${stamp_text}")
  message(STATUS "runtime: ${runtime} (jlink of ${MODULES})")
endif()

# ---- the ahead-of-time caches, one per backend ----------------------------------------------------------
file(GLOB inputs "${DIST}/lib/java/*.jar")
list(SORT inputs)
list(APPEND inputs "${DIST}/lib/java/jvm.options" "${DIST}/lib/libplatform_memory.so" "${runtime}/lib/modules"
  "${TRAINER}")
set(inputs_text "")
foreach(input IN LISTS inputs)
  file(SHA256 "${input}" sum)
  get_filename_component(name "${input}" NAME)
  string(APPEND inputs_text "${name} ${sum}\n")
endforeach()
# caches of backends no longer listed, or of the single cache this build made before
file(GLOB old_caches "${DIST}/lib/java/*.aot")
foreach(old_cache IN LISTS old_caches)
  get_filename_component(old_name "${old_cache}" NAME)
  string(REGEX REPLACE "^platform-memory-(.*)\\.aot$" "\\1" old_backend "${old_name}")
  list(FIND backend_list "${old_backend}" listed)
  if(old_backend STREQUAL old_name OR listed EQUAL -1)
    file(REMOVE "${old_cache}")
  endif()
endforeach()
foreach(backend IN LISTS backend_list)
  set(cache "${DIST}/lib/java/platform-memory-${backend}.aot")
  set(cache_stamp "${WORK}/aot-cache-${backend}.stamp")
  set(old_inputs "")
  if(EXISTS "${cache_stamp}")
    file(READ "${cache_stamp}" old_inputs)
  endif()
  if(EXISTS "${cache}" AND old_inputs STREQUAL inputs_text)
    continue()
  endif()
  file(REMOVE "${cache}")
  # the training run sees no setting of the user's: the shim chooses the bundled runtime and the jars
  # beside it, exactly as in a game
  execute_process(COMMAND ${CMAKE_COMMAND} -E env --unset=JAVA_HOME --unset=PLATFORM_MEMORY_JAVA_HOME
      --unset=PLATFORM_MEMORY_JAR_DIR --unset=PLATFORM_MEMORY_CLASSPATH --unset=PLATFORM_MEMORY_OPTIONS
      --unset=JAVA_TOOL_OPTIONS --unset=JDK_JAVA_OPTIONS --unset=ALLOCATOR_BACKEND
      "PLATFORM_MEMORY_JVM_OPTIONS=-XX:AOTCacheOutput=${cache}"
      "${TRAINER}" "${DIST}/lib/libplatform_memory.so" ${backend}
    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out WORKING_DIRECTORY "${WORK}")
  file(WRITE "${WORK}/aot-training-${backend}.log" "${out}")
  if(NOT rc EQUAL 0 OR NOT EXISTS "${cache}")
    message(FATAL_ERROR "the training run for ${cache} failed (${rc}); its output, also in "
      "${WORK}/aot-training-${backend}.log:\n${out}")
  endif()
  file(WRITE "${cache_stamp}" "${inputs_text}")
  file(SIZE "${cache}" bytes)
  math(EXPR mib "${bytes} / 1048576")
  message(STATUS "ahead-of-time cache: ${cache} (${mib} MiB)")
endforeach()

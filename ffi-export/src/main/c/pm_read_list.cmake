# pm_read_list(FILE OUT): the items of a list file of config/ (a line an item; '#' starts a comment) into OUT.
# Used by the build (CMakeLists.txt) and by runtime.cmake's script.
function(pm_read_list file out)
  file(STRINGS "${file}" lines)
  set(items "")
  foreach(line IN LISTS lines)
    string(REGEX REPLACE "#.*" "" line "${line}")
    string(STRIP "${line}" line)
    if(NOT line STREQUAL "")
      list(APPEND items "${line}")
    endif()
  endforeach()
  set(${out} "${items}" PARENT_SCOPE)
endfunction()

# tessera_add_kernels(<target> NAME <lib> KERNELS <spec>... [TARGETS <chip>...] [CUBIN])
#
# Compiles Tessera kernels ahead of time at build time and adds the generated
# launchers (<lib>.h / <lib>.cpp, in the binary folder) to <target>, which then
# links only Tessera's runtime (no LLVM/MLIR).  A <spec> is
# KERNEL[:KEY=VALUE,...], e.g. "softmax:BLOCK=8192,num_warps=8".
# TESSERA_AOT_EXECUTABLE names the tessera-aot to run (defaults to the one
# built in this project).
function(tessera_add_kernels target)
  cmake_parse_arguments(ARG "CUBIN" "NAME" "KERNELS;TARGETS" ${ARGN})
  if(NOT ARG_NAME OR NOT ARG_KERNELS)
    message(FATAL_ERROR "tessera_add_kernels(${target}): NAME and KERNELS are required")
  endif()
  if(NOT ARG_TARGETS)
    set(ARG_TARGETS sm_80 sm_90a)
  endif()
  if(TESSERA_AOT_EXECUTABLE)
    set(aot ${TESSERA_AOT_EXECUTABLE})
    set(aot_dep)
  else()
    set(aot $<TARGET_FILE:tessera-aot>)
    set(aot_dep tessera-aot)
  endif()
  set(out ${CMAKE_CURRENT_BINARY_DIR}/tessera-aot/${ARG_NAME})
  set(target_args)
  foreach(t IN LISTS ARG_TARGETS)
    list(APPEND target_args --target ${t})
  endforeach()
  set(cubin_arg)
  if(ARG_CUBIN)
    set(cubin_arg --cubin)
  endif()
  add_custom_command(
    OUTPUT ${out}/${ARG_NAME}.h ${out}/${ARG_NAME}.cpp ${out}/${ARG_NAME}.manifest.json
    COMMAND ${aot} --name ${ARG_NAME} --out ${out} ${target_args} ${cubin_arg} ${ARG_KERNELS}
    DEPENDS ${aot_dep}
    COMMENT "tessera-aot: ${ARG_NAME} (${ARG_KERNELS})"
    VERBATIM)
  target_sources(${target} PRIVATE ${out}/${ARG_NAME}.cpp)
  target_include_directories(${target} PRIVATE ${out})
  target_link_libraries(${target} PRIVATE TesseraRuntime)
endfunction()

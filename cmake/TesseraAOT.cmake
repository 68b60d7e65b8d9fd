# tessera_add_kernels(<target> NAME <lib> KERNELS <spec>... [TARGETS <chip>...] [CUBIN]
#                     [PLUGIN <source>...])
#
# Compiles Tessera kernels ahead of time at build time and adds the generated
# launchers (<lib>.h / <lib>.cpp, in the binary folder) to <target>, which then
# links only Tessera's runtime (no LLVM/MLIR).  A <spec> is
# KERNEL[:KEY=VALUE,...], e.g. "softmax:BLOCK=8192,num_warps=8".
# PLUGIN: C++ sources of the project's own DSL kernels (registered with
# TESSERA_REGISTER_KERNEL); they are built into a module that tessera-aot
# loads (--plugin), so KERNELS may name them.
# The tessera-aot run is TESSERA_AOT_EXECUTABLE if set, else the
# one built in this project, else the installed package's (Tessera::tessera-aot).
function(tessera_add_kernels target)
  cmake_parse_arguments(ARG "CUBIN" "NAME" "KERNELS;TARGETS;PLUGIN" ${ARGN})
  if(NOT ARG_NAME OR NOT ARG_KERNELS)
    message(FATAL_ERROR "tessera_add_kernels(${target}): NAME and KERNELS are required")
  endif()
  if(NOT ARG_TARGETS)
    set(ARG_TARGETS sm_80 sm_90a)
  endif()
  if(TESSERA_AOT_EXECUTABLE)
    set(aot ${TESSERA_AOT_EXECUTABLE})
    set(aot_dep)
  elseif(TARGET tessera-aot) # built in this project (or its add_subdirectory)
    set(aot $<TARGET_FILE:tessera-aot>)
    set(aot_dep tessera-aot)
  elseif(TARGET Tessera::tessera-aot) # installed: nothing to build
    set(aot $<TARGET_FILE:Tessera::tessera-aot>)
    set(aot_dep)
  else()
    message(FATAL_ERROR "tessera_add_kernels(${target}): no tessera-aot (find_package(Tessera), "
                        "add_subdirectory(tessera) or set TESSERA_AOT_EXECUTABLE)")
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
  set(plugin_arg)
  if(ARG_PLUGIN)
    # The module resolves the DSL's symbols from tessera-aot itself (it links
    # no Tessera library): only the headers' paths and definitions are taken.
    set(plugin ${ARG_NAME}-tessera-plugin)
    add_library(${plugin} MODULE ${ARG_PLUGIN})
    foreach(dep Tessera::Kernels Tessera::DSL Tessera::TileDialect)
      target_include_directories(${plugin} PRIVATE $<TARGET_PROPERTY:${dep},INTERFACE_INCLUDE_DIRECTORIES>)
      target_compile_options(${plugin} PRIVATE $<TARGET_PROPERTY:${dep},INTERFACE_COMPILE_OPTIONS>)
    endforeach()
    target_compile_features(${plugin} PRIVATE cxx_std_20)
    set(plugin_arg --plugin $<TARGET_FILE:${plugin}>)
    list(APPEND aot_dep ${plugin})
  endif()
  add_custom_command(
    OUTPUT ${out}/${ARG_NAME}.h ${out}/${ARG_NAME}.cpp ${out}/${ARG_NAME}.manifest.json
    COMMAND ${aot} --name ${ARG_NAME} --out ${out} ${target_args} ${cubin_arg} ${plugin_arg}
            ${ARG_KERNELS}
    DEPENDS ${aot_dep}
    COMMENT "tessera-aot: ${ARG_NAME} (${ARG_KERNELS})"
    VERBATIM)
  target_sources(${target} PRIVATE ${out}/${ARG_NAME}.cpp)
  target_include_directories(${target} PRIVATE ${out})
  if(TARGET Tessera::Runtime)
    target_link_libraries(${target} PRIVATE Tessera::Runtime)
  else()
    target_link_libraries(${target} PRIVATE TesseraRuntime)
  endif()
endfunction()

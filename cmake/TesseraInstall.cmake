# `cmake --install` and add_subdirectory(): Tessera as a package.
#
# Two export sets, so that a project using only kernels compiled ahead of
# time needs no LLVM/MLIR:
#   Tessera::Runtime  driver, buffers, checked launches, disk cache, AOT
#                     launchers (Support, Target, Driver; KernelRefs: the
#                     float64 references)                        -- no LLVM
#   Tessera::Jit      the DSL, the kernel library, the compiler, the
#                     interpreter and the JIT; carries LLVM/MLIR's include
#                     paths and definitions (TesseraConfig.cmake finds MLIR)
# plus Tessera::CApi (libtessera.so, tessera.h), the Python package
# (lib/python/tessera), the tools (Tessera::tessera-aot, Tessera::tessera-opt) and
# tessera_add_kernels (cmake/TesseraAOT.cmake).  Included by the top-level
# CMakeLists after every target exists.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

# Tessera::<short name> for every library, in this tree too (what a project
# that adds Tessera with add_subdirectory links).
foreach(t Support Target KernelRefs TileDialect TileTransforms TileToNVVM Compiler Interpreter DSL
          Kernels)
  set_target_properties(Tessera${t} PROPERTIES EXPORT_NAME ${t})
  add_library(Tessera::${t} ALIAS Tessera${t})
endforeach()
set(runtime_libs TesseraSupport TesseraTarget TesseraKernelRefs)
set(jit_libs TesseraTileDialect TesseraTileTransforms TesseraTileToNVVM TesseraCompiler
  TesseraInterpreter TesseraDSL TesseraKernels tessera-aot tessera-opt)
if(TESSERA_HAVE_CUDA_H)
  foreach(t Driver Runtime Jit)
    set_target_properties(Tessera${t} PROPERTIES EXPORT_NAME ${t})
    add_library(Tessera::${t} ALIAS Tessera${t})
  endforeach()
  list(APPEND runtime_libs TesseraDriver TesseraRuntime)
  # libtessera.so: the C API (tessera.h) over the JIT.
  set_target_properties(tessera PROPERTIES EXPORT_NAME CApi)
  add_library(Tessera::CApi ALIAS tessera)
  list(APPEND jit_libs TesseraJit tessera)
  # The Python package (ctypes over libtessera.so): lib/python/tessera, which
  # finds ../../libtessera.so.
  install(DIRECTORY ${TESSERA_SOURCE_DIR}/python/tessera DESTINATION ${CMAKE_INSTALL_LIBDIR}/python
    PATTERN __pycache__ EXCLUDE)
endif()
add_executable(Tessera::tessera-aot ALIAS tessera-aot)
add_executable(Tessera::tessera-opt ALIAS tessera-opt)

install(TARGETS ${runtime_libs} EXPORT TesseraRuntimeTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS ${jit_libs} EXPORT TesseraJitTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
set(cmakedir ${CMAKE_INSTALL_LIBDIR}/cmake/Tessera)
install(EXPORT TesseraRuntimeTargets NAMESPACE Tessera:: DESTINATION ${cmakedir})
install(EXPORT TesseraJitTargets NAMESPACE Tessera:: DESTINATION ${cmakedir})

# Headers: every layer's include/ tree, and the ones tablegen writes.
foreach(dir compiler dsl kernels runtime)
  install(DIRECTORY ${TESSERA_SOURCE_DIR}/${dir}/include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
endforeach()
install(DIRECTORY ${TESSERA_BINARY_DIR}/compiler/include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
  FILES_MATCHING PATTERN "*.inc" PATTERN "*.h")

configure_package_config_file(${TESSERA_SOURCE_DIR}/cmake/TesseraConfig.cmake.in
  ${TESSERA_BINARY_DIR}/TesseraConfig.cmake INSTALL_DESTINATION ${cmakedir})
write_basic_package_version_file(${TESSERA_BINARY_DIR}/TesseraConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${TESSERA_BINARY_DIR}/TesseraConfig.cmake ${TESSERA_BINARY_DIR}/TesseraConfigVersion.cmake
  ${TESSERA_SOURCE_DIR}/cmake/TesseraAOT.cmake DESTINATION ${cmakedir})

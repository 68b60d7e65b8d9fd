# Tessera's runtime as a CMake include, with no LLVM/MLIR: the driver layer
# (libcuda by dlopen), buffers, modules, checked launches, the disk cache,
# SHA-256, the target description and the ptxas runner (the last two also
# without cuda.h).  The top-level build includes it; so does a
# project that only runs kernels compiled ahead of time (examples/aot-softmax):
#   set(TESSERA_SOURCE_DIR /path/to/tessera)
#   include(${TESSERA_SOURCE_DIR}/runtime/Runtime.cmake)
if(NOT TESSERA_SOURCE_DIR)
  message(FATAL_ERROR "set TESSERA_SOURCE_DIR to Tessera's source tree before including Runtime.cmake")
endif()
set(TESSERA_CUDA_INCLUDE /usr/local/cuda/include CACHE PATH "Folder holding cuda.h")

add_library(TesseraSupport ${TESSERA_SOURCE_DIR}/compiler/lib/Support/Sha256.cpp)
target_include_directories(TesseraSupport PUBLIC $<BUILD_INTERFACE:${TESSERA_SOURCE_DIR}/compiler/include>
  $<INSTALL_INTERFACE:include>)
target_compile_features(TesseraSupport PUBLIC cxx_std_20)

add_library(TesseraTarget ${TESSERA_SOURCE_DIR}/compiler/lib/Target/Target.cpp
  ${TESSERA_SOURCE_DIR}/compiler/lib/Target/Ptxas.cpp)
target_include_directories(TesseraTarget PUBLIC $<BUILD_INTERFACE:${TESSERA_SOURCE_DIR}/compiler/include>
  $<INSTALL_INTERFACE:include>)
target_compile_features(TesseraTarget PUBLIC cxx_std_20)

if(NOT EXISTS ${TESSERA_CUDA_INCLUDE}/cuda.h)
  return()
endif()

add_library(TesseraDriver ${TESSERA_SOURCE_DIR}/runtime/lib/rt/Driver.cpp)
target_include_directories(TesseraDriver PUBLIC $<BUILD_INTERFACE:${TESSERA_SOURCE_DIR}/runtime/include>
  $<BUILD_INTERFACE:${TESSERA_SOURCE_DIR}/compiler/include> $<INSTALL_INTERFACE:include>)
target_include_directories(TesseraDriver SYSTEM PUBLIC ${TESSERA_CUDA_INCLUDE})
target_link_libraries(TesseraDriver PUBLIC TesseraTarget ${CMAKE_DL_LIBS})
target_compile_features(TesseraDriver PUBLIC cxx_std_20)

add_library(TesseraRuntime ${TESSERA_SOURCE_DIR}/runtime/lib/rt/Runtime.cpp
  ${TESSERA_SOURCE_DIR}/runtime/lib/rt/Cache.cpp)
target_link_libraries(TesseraRuntime PUBLIC TesseraDriver TesseraSupport TesseraTarget)
